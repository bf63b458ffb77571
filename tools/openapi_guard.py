"""Breaking changes between two OpenAPI documents (the committed snapshot and the app's).

    python tools/openapi_guard.py [OLD NEW]   (default: the snapshot against the document)
    python tools/openapi_guard.py --accept    make the current document the new snapshot

OLD defaults to docs/openapi/snapshot.yaml (the last released contract), NEW to
docs/openapi/lukhas-openai.yaml (generated from the app; a test keeps the two equal).
Breaking, for a client written against OLD:
- a path, an operation, a documented success status or media type removed;
- in what the client sends (parameters, request bodies): a field or enum value removed, a
  type narrowed, a field or parameter newly required;
- in what the client receives (responses): a field removed or no longer always present, a
  type widened (a value the client cannot read), an enum value added (a client's
  exhaustive match breaks).
Additive changes (new paths, new optional request fields, new response fields) pass.
`--accept` is for a release that breaks on purpose (a new major version).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = ROOT / "docs" / "openapi" / "snapshot.yaml"
CURRENT = ROOT / "docs" / "openapi" / "lukhas-openai.yaml"
_METHODS = ("get", "put", "post", "delete", "patch")

Doc = dict[str, Any]


class _Resolver:
    def __init__(self, doc: Doc) -> None:
        self.doc = doc

    def __call__(self, schema: Any) -> Any:
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema and seen < 64:
            node: Any = self.doc
            for part in schema["$ref"].lstrip("#/").split("/"):
                node = node[part]
            schema, seen = node, seen + 1
        return schema


def _types(schema: dict[str, Any], resolve: _Resolver) -> set[str]:
    """The JSON types a schema admits (anyOf/oneOf flattened); empty: anything."""
    if "type" in schema:
        kinds = schema["type"]
        return set(kinds if isinstance(kinds, list) else [kinds])
    out: set[str] = set()
    for key in ("anyOf", "oneOf"):
        for sub in schema.get(key, []):
            sub_types = _types(resolve(sub), resolve)
            if not sub_types:
                return set()
            out |= sub_types
    if "const" in schema:
        out.add(type(schema["const"]).__name__)
    return out


class _Compare:
    def __init__(self, old: Doc, new: Doc) -> None:
        self.old, self.new = _Resolver(old), _Resolver(new)
        self.problems: list[str] = []
        self._seen: set[tuple[int, int, bool]] = set()

    def schema(self, a: Any, b: Any, where: str, request: bool) -> None:
        a, b = self.old(a), self.new(b)
        if not isinstance(a, dict) or not isinstance(b, dict):
            return
        pair = (id(a), id(b), request)
        if pair in self._seen:  # recursive schemas
            return
        self._seen.add(pair)
        ta, tb = _types(a, self.old), _types(b, self.new)
        if ta and tb:
            # A request may widen (accept more); a response may narrow (send less variety).
            lost = ta - tb if request else tb - ta
            if lost and not (request and "integer" in ta and "number" in tb):
                self.problems.append(f"{where}: type {sorted(ta)} became {sorted(tb)}")
        elif request and ta and not tb:
            pass  # a request field that now accepts anything is wider
        ea, eb = set(map(str, a.get("enum", []))), set(map(str, b.get("enum", [])))
        if ea and eb:
            if request and ea - eb:
                self.problems.append(f"{where}: enum values removed {sorted(ea - eb)}")
            if not request and eb - ea:
                self.problems.append(f"{where}: enum values added {sorted(eb - ea)}")
        pa, pb = a.get("properties", {}), b.get("properties", {})
        ra, rb = set(a.get("required", [])), set(b.get("required", []))
        for name, sub in pa.items():
            if name not in pb:
                if request or name in ra:
                    self.problems.append(f"{where}.{name}: removed")
                continue
            self.schema(sub, pb[name], f"{where}.{name}", request)
        if request:
            for name in rb - ra:
                self.problems.append(f"{where}.{name}: newly required")
        else:
            for name in ra - rb:
                if name in pb:
                    self.problems.append(f"{where}.{name}: no longer always present")
        if "items" in a and "items" in b:
            self.schema(a["items"], b["items"], f"{where}[]", request)
        for combinator in ("anyOf", "oneOf"):
            # Variants are matched by position only when both sides keep the same count.
            va, vb = a.get(combinator, []), b.get(combinator, [])
            if len(va) == len(vb):
                for i, (x, y) in enumerate(zip(va, vb, strict=True)):
                    self.schema(x, y, f"{where}<{combinator}{i}>", request)

    def operation(self, a: Doc, b: Doc, where: str) -> None:
        old_params = {(p["in"], p["name"]): p for p in map(self.old, a.get("parameters", []))}
        new_params = {(p["in"], p["name"]): p for p in map(self.new, b.get("parameters", []))}
        for key, param in old_params.items():
            if key not in new_params:
                self.problems.append(f"{where} parameter {key[1]} ({key[0]}): removed")
                continue
            self.schema(param.get("schema", {}), new_params[key].get("schema", {}),
                        f"{where} parameter {key[1]}", request=True)
        for key, param in new_params.items():
            if param.get("required") and not old_params.get(key, {}).get("required"):
                self.problems.append(f"{where} parameter {key[1]}: newly required")
        body_a = a.get("requestBody", {}).get("content", {})
        body_b = b.get("requestBody", {}).get("content", {})
        for media, content in body_a.items():
            if media not in body_b:
                self.problems.append(f"{where} request body {media}: removed")
                continue
            self.schema(content.get("schema", {}), body_b[media].get("schema", {}),
                        f"{where} request", request=True)
        for status, response in a.get("responses", {}).items():
            if not status.startswith("2"):
                continue
            if status not in b.get("responses", {}):
                self.problems.append(f"{where} response {status}: removed")
                continue
            content_b = self.new(b["responses"][status]).get("content", {})
            for media, content in self.old(response).get("content", {}).items():
                if media not in content_b:
                    self.problems.append(f"{where} response {status} {media}: removed")
                    continue
                self.schema(content.get("schema", {}), content_b[media].get("schema", {}),
                            f"{where} response {status}", request=False)


def breaking_changes(old: Doc, new: Doc) -> list[str]:
    """What a client of `old` would find broken in `new` (empty: compatible)."""
    compare = _Compare(old, new)
    for path, ops in old.get("paths", {}).items():
        if path not in new.get("paths", {}):
            compare.problems.append(f"{path}: removed")
            continue
        for method in _METHODS:
            if method in ops:
                if method not in new["paths"][path]:
                    compare.problems.append(f"{method.upper()} {path}: removed")
                else:
                    compare.operation(ops[method], new["paths"][path][method],
                                      f"{method.upper()} {path}")
    return compare.problems


def main(argv: list[str]) -> int:
    if argv == ["--accept"]:
        body = CURRENT.read_text().split("\n", 1)[1]  # without the "generated" comment
        SNAPSHOT.write_text("# The released contract: tools/openapi_guard.py fails on a change "
                            "that breaks it.\n" + body)
        print(f"{SNAPSHOT.relative_to(ROOT)} is now {CURRENT.relative_to(ROOT)}")
        return 0
    old_path, new_path = (Path(argv[0]), Path(argv[1])) if len(argv) == 2 else (SNAPSHOT, CURRENT)
    old, new = yaml.safe_load(old_path.read_text()), yaml.safe_load(new_path.read_text())
    problems = breaking_changes(old, new)
    for problem in problems:
        print(f"BREAKING {problem}")
    if not problems:
        print("no breaking change against the snapshot")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
