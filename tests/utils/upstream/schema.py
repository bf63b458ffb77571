"""A minimal JSON document that validates against a JSON Schema (the subset structured outputs
and function parameters use: https://platform.openai.com/docs/guides/structured-outputs).

Handles type (and type lists), const, enum, $ref into $defs/definitions, allOf, anyOf, oneOf,
object properties/required/minProperties, arrays (items, prefixItems, minItems, maxItems,
uniqueItems), string length/format/pattern and numeric bounds/multipleOf. The first free-form
string receives `hint` (the echoed text), so a test sees what the mock was asked.
"""

from __future__ import annotations

import math
import re
from typing import Any

FORMATS = {"date-time": "2024-01-01T00:00:00Z", "date": "2024-01-01", "time": "00:00:00Z",
           "email": "mock@example.com", "uri": "https://example.com/", "url": "https://example.com/",
           "uuid": "00000000-0000-4000-8000-000000000000", "ipv4": "127.0.0.1", "ipv6": "::1",
           "hostname": "example.com", "duration": "P1D"}
_PATTERN_CANDIDATES = ("mock", "a", "A", "0", "abc", "ABC", "123", "a1", "mock-1", "x_1", "")


class SchemaSampler:
    """Generates values for one root schema (which `$ref`s resolve against)."""

    def __init__(self, root: Any, hint: str | None = None) -> None:
        self.root = root
        self._hint = hint

    def sample(self, schema: Any = None, variant: int = 0) -> Any:
        return self._value(self.root if schema is None else schema, variant, depth=0)

    def _text(self) -> str:
        hint, self._hint = self._hint, None
        return "mock" if hint is None else hint

    def _resolve(self, ref: str) -> Any:
        if not ref.startswith("#"):
            raise ValueError(f"only local $ref are supported: {ref}")
        node = self.root
        for part in filter(None, ref[1:].split("/")):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def _merge(self, schema: dict[str, Any]) -> dict[str, Any]:
        if "$ref" in schema:
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**self._merge(self._resolve(schema["$ref"])), **rest}
        if "allOf" in schema:
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for sub in schema["allOf"]:
                sub = self._merge(sub)
                props = {**merged.get("properties", {}), **sub.get("properties", {})}
                required = [*merged.get("required", []), *sub.get("required", [])]
                merged = {**merged, **sub, "properties": props, "required": required}
            schema = merged
        return schema

    def _value(self, schema: Any, variant: int, depth: int) -> Any:
        if schema is True or schema == {} or schema is None:
            return self._text()
        if depth > 32:
            raise ValueError("schema nests too deeply (a recursive $ref with no way out?)")
        schema = self._merge(schema)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            options = schema["enum"]
            return options[variant % len(options)]
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [o for o in schema[key] if self._merge(o).get("type") != "null"]
                base = {k: v for k, v in schema.items() if k != key}
                return self._value({**base, **(options or schema[key])[0]}, variant, depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = ("object" if "properties" in schema else
                    "array" if "items" in schema or "prefixItems" in schema else "string")
        return getattr(self, f"_{kind}")(schema, variant, depth)

    def _object(self, schema: dict[str, Any], variant: int, depth: int) -> dict[str, Any]:
        props: dict[str, Any] = schema.get("properties", {})
        names = [n for n in props if n in schema.get("required", [])]
        names += [n for n in schema.get("required", []) if n not in props]
        for name in props:  # optional properties, only as many as minProperties asks
            if len(names) >= schema.get("minProperties", 0):
                break
            if name not in names:
                names.append(name)
        return {n: self._value(props.get(n, True), variant, depth + 1) for n in names}

    def _array(self, schema: dict[str, Any], variant: int, depth: int) -> list[Any]:
        prefix = schema.get("prefixItems", [])
        low = max(schema.get("minItems", 0), len(prefix), 1)
        count = min(low, schema.get("maxItems", low))
        items = schema.get("items", True)
        out = [self._value(prefix[i] if i < len(prefix) else items, variant + i, depth + 1)
               for i in range(count)]
        return out

    def _string(self, schema: dict[str, Any], variant: int, depth: int) -> str:
        if schema.get("format") in FORMATS:
            return FORMATS[schema["format"]]
        text = self._text() if variant == 0 else f"mock{variant}"
        pattern = schema.get("pattern")
        if pattern is not None and not re.search(pattern, text):
            text = next((c for c in _PATTERN_CANDIDATES if re.search(pattern, c)), text)
        low, high = schema.get("minLength", 0), schema.get("maxLength")
        if len(text) < low:
            text += "x" * (low - len(text))
        return text if high is None else text[:high]

    def _integer(self, schema: dict[str, Any], variant: int, depth: int) -> int:
        return int(self._number(schema, variant, depth, integer=True))

    def _number(self, schema: dict[str, Any], variant: int, depth: int,
                integer: bool = False) -> float:
        multiple = schema.get("multipleOf")
        step = multiple or 1
        low = schema.get("minimum", -math.inf)
        high = schema.get("maximum", math.inf)
        if "exclusiveMinimum" in schema:
            low = max(low, schema["exclusiveMinimum"] + (1 if integer else 1e-6))
        if "exclusiveMaximum" in schema:
            high = min(high, schema["exclusiveMaximum"] - (1 if integer else 1e-6))
        value = min(max(variant * step, low), high)
        if multiple or integer:
            value = math.ceil(value / step) * step
            if value > high:
                value -= step
        return int(value) if integer else float(value)

    def _boolean(self, schema: dict[str, Any], variant: int, depth: int) -> bool:
        return variant % 2 == 0

    def _null(self, schema: dict[str, Any], variant: int, depth: int) -> None:
        return None


def sample(schema: Any, hint: str | None = None) -> Any:
    """A minimal value valid against `schema`, with `hint` in its first free-form string."""
    return SchemaSampler(schema, hint).sample()
