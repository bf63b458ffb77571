"""Files attached to messages, read as text for the built-in model.

Responses' `input_file` parts and chat's `file` parts carry a file inline in `file_data`: a
data: URL (`data:text/plain;base64,…`), or bare base64 with a `filename` whose extension
names the type. Read: plain text, Markdown, CSV and JSON (UTF-8), and PDF (the text of its
pages, by pypdf, in a worker thread). Refused with a 400 naming the part: a file id (there
is no Files API here), a URL (nothing is fetched), another type, a file over the size limit,
and one that is not what its type says. A routed model is sent the parts as they came, and
never reaches this module.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import orjson

from app.api.chat.protocol import ChatCompletionRequest
from app.api.responses.protocol import InputFile, MessageItem, ResponseCreateRequest
from app.errors import InvalidRequest
from app.json import text_problem

log = logging.getLogger("lukhas.files")

MAX_PDF_PAGES = 1000
# Extracting text costs time in proportion to the pages' content (drawing operators, not only
# text): a PDF's content may be this many times the size limit, so that a small file that
# inflates to a huge page is refused before it is worked through.
PDF_CONTENT_FACTOR = 8
# Media types read, by what the file holds.
_KINDS = {"text/plain": "text", "text/markdown": "text", "text/x-markdown": "text",
          "text/csv": "text", "application/csv": "text", "text/x-csv": "text",
          "application/json": "json", "application/pdf": "pdf", "application/x-pdf": "pdf"}
_EXTENSIONS = {"txt": "text/plain", "text": "text/plain", "md": "text/markdown",
               "markdown": "text/markdown", "csv": "text/csv", "json": "application/json",
               "pdf": "application/pdf"}
_GENERIC = {"", "application/octet-stream", "binary/octet-stream"}
SUPPORTED = "plain text, Markdown, CSV, JSON or PDF"


@dataclass(frozen=True, slots=True)
class FilePart:
    """A file part as the request gave it, and where it was (`input[0].content[1]`)."""

    where: str
    file_data: str | None
    filename: str | None
    file_id: str | None = None
    file_url: str | None = None


@dataclass(frozen=True, slots=True)
class AttachedFile:
    """A file's name (as given, or where it was) and its text."""

    name: str
    text: str


async def read_files(parts: Sequence[FilePart], max_bytes: int) -> dict[str, AttachedFile]:
    """Each part's file, read as text, by where it was; the first bad part is a 400."""
    read: dict[str, AttachedFile] = {}
    for part in parts:
        kind, charset, data = _decode(part, max_bytes)
        name = " ".join((part.filename or "").split())[:200] or f"the file at {part.where}"
        if kind == "pdf":
            text = await anyio.to_thread.run_sync(_pdf_text, data, part.where, max_bytes)
        else:
            text = _text(data, charset, part.where, kind)
        read[part.where] = AttachedFile(name, text)
    return read


def responses_file_parts(req: ResponseCreateRequest) -> list[FilePart]:
    """The `input_file` parts of a Responses input, in order."""
    if isinstance(req.input, str):
        return []
    found: list[FilePart] = []
    for i, item in enumerate(req.input):
        if not isinstance(item, MessageItem) or isinstance(item.content, str):
            continue
        for j, part in enumerate(item.content):
            if isinstance(part, InputFile):
                where = f"input[{i}].content[{j}]"
                _check_role(item.role, where)
                url = (part.model_extra or {}).get("file_url")
                found.append(FilePart(where, part.file_data, part.filename, part.file_id,
                                      None if url is None else str(url)))
    return found


def chat_file_parts(req: ChatCompletionRequest) -> list[FilePart]:
    """The `file` parts of chat messages, in order."""
    found: list[FilePart] = []
    for i, message in enumerate(req.messages):
        if not isinstance(message.content, list):
            continue
        for j, part in enumerate(message.content):
            if part.get("type") != "file":
                continue
            where = f"messages[{i}].content[{j}]"
            _check_role(message.role, where)
            file = part.get("file")
            if not isinstance(file, dict):
                raise InvalidRequest("A 'file' part needs its 'file' object.",
                                     param=f"{where}.file", code="invalid_value")
            found.append(FilePart(where, *(_field(file, name, where) for name in (
                "file_data", "filename", "file_id", "file_url"))))
    return found


def _check_role(role: str, where: str) -> None:
    if role != "user":
        raise InvalidRequest(f"Files may be attached to user messages only, not to a '{role}' "
                             "message.", param=where, code="unsupported_content")


def _field(file: Mapping[str, Any], name: str, where: str) -> str | None:
    value = file.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidRequest(f"'{name}' must be a string.", param=f"{where}.file.{name}",
                             code="invalid_type")
    return value


def _decode(part: FilePart, max_bytes: int) -> tuple[str, str, bytes]:
    """What kind of file the part holds, its charset (for text), and its bytes."""
    where = part.where
    if not part.file_data:
        how = "by file id: there is no Files API here" if part.file_id else \
            "by URL: nothing is fetched" if part.file_url else "without data"
        raise InvalidRequest(f"A file can't be sent {how}; send its content inline in "
                             "'file_data', as a data: URL.", param=where,
                             code="unsupported_content")
    media, params, payload = _data_url(part.file_data)
    if media in _GENERIC and part.filename and "." in part.filename:
        media = _EXTENSIONS.get(part.filename.rsplit(".", 1)[1].lower(), media)
    kind = _KINDS.get(media)
    if kind is None:
        said = f"'{media}' files" if media not in _GENERIC else "files of an unknown type"
        raise InvalidRequest(f"The model reads {SUPPORTED} files; {said} are not supported.",
                             param=where, code="unsupported_file_type")
    if "base64" in params:
        payload = "".join(payload.split())
        if len(payload) // 4 * 3 > max_bytes + 2:  # refused before decoding it
            raise _too_large(where, max_bytes)
        try:
            data = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequest("The file's data is not valid base64.", param=where,
                                 code="invalid_file") from None
    else:
        data = urllib.parse.unquote_to_bytes(payload)
    if len(data) > max_bytes:
        raise _too_large(where, max_bytes)
    charset = next((p[8:] for p in params if p.startswith("charset=")), "utf-8")
    return kind, charset.strip('"') or "utf-8", data


def _data_url(value: str) -> tuple[str, list[str], str]:
    """A data: URL's media type, its parameters (`base64`, `charset=…`) and its payload;
    anything else is taken as bare base64 of no stated type."""
    if value[:5].lower() != "data:" or "," not in value:
        return "", ["base64"], value
    header, payload = value[5:].split(",", 1)
    params = [p.strip().lower() for p in header.split(";")]
    return params[0], params[1:], payload


def _too_large(where: str, max_bytes: int) -> InvalidRequest:
    return InvalidRequest(f"The file is over the limit of {max_bytes:,} bytes.", param=where,
                          code="file_too_large")


def _text(data: bytes, charset: str, where: str, kind: str) -> str:
    """A text file's text, in the charset its data: URL names (UTF-8 by default)."""
    codec = "utf-8-sig" if charset in ("utf-8", "utf8") else charset
    try:
        text = data.decode(codec)
    except LookupError:
        raise InvalidRequest(f"The file's charset '{charset}' is not known.", param=where,
                             code="invalid_file") from None
    except (UnicodeError, ValueError):  # "undefined", say, fails with a plain UnicodeError
        raise InvalidRequest(f"The file is not {charset} text.", param=where,
                             code="invalid_file") from None
    problem = text_problem(text)
    if problem is not None:
        raise InvalidRequest(f"The file {problem}.", param=where, code="invalid_file")
    if kind == "json":
        try:
            orjson.loads(text)
        except orjson.JSONDecodeError:
            raise InvalidRequest("The file is not valid JSON.", param=where,
                                 code="invalid_file") from None
    return text


def _pdf_text(data: bytes, where: str, max_chars: int) -> str:
    """The text of a PDF's pages, one after another (run in a worker thread)."""
    from pypdf import PdfReader  # imported on first use: most requests carry no PDF

    pages: list[str] = []
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise InvalidRequest("The PDF is encrypted with a password.", param=where,
                                 code="invalid_file")
        if len(reader.pages) > MAX_PDF_PAGES:
            raise InvalidRequest(f"The PDF has {len(reader.pages):,} pages, over the limit of "
                                 f"{MAX_PDF_PAGES:,}.", param=where, code="file_too_large")
        size = 0
        for text in _page_texts(reader, where, PDF_CONTENT_FACTOR * max_chars):
            size += len(text)
            if size > max_chars:
                raise InvalidRequest(f"The PDF's text is over the limit of {max_chars:,} "
                                     "characters.", param=where, code="file_too_large")
            pages.append(text)
    except InvalidRequest:
        raise
    except Exception as exc:  # pypdf raises many kinds on a malformed file
        log.info("unreadable PDF", extra={"param": where, "error": type(exc).__name__})
        raise InvalidRequest("The file could not be read as a PDF.", param=where,
                             code="invalid_file") from None
    text = "\n\n".join(p for p in pages if p.strip())
    if not text.strip():
        raise InvalidRequest("The PDF holds no text to read (a scanned PDF would need OCR, "
                             "which is not done here).", param=where, code="invalid_file")
    # NUL and unpaired surrogates are extraction debris, and cannot be stored.
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def _page_texts(reader: Any, where: str, max_content: int) -> Iterator[str]:
    """Each page's text, the pages' content bounded before it is extracted."""
    content = 0
    for page in reader.pages:
        drawn = page.get_contents()
        content += 0 if drawn is None else len(drawn.get_data())
        if content > max_content:
            raise InvalidRequest(f"The PDF's page content is over the limit of "
                                 f"{max_content:,} bytes.", param=where, code="file_too_large")
        yield page.extract_text() or ""
