"""PDFs made in the tests: one page of text lines in Helvetica, written out by hand."""

from __future__ import annotations

import base64
import zlib
from collections.abc import Sequence


def pdf_with_text(lines: Sequence[str], *, compress: bool = False) -> bytes:
    """A one-page PDF showing `lines`, one under another; `compress` deflates the page."""

    def escape(line: str) -> str:
        return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    shown = " ".join(f"({escape(line)}) Tj T*" for line in lines)
    content = f"BT /F1 12 Tf 14 TL 72 720 Td {shown} ET".encode("latin-1")
    stream_dict = f"<< /Length {len(content)} >>"
    if compress:
        content = zlib.compress(content)
        stream_dict = f"<< /Length {len(content)} /Filter /FlateDecode >>"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]"
        b" /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        stream_dict.encode() + b"\nstream\n" + content + b"\nendstream",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n"
            f"startxref\n{xref}\n%%EOF\n").encode()
    return out


def data_url(data: bytes, media_type: str) -> str:
    """`data:<type>;base64,…`, as the SDKs' examples send files."""
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"
