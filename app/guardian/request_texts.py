"""The texts of a request the Guardian checks, found in its parsed JSON body: for
`/v1/responses` the instructions, the input's text parts, function call outputs and attached
files, and the function tools' definitions; for `/v1/chat/completions` the messages' text
parts (a tool message's as a retrieved document), attached files and function tools.

Each text keeps where it was (the parameter path a refusal names) and, when the policy may
redact it, the object and key holding it, so a redaction is written back into the body the
route then reads.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import orjson

from app.api.files import FilePart

RESPONSES = "/v1/responses"
CHAT = "/v1/chat/completions"
SCANNED_PATHS = frozenset({RESPONSES, CHAT})


@dataclass(slots=True)
class RequestText:
    where: str  # `input[0].content[1].text`
    kind: str  # text | tool | file | document (the Guardian's kinds)
    text: str
    holder: dict[str, Any] | None = None  # where a redaction is written back (None: never)
    key: str = ""

    def replace(self, text: str) -> None:
        if self.holder is not None:
            self.holder[self.key] = text


def request_texts(path: str, body: dict[str, Any]) -> tuple[list[RequestText], list[FilePart]]:
    """The texts of `body` and its attached files (read apart, as reading them costs)."""
    texts: list[RequestText] = []
    files: list[FilePart] = []
    if path == RESPONSES:
        _responses(body, texts, files)
    elif path == CHAT:
        _chat(body, texts, files)
    return texts, files


def _text(texts: list[RequestText], holder: dict[str, Any], key: str, where: str,
          kind: str) -> None:
    """`holder[key]` into `texts`, when it is a text that is not empty."""
    value = holder.get(key)
    if isinstance(value, str) and value:
        texts.append(RequestText(where, kind, value, holder, key))


def _responses(body: dict[str, Any], texts: list[RequestText], files: list[FilePart]) -> None:
    _text(texts, body, "instructions", "instructions", "text")
    given = body.get("input")
    if isinstance(given, str):
        _text(texts, body, "input", "input", "text")
    elif isinstance(given, list):
        for i, item in enumerate(given):
            if not isinstance(item, dict):
                continue
            where = f"input[{i}]"
            if item.get("type") == "function_call_output":
                _text(texts, item, "output", f"{where}.output", "document")
                continue
            content = item.get("content")
            if isinstance(content, str):
                _text(texts, item, "content", f"{where}.content", "text")
            elif isinstance(content, list):
                _parts(content, f"{where}.content", "text", texts, files)
    if tools := body.get("tools"):  # most requests have none
        _tools(tools, False, texts)


def _chat(body: dict[str, Any], texts: list[RequestText], files: list[FilePart]) -> None:
    messages = body.get("messages")
    if isinstance(messages, list):
        for i, message in enumerate(messages):
            if not isinstance(message, dict):
                continue
            kind = "document" if message.get("role") in ("tool", "function") else "text"
            content = message.get("content")
            if isinstance(content, str):
                _text(texts, message, "content", f"messages[{i}].content", kind)
            elif isinstance(content, list):
                _parts(content, f"messages[{i}].content", kind, texts, files)
    if tools := body.get("tools"):
        _tools(tools, True, texts)


def _parts(parts: list[Any], where: str, kind: str, texts: list[RequestText],
           files: list[FilePart]) -> None:
    for j, part in enumerate(parts):
        if not isinstance(part, dict):
            continue
        at = f"{where}[{j}]"
        kind_of = part.get("type")
        if kind_of in ("input_text", "output_text", "text"):
            _text(texts, part, "text", f"{at}.text", kind)
        elif kind_of == "input_file" and isinstance(part.get("file_data"), str):
            files.append(FilePart(at, part["file_data"], _str(part.get("filename"))))
        elif kind_of == "file" and isinstance(part.get("file"), dict) and \
                isinstance(part["file"].get("file_data"), str):
            files.append(FilePart(at, part["file"]["file_data"],
                                  _str(part["file"].get("filename"))))


def _tools(tools: Any, chat: bool, texts: list[RequestText]) -> None:
    """A function tool's name, description and parameter schema, as one text (never
    redacted: a changed definition would break the caller's code)."""
    if not isinstance(tools, list):
        return
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict) or tool.get("type") != "function":
            continue
        spec = tool.get("function") if chat else tool
        if not isinstance(spec, dict):
            continue
        parts = [str(spec.get("name") or ""), str(spec.get("description") or "")]
        if spec.get("parameters") is not None:
            with contextlib.suppress(TypeError):  # a value JSON cannot carry: the route says
                parts.append(orjson.dumps(spec["parameters"]).decode())
        text = "\n".join(p for p in parts if p)
        if text:
            texts.append(RequestText(f"tools[{i}]", "tool", text))


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
