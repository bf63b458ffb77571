"""Slot filling: a function's arguments from the words of a question, never invented.

Each property of the tool's JSON schema is read by its name and description, then filled
from the question by its type: an enum by the value named in the question, a boolean by
whether the property's subject is asked for (or refused: "without"), a number by the one
next to the property's word ("3 days", "order 12345") or the next unused one, a string by
what its words say it holds: a place is the capitalised name after "in"/"at"/"for" (or
"from"/"to" for an origin and a destination), an email, a URL, a currency or ticker code, a
date, a quoted text, an id with digits, a search query, or the value written after the
property's own name ("priority high"). What the question does not give stays out: an
optional property is left out, a nullable one is null, a declared `default` is used, and a
required one is reported missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


def _set(text: str) -> frozenset[str]:
    """The words of `text`, as a set."""
    return frozenset(text.split())


_SPLIT = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_WORD = re.compile(r"[a-z]+")
_STOP = _set("a an the of to for in on at by is be it its and or with as this that "
             "which what e g eg ex i if not should whether include use enable get "
             "set")
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w])")
_NUMBER_WORDS = {w: i for i, w in enumerate((
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve"))}
_CAPITAL = (r"[A-Z][\w'’.-]*(?:[ -](?:(?:de|del|la|le|los|las|upon|on|am|da|do|du|sur|"
            r"of)[ -])?[A-Z][\w'’.-]*)*")
_PLACE_AFTER = {"in", "at", "for", "near", "from", "to", "around", "of"}
_ORIGIN = _set("from origin source departure start leaving base")
_DESTINATION = _set("to destination target arrival end going quote into")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"https?://[^\s\"'<>]+[^\s\"'<>.,;:!?)]")
_CODE3 = re.compile(r"\b[A-Z]{3}\b")
_TICKER = re.compile(r"\b[A-Z]{1,5}\b")
_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:\d{2})?)?\b")
_DAY = re.compile(r"\b(today|tomorrow|yesterday|tonight|(?:next |this )?(?:monday|tuesday|"
                  r"wednesday|thursday|friday|saturday|sunday))\b", re.I)
_QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”|'([^']{2,})'(?!\w)")
# Greedy to the end of the line, the end's punctuation cut after: a lazy run before an
# optional tail would try every split of a long line.
_SAYING = (re.compile(r"\b(?:saying|says|reading)\s*:?\s+(.+)", re.I),
           re.compile(r"\b(?:message|text|body)\s*:\s*(.+)", re.I))
_ID = re.compile(r"(?<![\w-])#?([A-Za-z]{0,8}-?\d[\w-]*)")
_NEGATION = _set("no not without don't dont never disable exclude excluding skip off")
_TRAILING = " \t\r\n.?!,;:"
# A request to a tool is a sentence or two: past this many characters nothing is read, so
# no pattern runs over a long text.
MAX_CHARS = 4000

PLACE = _set("city location place town country destination origin address region "
             "state where area locale venue airport")
EMAIL = _set("email mail recipient")
URL = _set("url link website uri href")
CURRENCY = _set("currency")
TICKER = _set("ticker symbol stock")
DATE = _set("date day when time datetime")
MESSAGE = _set("message body content text note comment subject")
QUERY = _set("query search term terms keywords keyword q prompt question")
NAME = _set("name person username contact who")
IDENT = _set("id identifier number code reference ref order sku zip postal phone "
             "account invoice ticket tracking")


@dataclass(slots=True)
class Filled:
    """The arguments found, the required properties not found (dotted paths), and how each
    was found (reasoning-summary lines)."""

    arguments: dict[str, Any] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _trim(text: str) -> str:
    """`text` without the spaces and punctuation that end it."""
    return text.rstrip(_TRAILING)


def words(text: str) -> list[str]:
    """The lower-case words of a name or description ("fromCurrency" → from, currency)."""
    return [w.lower() for w in _SPLIT.findall(text)]


def _key_words(name: str) -> list[str]:
    return [w for w in words(name) if w not in _STOP] or words(name)


def types_of(schema: dict[str, Any]) -> list[str]:
    """The JSON types a schema allows (from `type`, `enum`, `const` or `anyOf`/`oneOf`)."""
    kind = schema.get("type")
    if isinstance(kind, str):
        return [kind]
    if isinstance(kind, list):
        return [k for k in kind if isinstance(k, str)]
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            return [t for sub in schema[key] if isinstance(sub, dict) for t in types_of(sub)]
    if "enum" in schema or "const" in schema:
        values = schema.get("enum") or [schema.get("const")]
        return sorted({_json_type(v) for v in values})
    return ["string"]


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string"


def concrete(schema: dict[str, Any]) -> dict[str, Any]:
    """The non-null branch of a nullable `anyOf`/`oneOf` (the schema itself otherwise)."""
    for key in ("anyOf", "oneOf"):
        branches = [s for s in schema.get(key) or () if isinstance(s, dict)
                    and types_of(s) != ["null"]]
        if len(branches) == 1:
            return {**{k: v for k, v in schema.items() if k != key}, **branches[0]}
    return schema


class _Reader:
    """The question, and what of it earlier properties have already taken."""

    def __init__(self, question: str, reserved: frozenset[str] = frozenset()) -> None:
        self.text = question
        self.used: set[tuple[int, int]] = set()
        # The schema's enum values: "Celsius" is a unit, never a place or a name.
        self.reserved = reserved

    def free(self, span: tuple[int, int]) -> bool:
        return not any(a < span[1] and span[0] < b for a, b in self.used)

    def take(self, match: re.Match[str], group: int = 0) -> str:
        self.used.add(match.span(group))
        return match.group(group)

    def numbers(self) -> list[tuple[re.Match[str], float | int]]:
        found: list[tuple[re.Match[str], float | int]] = []
        for m in _NUMBER.finditer(self.text):
            raw = m.group().replace(",", "")
            found.append((m, float(raw) if "." in raw else int(raw)))
        for m in re.finditer(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b", self.text, re.I):
            found.append((m, _NUMBER_WORDS[m.group(1).lower()]))
        return sorted(found, key=lambda f: f[0].start())


def fill(schema: dict[str, Any], question: str) -> Filled:
    """The arguments of an object schema from `question` (its first `MAX_CHARS`)."""
    out = Filled()
    reader = _Reader(question[:MAX_CHARS], frozenset(_enums(schema)))
    out.arguments = _object(schema, reader, "", out)
    return out


def _enums(schema: Any) -> list[str]:
    """Every string enum value in a schema, lower-cased (iteratively: schemas nest)."""
    found: list[str] = []
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            found += [v.lower() for v in node.get("enum") or () if isinstance(v, str)]
            stack += node.values()
        elif isinstance(node, list):
            stack += node
    return found


def _object(schema: dict[str, Any], reader: _Reader, path: str, out: Filled) -> dict[str, Any]:
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    values: dict[str, Any] = {}
    # Required properties first: an optional one must not take what a required one needs.
    for name in sorted(properties, key=lambda n: n not in required):
        raw = properties[name]
        sub = concrete(raw) if isinstance(raw, dict) else {}
        where = f"{path}{name}"
        before = len(out.missing)
        found, how = _value(name, sub, reader, where, out)
        if len(out.missing) > before:  # an object whose own required properties are missing
            continue
        if found is not _NONE:
            values[name] = found
            out.notes.append(f"{where} = {_show(found)} ({how})")
            continue
        if "default" in sub:
            values[name] = sub["default"]
            out.notes.append(f"{where} = {_show(sub['default'])} (not in the message: the "
                             "schema's default)")
        elif "null" in types_of(raw if isinstance(raw, dict) else {}) and name in required:
            values[name] = None
            out.notes.append(f"{where} = null (not in the message)")
        elif name in required:
            out.missing.append(where)
    return {name: values[name] for name in properties if name in values}


_NONE = object()


def _show(value: Any) -> str:
    return repr(value) if not isinstance(value, str) else f'"{value}"'


def _value(name: str, schema: dict[str, Any], reader: _Reader, where: str,
           out: Filled) -> tuple[Any, str]:
    """A property's value from the question and how it was found, or `_NONE`."""
    if "const" in schema:
        return schema["const"], "the schema's constant"
    kinds = [k for k in types_of(schema) if k != "null"]
    if "enum" in schema:
        return _enum(schema["enum"], reader)
    if "object" in kinds and isinstance(schema.get("properties"), dict):
        before = len(out.missing)
        inner = _object(schema, reader, f"{where}.", out)
        return (inner, "its properties") if len(out.missing) == before else (_NONE, "")
    if "array" in kinds:
        return _array(name, schema, reader)
    if "boolean" in kinds:
        return _boolean(name, schema, reader)
    if "integer" in kinds or "number" in kinds:
        return _number(name, schema, reader, integer="number" not in kinds)
    if "string" in kinds:
        return _string(name, schema, reader)
    return _NONE, ""


def _enum(options: list[Any], reader: _Reader) -> tuple[Any, str]:
    """The enum value the question names first (its words, or "°C" for celsius)."""
    best: tuple[int, Any, tuple[int, int]] | None = None
    for option in options:
        if not isinstance(option, str) or not option:
            continue
        spoken = " ".join(words(option)) or option
        patterns = [rf"\b{re.escape(option)}\b", rf"\b{re.escape(spoken)}\b"]
        if option[0].isalpha():
            patterns.append(rf"°\s?{re.escape(option[0])}\b")
        for pattern in patterns:
            m = re.search(pattern, reader.text, re.I)
            if m is not None and reader.free(m.span()) and (best is None or m.start() < best[0]):
                best = (m.start(), option, m.span())
    if best is None:
        return _NONE, ""
    reader.used.add(best[2])
    return best[1], "named in the message"


def _mentions(name: str, schema: dict[str, Any], reader: _Reader) -> re.Match[str] | None:
    """Where the question names the property's subject (a key word of its name)."""
    for word in _key_words(name):
        if len(word) < 2:
            continue
        m = re.search(rf"\b{re.escape(word)}\w*", reader.text, re.I)
        if m is not None:
            return m
    return None


def _boolean(name: str, schema: dict[str, Any], reader: _Reader) -> tuple[Any, str]:
    m = _mentions(name, schema, reader)
    if m is None:
        return _NONE, ""
    before = _WORD.findall(reader.text[: m.start()].lower().replace("'", ""))[-3:]
    if any(w in _NEGATION or w == "dont" for w in before):
        return False, f'"{m.group()}" refused in the message'
    return True, f'"{m.group()}" asked for in the message'


def _number(name: str, schema: dict[str, Any], reader: _Reader,
            integer: bool) -> tuple[Any, str]:
    numbers = [(m, v) for m, v in reader.numbers() if reader.free(m.span())
               and (not integer or float(v).is_integer())]
    if not numbers:
        return _NONE, ""
    keys = [k.rstrip("s") for k in _key_words(name) if len(k) > 1]
    for m, v in numbers:
        before = _WORD.findall(reader.text[: m.start()].lower())[-3:]
        after = _WORD.findall(reader.text[m.end():].lower())[:1]
        if any(any(b.startswith(k) for b in before) or any(a.startswith(k) for a in after)
               for k in keys):
            reader.take(m)
            return _cast(v, integer), f'the number next to "{name}"'
    m, v = numbers[0]
    reader.take(m)
    return _cast(v, integer), "the next number in the message"


def _cast(value: float | int, integer: bool) -> float | int:
    return int(value) if integer else value


def _array(name: str, schema: dict[str, Any], reader: _Reader) -> tuple[Any, str]:
    items = concrete(schema.get("items") or {}) if isinstance(schema.get("items"), dict) else {}
    found: list[Any] = []
    while True:
        value, _ = _value(name.rstrip("s"), items, reader, name, Filled())
        if value is _NONE or value in found:
            break
        found.append(value)
    return (found, "every one named in the message") if found else (_NONE, "")


def _string(name: str, schema: dict[str, Any], reader: _Reader) -> tuple[Any, str]:
    own = set(words(name))
    described = set(_WORD.findall(str(schema.get("description") or "").lower()))
    fmt = schema.get("format")
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        found = _by_pattern(pattern, reader)
        if found is not None:
            return found, "the text matching its pattern"
    for kinds, reader_of in _READERS:
        if own & kinds:
            value = reader_of(own, reader)
            if value is not None:
                return value
    if fmt in ("email", "idn-email") or "email" in described:
        return _first(_EMAIL, reader, "the email address in the message")
    if fmt in ("uri", "url", "iri"):
        return _first(_URL, reader, "the URL in the message")
    if fmt in ("date", "date-time"):
        return _first(_DATE, reader, "the date in the message")
    for kinds, reader_of in _READERS:
        if described & kinds:
            value = reader_of(own | described, reader)
            if value is not None:
                return value
    return _after_name(name, reader)


def _by_pattern(pattern: str, reader: _Reader) -> str | None:
    try:
        compiled = re.compile(pattern)
    except re.error:
        return None
    for m in re.finditer(r"[^\s,;!?\"']+", reader.text):
        token = m.group().rstrip(".")
        if reader.free(m.span()) and compiled.search(token) and token:
            reader.used.add(m.span())
            return token
    return None


def _first(regex: re.Pattern[str], reader: _Reader, how: str,
           group: int = 0) -> tuple[Any, str]:
    for m in regex.finditer(reader.text):
        if reader.free(m.span(group)):
            return reader.take(m, group), how
    return _NONE, ""


Found = tuple[Any, str] | None


def _place(keys: set[str], reader: _Reader) -> Found:
    preps = ({"from"} if keys & _ORIGIN else {"to", "for"} if keys & _DESTINATION
             else _PLACE_AFTER)
    for m in re.finditer(rf"\b(\w+)\s+({_CAPITAL}(?:,\s*[A-Z]{{2}}\b)?)", reader.text):
        if m.group(1).lower() in preps and reader.free(m.span(2)) and \
                m.group(2).lower() not in reader.reserved:
            return reader.take(m, 2), f'the capitalised place after "{m.group(1)}"'
    if preps is _PLACE_AFTER:  # a place named anywhere but at a sentence's start
        for m in re.finditer(_CAPITAL, reader.text):
            start = reader.text[: m.start()].rstrip()
            if start and start[-1] not in ".?!" and m.group() != "I" and \
                    reader.free(m.span()) and m.group().lower() not in reader.reserved:
                return reader.take(m), "the capitalised name in the message"
    return None


def _email(keys: set[str], reader: _Reader) -> Found:
    value = _first(_EMAIL, reader, "the email address in the message")
    return value if value[0] is not _NONE else None


def _url(keys: set[str], reader: _Reader) -> Found:
    value = _first(_URL, reader, "the URL in the message")
    return value if value[0] is not _NONE else None


def _currency(keys: set[str], reader: _Reader) -> Found:
    codes = [m for m in _CODE3.finditer(reader.text) if reader.free(m.span())]
    if not codes:
        return None
    if keys & _DESTINATION:
        for m in codes:
            if re.search(r"\b(?:to|into|in)\s*$", reader.text[: m.start()]):
                return reader.take(m), "the currency code after \"to\""
    return reader.take(codes[0]), "the currency code in the message"


def _ticker(keys: set[str], reader: _Reader) -> Found:
    value = _first(_TICKER, reader, "the ticker in the message")
    return value if value[0] is not _NONE else None


def _date(keys: set[str], reader: _Reader) -> Found:
    for regex in (_DATE, _DAY):
        value = _first(regex, reader, "the date in the message")
        if value[0] is not _NONE:
            return value
    return None


def _message(keys: set[str], reader: _Reader) -> Found:
    for regex in (_QUOTED, *_SAYING):
        for m in regex.finditer(reader.text):
            group = next(i for i in range(1, (m.lastindex or 0) + 1) if m.group(i))
            if reader.free(m.span(group)):
                value = _trim(reader.take(m, group))
                if value:
                    return value, "the quoted text" if regex is _QUOTED \
                        else "the words after \"saying\""
    return None


def _query(keys: set[str], reader: _Reader) -> Found:
    m = re.search(r"\b(?:for|about|on|regarding)\s+(.+)", reader.text)
    if m is not None and reader.free(m.span(1)):
        value = _trim(m.group(1))
        if value:
            reader.used.add(m.span(1))
            return value, "the words after \"" + m.group().split()[0] + "\""
    value = _trim(reader.text.strip())
    return (value, "the whole message") if value else None


def _name(keys: set[str], reader: _Reader) -> Found:
    quoted = _message(keys, reader)
    if quoted is not None:
        return quoted
    for m in re.finditer(rf"\b(named|called|for|to|from|with)\s+({_CAPITAL})", reader.text):
        if reader.free(m.span(2)) and m.group(2).lower() not in reader.reserved:
            return reader.take(m, 2), f'the capitalised name after "{m.group(1)}"'
    return None


def _ident(keys: set[str], reader: _Reader) -> Found:
    for key in sorted(keys & IDENT) + sorted(keys - IDENT):
        m = re.search(rf"\b{re.escape(key)}\w{{0,12}}\s?(?:number|no\.?|id|is|:|#)?\s?#?"
                      r"([A-Za-z]{0,8}-?\d[\w-]*)", reader.text, re.I)
        if m is not None and reader.free(m.span(1)):
            return reader.take(m, 1), f'the id after "{key}"'
    value = _first(_ID, reader, "the id in the message", 1)
    return value if value[0] is not _NONE else None


def _after_name(name: str, reader: _Reader) -> tuple[Any, str]:
    """`priority high`, `title: "Q3 report"`: the value written after the property's name."""
    spoken = r"[\s_-]*".join(re.escape(w) for w in words(name))
    if not spoken:
        return _NONE, ""
    m = re.search(rf"\b{spoken}s?\b\s*(?:is|was|=|:|of|as|to|should be)?\s*"
                  r"(?:\"([^\"]+)\"|'([^']+)'|([^\s,;.!?]+))", reader.text, re.I)
    if m is None:
        return _NONE, ""
    group = next(i for i in (1, 2, 3) if m.group(i))
    if not reader.free(m.span(group)):
        return _NONE, ""
    return reader.take(m, group), f'the value after "{name}"'


_READERS = (
    (EMAIL, _email), (URL, _url), (CURRENCY, _currency), (TICKER, _ticker),
    (DATE, _date), (PLACE, _place), (MESSAGE, _message), (QUERY, _query), (NAME, _name),
    (IDENT, _ident),
)
