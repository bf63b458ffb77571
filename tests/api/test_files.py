"""Files attached to messages: read as text for the built-in model (`app/api/files.py`),
then recalled and quoted through the real server with the OpenAI Python SDK; passed on as
they came to a routed model."""

from __future__ import annotations

import base64
import io
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
import pytest
from pypdf import PdfWriter

from app.api import files as files_module
from app.api.files import FilePart, read_files
from app.errors import InvalidRequest
from tests.utils.mock_upstream import MockUpstream
from tests.utils.pdf import data_url, pdf_with_text
from tests.utils.routed import routed_app, routing

LAUNCH = "Mission notes.\nThe launch code is 1234.\nGood luck.\n"
QUOTED = 'The launch code is 1234. The file launch.txt says: "The launch code is 1234."'


def part(data: str | None, filename: str | None = "launch.txt", **others: str) -> FilePart:
    return FilePart("input[0].content[1]", data, filename, others.get("file_id"),
                    others.get("file_url"))


async def read_one(file: FilePart, max_bytes: int = 4096) -> str:
    return (await read_files([file], max_bytes))[file.where].text


def blank_pdf(encrypt: bool = False) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    if encrypt:
        writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# -- reading (app/api/files.py) ------------------------------------------------------------

@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (data_url(LAUNCH.encode(), "text/plain"), "launch.txt"),
        (data_url(LAUNCH.encode(), "text/plain; charset=utf-8"), None),
        (data_url(b"\xef\xbb\xbf" + LAUNCH.encode(), "text/markdown"), "launch.md"),
        (base64.b64encode(LAUNCH.encode()).decode(), "launch.txt"),  # bare base64
        (data_url(LAUNCH.encode(), "application/octet-stream"), "launch.TXT"),
        ("data:text/plain," + urllib.parse.quote(LAUNCH), "launch.txt"),  # not base64
        (data_url(LAUNCH.encode("utf-16"), "text/plain;charset=utf-16"), "launch.txt"),
    ],
)
async def test_text_files_are_read_verbatim(data: str, filename: str | None) -> None:
    assert await read_one(part(data, filename)) == LAUNCH


async def test_a_file_is_named_by_its_filename_or_where_it_was() -> None:
    named = await read_files([part(data_url(b"x", "text/plain"), " my   notes.txt ")], 4096)
    assert named["input[0].content[1]"].name == "my notes.txt"
    unnamed = await read_files([part(data_url(b"x", "text/plain"), None)], 4096)
    assert unnamed["input[0].content[1]"].name == "the file at input[0].content[1]"


async def test_json_and_csv_are_read_as_text() -> None:
    document = '{"launch_code": "1234"}'
    assert await read_one(part(data_url(document.encode(), "application/json"))) == document
    table = "name,value\nlaunch code,1234\n"
    assert await read_one(part(data_url(table.encode(), "text/csv"))) == table


async def test_a_pdf_is_read_page_text() -> None:
    for compress in (False, True):
        pdf = pdf_with_text(["Mission notes.", "The launch code is 1234."], compress=compress)
        text = await read_one(part(data_url(pdf, "application/pdf"), "launch.pdf"))
        assert "The launch code is 1234." in text.splitlines()
    pages = pdf_with_text([f"Line {i}." for i in range(7)], per_page=3)
    assert (await read_one(part(data_url(pages, "application/pdf")))).split() == [
        "Line", "0.", "Line", "1.", "Line", "2.", "Line", "3.", "Line", "4.", "Line", "5.",
        "Line", "6."]


@pytest.mark.parametrize(
    ("file", "code", "message"),
    [
        (part(data_url(b"x", "image/png")), "unsupported_file_type", "'image/png' files"),
        (part(data_url(b"x", "application/zip"), "a.zip"), "unsupported_file_type", "zip"),
        (part(base64.b64encode(b"x").decode(), "a.docx"), "unsupported_file_type",
         "unknown type"),
        (part(None, file_id="file-abc"), "unsupported_content", "no Files API"),
        (part(None, file_url="https://example.com/a.txt"), "unsupported_content",
         "nothing is fetched"),
        (part(None), "unsupported_content", "without data"),
        (part("data:text/plain;base64,@@@"), "invalid_file", "not valid base64"),
        (part(data_url(b"\xff\xfe\xfa", "text/plain")), "invalid_file", "not utf-8 text"),
        (part(data_url(b"a\x00b", "text/plain")), "invalid_file", "NUL"),
        (part(data_url(b"x", "text/plain;charset=no-such-codec")), "invalid_file", "not known"),
        (part(data_url(b"x", "text/plain;charset=undefined")), "invalid_file", "not undefined"),
        (part(data_url(b"{not json", "application/json"), "a.json"), "invalid_file",
         "not valid JSON"),
        (part(data_url(b"%PDF-1.4 garbage", "application/pdf")), "invalid_file",
         "could not be read as a PDF"),
        (part(data_url(blank_pdf(), "application/pdf")), "invalid_file", "no text"),
        (part(data_url(blank_pdf(encrypt=True), "application/pdf")), "invalid_file",
         "encrypted"),
        (part(data_url(b"x" * 5000, "text/plain")), "file_too_large", "4,096 bytes"),
        (part("data:text/plain;base64," + "QUFB" * 4000), "file_too_large", "4,096 bytes"),
        (part(data_url(pdf_with_text(["The launch code is 1234."] * 200, compress=True),
                       "application/pdf")), "file_too_large", "4,096 characters"),
        (part(data_url(pdf_with_text(["Hi."], compress=True, padding=40_000),
                       "application/pdf")), "file_too_large", "content is over the limit"),
    ],
)
async def test_unreadable_files_are_refused_naming_the_part(file: FilePart, code: str,
                                                            message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await read_files([file], 4096)
    assert (caught.value.param, caught.value.code) == ("input[0].content[1]", code)
    assert message in caught.value.message


async def test_a_pdf_of_too_many_pages_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files_module, "MAX_PDF_PAGES", 0)
    with pytest.raises(InvalidRequest) as caught:
        await read_one(part(data_url(pdf_with_text(["Hi."]), "application/pdf")))
    assert caught.value.code == "file_too_large" and "1 pages" in caught.value.message


# -- the built-in model, through the server --------------------------------------------------

def with_file(text: str, data: str, filename: str = "launch.txt") -> list[Any]:
    return [{"role": "user", "content": [
        {"type": "input_file", "filename": filename, "file_data": data},
        {"type": "input_text", "text": text}]}]


def test_responses_quotes_an_attached_file(caller: openai.OpenAI) -> None:
    resp = caller.responses.create(model="lukhas-matriz", input=with_file(
        "What is the launch code?", data_url(LAUNCH.encode(), "text/plain")))
    assert resp.output_text == QUOTED + " [launch.txt]"
    summary = resp.output[0].summary[0].text  # type: ignore[union-attr]
    assert "1 attached file ('launch.txt')" in summary
    items = caller.responses.input_items.list(resp.id)
    assert [p.type for p in items.data[0].content] == [  # type: ignore[union-attr]
        "input_file", "input_text"]


@pytest.mark.parametrize(
    ("filename", "media_type", "document"),
    [
        ("codes.md", "text/markdown", "# Codes\n\n- **Launch code**: 1234\n"),
        ("codes.csv", "text/csv", "item,value\nlaunch code,1234\n"),
        ("codes.json", "application/json", '{\n  "launch_code": "1234"\n}\n'),
    ],
)
def test_markdown_csv_and_json_files(caller: openai.OpenAI, filename: str, media_type: str,
                                     document: str) -> None:
    resp = caller.responses.create(model="lukhas-matriz", input=with_file(
        "What is the launch code?", data_url(document.encode(), media_type), filename))
    assert resp.output_text.startswith(f"The launch code is 1234. The file {filename} says: ")
    assert resp.output_text.endswith(f"[{filename}]")


def test_a_pdf_made_here_is_quoted(caller: openai.OpenAI) -> None:
    pdf = pdf_with_text(["Mission notes.", "The launch code is 1234.", "Good luck."],
                        compress=True)
    resp = caller.responses.create(model="lukhas-matriz", input=with_file(
        "What is the launch code?", data_url(pdf, "application/pdf"), "launch.pdf"))
    assert resp.output_text == ('The launch code is 1234. The file launch.pdf says: '
                                '"The launch code is 1234." [launch.pdf]')


def test_a_file_is_remembered_along_the_chain(caller: openai.OpenAI) -> None:
    first = caller.responses.create(model="lukhas-matriz", input=[{"role": "user", "content": [
        {"type": "input_file", "filename": "launch.txt",
         "file_data": data_url(LAUNCH.encode(), "text/plain")}]}])
    assert first.output_text == ("Noted: I have read the attached file launch.txt. "
                                 "Ask me what it says.")
    second = caller.responses.create(model="lukhas-matriz", input="What is the launch code?",
                                     previous_response_id=first.id)
    assert second.output_text == QUOTED + f" [{first.id} launch.txt]"
    third = caller.responses.create(model="lukhas-matriz", input="Tell me the launch code.",
                                    previous_response_id=second.id)  # from working memory
    assert third.output_text == second.output_text


def test_streamed_with_a_file(caller: openai.OpenAI) -> None:
    with caller.responses.stream(model="lukhas-matriz", input=with_file(
            "What is the launch code?", data_url(LAUNCH.encode(), "text/plain"))) as stream:
        final = stream.get_final_response()
    assert final.output_text == QUOTED + " [launch.txt]"


def test_chat_reads_a_file_part(caller: openai.OpenAI) -> None:
    chat = caller.chat.completions.create(model="lukhas-matriz", messages=[{
        "role": "user", "content": [
            {"type": "file", "file": {"filename": "launch.txt",
                                      "file_data": data_url(LAUNCH.encode(), "text/plain")}},
            {"type": "text", "text": "What is the launch code?"}]}])
    assert chat.choices[0].message.content == QUOTED + " [launch.txt]"


def test_chat_keeps_a_file_in_its_session(caller: openai.OpenAI) -> None:
    session = {"x-lukhas-session": "files-in-a-session"}
    caller.chat.completions.create(model="lukhas-matriz", extra_headers=session, messages=[{
        "role": "user", "content": [
            {"type": "file", "file": {"filename": "launch.txt",
                                      "file_data": data_url(LAUNCH.encode(), "text/plain")}},
            {"type": "text", "text": "Here are my notes."}]}])
    later = caller.chat.completions.create(model="lukhas-matriz", extra_headers=session,
                                           messages=[{"role": "user",
                                                      "content": "What is the launch code?"}])
    content = later.choices[0].message.content or ""
    assert content.startswith(QUOTED + " [chatcmpl-") and content.endswith(" launch.txt]")


def test_bad_files_are_a_400_naming_the_part(caller: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        caller.responses.create(model="lukhas-matriz", input=with_file(
            "What is it?", data_url(b"PK\x03\x04", "application/zip"), "a.zip"))
    assert (caught.value.param, caught.value.code) == (
        "input[0].content[0]", "unsupported_file_type")
    big = data_url(b"a" * (2 * 1024 * 1024 + 1), "text/plain")  # over LUKHAS_MAX_FILE_BYTES
    with pytest.raises(openai.BadRequestError) as caught:
        caller.responses.create(model="lukhas-matriz", input=with_file("What is it?", big))
    # Refused before it is read: by the Guardian (more text than a request may carry for its
    # scan) or by the file reader, a 400 naming where either way.
    assert (caught.value.param, caught.value.code) in (
        ("input[0].content[0]", "file_too_large"), ("input", "context_length_exceeded"))
    with pytest.raises(openai.BadRequestError) as caught:
        caller.chat.completions.create(model="lukhas-matriz", messages=[{
            "role": "user", "content": [
                {"type": "text", "text": "What is it?"},
                {"type": "file", "file": {"file_id": "file-abc123"}}]}])
    assert (caught.value.param, caught.value.code) == (
        "messages[0].content[1]", "unsupported_content")
    with pytest.raises(openai.BadRequestError) as caught:
        caller.responses.create(model="lukhas-matriz", input=[
            {"role": "developer", "content": [{"type": "input_file", "filename": "a.txt",
                                                "file_data": data_url(b"x", "text/plain")}]},
            {"role": "user", "content": "Hi"}])
    assert caught.value.param == "input[0].content[0]"
    pixel = data_url(b"\x89PNG\r\n", "image/png")
    with pytest.raises(openai.BadRequestError) as caught:  # images stay unread
        caller.responses.create(model="lukhas-matriz", input=[{"role": "user", "content": [
            {"type": "input_text", "text": "What is this?"},
            {"type": "input_image", "image_url": pixel}]}])
    assert (caught.value.param, caught.value.code) == (
        "input[0].content[1]", "unsupported_content")


# -- a routed model is sent the file as it came ---------------------------------------------

async def test_a_routed_model_gets_the_file_part(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory()
    async with routed_app(pg_url, tmp_path, routing(a.url)) as app:
        resp = await app.sdk.responses.create(model="gpt-test", input=with_file(
            "What is the launch code?", data_url(LAUNCH.encode(), "text/plain")))
        assert resp.output_text == "I see 1 file. Echo: What is the launch code?"
        sent = a.last()["body"]["messages"][-1]["content"]
        # The parts in the order they were sent (the file before the question's text).
        assert sent == [{"type": "file", "file": {"file_data": data_url(LAUNCH.encode(),
                                                                        "text/plain"),
                                                  "filename": "launch.txt"}},
                        {"type": "text", "text": "What is the launch code?"}]
        chat = await app.sdk.chat.completions.create(model="gpt-test", messages=[{
            "role": "user", "content": [
                {"type": "text", "text": "And this?"},
                {"type": "file", "file": {"file_id": "file-abc123"}}]}])
        assert chat.choices[0].message.content == "I see 1 file. Echo: And this?"
