"""Structured output from the built-in model: its answer as a JSON document.

`json_schema`: each property of the schema is filled from the answer by what its name (or
else its description) says it holds: the value (a number for a number property), the
expression worked out, the explanation (the answer's sentence), the reasoning steps, the
quote, its source, what was asked about, the node that answered, whether it knew; a
property named after what was asked ("name" for "What is my name?") holds the value. The
document is validated against the schema before it is sent. A required property the answer
cannot fill is a 400 naming it; an optional one is left out, a nullable one is null.
`strict: true` asks for the strict subset of JSON Schema, checked first (a 400 otherwise).
`json_object`: the answer, with its value, expression, quote and source when it has them.
https://platform.openai.com/docs/guides/structured-outputs
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

import orjson
from jsonschema.validators import validator_for

from app.errors import InvalidRequest
from app.matriz.nodes.types import Answer
from app.matriz.tools.plan import check_schema
from app.matriz.tools.slots import concrete, types_of, words

_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SLOTS: tuple[tuple[str, frozenset[str]], ...] = tuple((slot, frozenset(keys.split())) for
                                                        slot, keys in (
    ("known", "known found answered answerable success ok certain confident"),
    ("expression", "expression calculation formula equation computation expr"),
    ("steps", "steps trace reasoning thoughts thinking work"),
    ("sources", "sources citations references"),
    ("explanation", "explanation explain rationale justification sentence text message "
                    "response reply summary comment details"),
    ("quote", "quote quotation evidence excerpt statement fact said"),
    ("source", "source citation cite reference origin provenance ref"),
    ("topic", "topic subject question about asked"),
    ("method", "method node approach category strategy kind"),
    ("value", "value result answer solution total sum product difference quotient number "
              "amount output"),
))


@dataclass(frozen=True, slots=True)
class OutputFormat:
    """What the answer must be: a JSON object, or a document of a checked schema."""

    kind: Literal["json_object", "json_schema"]
    name: str
    schema: dict[str, Any] | None
    strict: bool
    param: str  # where the schema is in the request, for errors


def _bad(message: str, param: str, code: str = "invalid_value") -> InvalidRequest:
    return InvalidRequest(message, param=param, code=code)


def _json_schema(spec: Any, param: str, schema_param: str) -> OutputFormat:
    if not isinstance(spec, dict):
        raise _bad("A json_schema format needs its 'name' and 'schema'.", param)
    name = spec.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise _bad("The format's name must be 1 to 64 letters, digits, '_' or '-'.",
                   f"{param}.name")
    strict = spec.get("strict")
    if strict is not None and not isinstance(strict, bool):
        raise _bad("'strict' must be a boolean.", f"{param}.strict")
    schema = check_schema(spec.get("schema"), schema_param, strict is True)
    return OutputFormat("json_schema", name, schema, strict is True, schema_param)


def responses_format(text: Any, model: str) -> OutputFormat | None:
    """The `text` field of a Responses request: None for plain text."""
    if text is None:
        return None
    if not isinstance(text, dict):
        raise _bad("'text' must be an object such as {\"format\": {\"type\": \"text\"}}.",
                   "text")
    for key in text:
        if key != "format":
            raise _bad(f"'text.{key}' is not supported for the model '{model}'.",
                       f"text.{key}", "unsupported_parameter")
    fmt = text.get("format")
    if fmt is None:
        return None
    if not isinstance(fmt, dict):
        raise _bad("'text.format' must be an object such as {\"type\": \"text\"}.",
                   "text.format")
    kind = fmt.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return OutputFormat("json_object", "json_object", None, False, "text.format")
    if kind == "json_schema":
        return _json_schema(fmt, "text.format", "text.format.schema")
    raise _bad(f"Invalid value for 'text.format.type': {kind!r}.", "text.format.type")


def chat_format(response_format: Any) -> OutputFormat | None:
    """The `response_format` of a chat completion request: None for plain text."""
    if response_format is None:
        return None
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return OutputFormat("json_object", "json_object", None, False, "response_format")
    if kind == "json_schema":
        assert isinstance(response_format, dict)
        return _json_schema(response_format.get("json_schema"), "response_format.json_schema",
                            "response_format.json_schema.schema")
    raise _bad(f"Invalid value for 'response_format.type': {kind!r}.", "response_format.type")


def render(fmt: OutputFormat, answer: Answer) -> str:
    """The answer as the JSON document `fmt` asks for, or a 400 naming what it lacks."""
    if fmt.schema is None:
        return orjson.dumps(_plain(answer)).decode()
    document = _object(fmt, fmt.schema, answer, "")
    errors = list(validator_for(fmt.schema)(fmt.schema).iter_errors(document))
    if errors:
        error = min(errors, key=lambda e: len(e.absolute_path))
        path = ".".join(str(p) for p in error.absolute_path)
        raise _bad(f"The model's answer does not fit the schema '{fmt.name}' at '{path or '$'}'"
                   f": {error.message}. It answered: {answer.text}",
                   fmt.param + "".join(f".properties.{p}" for p in error.absolute_path
                                       if isinstance(p, str)), "schema_not_satisfied")
    return orjson.dumps(document).decode()


def _plain(answer: Answer) -> dict[str, Any]:
    """The json_object document: the answer and what it rests on."""
    found = answer.finding
    out: dict[str, Any] = {"answer": answer.text}
    if found is not None:
        if found.value is not None:
            out["value"] = _number(found.value) if not isinstance(found.value, str) \
                else found.value
        for key in ("expression", "quote", "source"):
            if getattr(found, key):
                out[key] = getattr(found, key)
    return out


def _number(value: Fraction | float) -> int | float:
    if isinstance(value, Fraction) and value.denominator == 1:
        return value.numerator
    return float(value)


_NONE = object()


def _object(fmt: OutputFormat, schema: dict[str, Any], answer: Answer,
            path: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    required = set(schema.get("required") or ())
    for name, raw in (schema.get("properties") or {}).items():
        sub = concrete(raw) if isinstance(raw, dict) else {}
        where = f"{path}{name}"
        kinds = types_of(raw) if isinstance(raw, dict) else ["string"]
        if "object" in kinds and isinstance(sub.get("properties"), dict):
            value: Any = _object(fmt, sub, answer, f"{where}.")
        else:
            value = _value(name, sub, answer)
        if value is _NONE and "default" in sub:
            value = sub["default"]
        if value is not _NONE:
            out[name] = value
        elif "null" in kinds:
            out[name] = None
        elif name in required:
            raise _bad(f"The model's answer has nothing for the required property '{where}' "
                       f"of the schema '{fmt.name}'. It answered: {answer.text}",
                       fmt.param + "".join(f".properties.{p}" for p in where.split(".")),
                       "schema_property_not_filled")
    return out


def slot_of(name: str, schema: dict[str, Any], answer: Answer) -> str | None:
    """What a property holds, by its name, else its description, else what was asked."""
    own = set(words(name))
    for slot, keys in _SLOTS:
        if own & keys:
            return slot
    described = set(re.findall(r"[a-z]+", str(schema.get("description") or "").lower()))
    for slot, keys in _SLOTS:
        if described & keys:
            return slot
    topic = answer.finding.topic if answer.finding is not None else ""
    if own and own <= set(re.findall(r"[a-z]+", topic.lower())):
        return "value"
    return None


def _value(name: str, schema: dict[str, Any], answer: Answer) -> Any:
    """The property's value from the answer, in its type, or `_NONE`."""
    slot = slot_of(name, schema, answer)
    if slot is None:
        return _NONE
    found = answer.finding
    raw: Any
    if slot == "known":
        raw = answer.node != "unknown"
    elif slot == "steps":
        raw = list(answer.summary)
    elif slot == "sources":
        raw = list(answer.citations)
    elif slot == "explanation":
        raw = answer.text
    elif slot == "method":
        raw = answer.node
    elif slot == "source":
        raw = (found.source if found is not None and found.source else
               answer.citations[0] if answer.citations else None)
    elif slot == "value":
        raw = None if found is None else found.value
        if raw is None and set(words(name)) & {"answer", "output"}:
            raw = answer.text
    else:
        raw = getattr(found, slot, None) or None if found is not None else None
    return _typed(raw, schema, found.rendered if found is not None else "")


def _typed(raw: Any, schema: dict[str, Any], rendered: str) -> Any:
    """`raw` in the property's type (a number as text, text as a number), or `_NONE`."""
    if raw is None:
        return _NONE
    kinds = types_of(schema)
    value: Any = _NONE
    if isinstance(raw, bool):
        value = raw if "boolean" in kinds else _NONE
    elif isinstance(raw, list):
        if "array" in kinds:
            value = raw
        elif "string" in kinds:
            value = "\n".join(map(str, raw))
    elif isinstance(raw, Fraction | float | int):
        number = _number(raw)
        if ("integer" in kinds and isinstance(number, int)) or "number" in kinds:
            value = number
        elif "string" in kinds:
            value = rendered or str(number)
    elif isinstance(raw, str):
        if "string" in kinds:
            value = raw
        elif "number" in kinds or "integer" in kinds:
            value = _parsed_number(raw, "number" in kinds)
    if value is not _NONE and "enum" in schema:
        match = [o for o in schema["enum"] if isinstance(o, str) and isinstance(value, str)
                 and o.lower() == value.lower()]
        value = match[0] if match else (value if value in schema["enum"] else _NONE)
    return value


def _parsed_number(text: str, real: bool) -> Any:
    try:
        number = Fraction(text.replace(",", "").strip())
    except (ValueError, ZeroDivisionError):
        return _NONE
    if number.denominator == 1:
        return number.numerator
    return float(number) if real else _NONE
