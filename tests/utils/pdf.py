"""PDFs made in the tests: pages of text lines in Helvetica, written out by hand."""

from __future__ import annotations

import base64
import zlib
from collections.abc import Sequence


def pdf_with_text(lines: Sequence[str], *, compress: bool = False, per_page: int = 0,
                  padding: int = 0) -> bytes:
    """A PDF showing `lines`, one under another, `per_page` a page (0: all on one page);
    `compress` deflates the pages, `padding` adds a comment of that many bytes to each."""
    pages = [lines[i:i + per_page] for i in range(0, len(lines), per_page)] if per_page \
        else [lines]
    fonts = 3 + len(pages)  # the object number of the font, after catalog, pages and pages
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               f"<< /Type /Pages /Kids [{' '.join(f'{3 + i} 0 R' for i in range(len(pages)))}]"
               f" /Count {len(pages)} >>".encode()]
    objects += [f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font"
                f" << /F1 {fonts} 0 R >> >> /Contents {fonts + 1 + i} 0 R >>".encode()
                for i in range(len(pages))]
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    objects += [_content(page, compress, padding) for page in pages]
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


def _content(lines: Sequence[str], compress: bool, padding: int) -> bytes:
    def escape(line: str) -> str:
        return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    shown = " ".join(f"({escape(line)}) Tj T*" for line in lines)
    content = f"BT /F1 12 Tf 14 TL 72 720 Td {shown} ET".encode("latin-1")
    if padding:
        content = b"%" + b"x" * padding + b"\n" + content
    if not compress:
        return f"<< /Length {len(content)} >>\nstream\n".encode() + content + b"\nendstream"
    packed = zlib.compress(content)
    return (f"<< /Length {len(packed)} /Filter /FlateDecode >>\nstream\n".encode() + packed
            + b"\nendstream")


def data_url(data: bytes, media_type: str) -> str:
    """`data:<type>;base64,…`, as the SDKs' examples send files."""
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"
