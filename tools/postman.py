"""The Postman collection, generated from the OpenAPI document and the examples' flow.

    python tools/postman.py           write deploy/postman/lukhas.postman_collection.json
    python tools/postman.py --check   exit 1 if the committed collection is not the generated one

deploy/postman/flow.yaml lists the requests in the order they run (its header says how). The
collection (Postman's v2.1 format) has the bootstrap key (`apiKey`) and the address
(`baseUrl`) as collection variables; its first request mints a ΛiD token for a fresh subject,
which every other request carries unless its step names another credential. Each request has
its tests: the status, the JSON fields the step expects, the text it must contain; ids the
later requests need are saved as collection variables.

The generator refuses, naming the step: an operation of the document that no step covers (a
new route needs its example), a step whose operation the document lacks, a body the
operation's request schema refuses, or a path parameter without a value.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path
from typing import Any

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[1]
OPENAPI = ROOT / "docs" / "openapi" / "lukhas-openai.yaml"
FLOW = ROOT / "deploy" / "postman" / "flow.yaml"
COLLECTION = ROOT / "deploy" / "postman" / "lukhas.postman_collection.json"
SCHEMA_URL = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
_METHODS = ("get", "put", "post", "delete", "patch")
_VARIABLE = re.compile(r"\{\{(\w+)\}\}")

def _await_end(url: str, ended: tuple[str, ...]) -> list[str]:
    """A pre-request script's lines: poll `url` (as the caller) until its status is one of
    `ended`, every 100 ms, at most 100 times."""
    return [
        f"const url = pm.variables.replaceIn('{url}');",
        "const header = [{key: 'Authorization',",
        "                 value: 'Bearer ' + pm.collectionVariables.get('token')}];",
        f"const ended = {json.dumps(list(ended))};",
        "let tries = 0;",
        "function poll() {",
        "  pm.sendRequest({url: url, method: 'GET', header: header}, function (err, res) {",
        "    if (!err && ended.includes(res.json().status)) { return; }",
        "    if (++tries < 100) { setTimeout(poll, 100); }",
        "  });",
        "}",
        "poll();",
    ]


# Named pre-request scripts (Postman's sandbox: `pm`, and CryptoJS for the TOTP code).
PRE_SCRIPTS: dict[str, list[str]] = {
    "username": [
        "// A username of its own for each run.",
        "pm.collectionVariables.set('username',",
        "  'ada-' + Date.now().toString(36) + Math.random().toString(36).slice(2, 8));",
    ],
    "dream_ended": [
        "// Wait (up to 10 s) until the dream has ended: it runs on the service's tick.",
        *_await_end("{{baseUrl}}/v1/dreams/{{dreamId}}", ("completed", "failed", "cancelled",
                                                          "incomplete")),
    ],
    "background_ended": [
        "// Wait (up to 10 s) until the background response has ended.",
        *_await_end("{{baseUrl}}/v1/responses/{{backgroundId}}", ("completed", "failed",
                                                                  "cancelled", "incomplete")),
    ],
    "totp": [
        "// The current RFC 6238 code (HMAC-SHA1, 6 digits, 30 s) for the enrolled secret.",
        "const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';",
        "let bits = '';",
        "for (const c of pm.collectionVariables.get('totpSecret').replace(/=+$/, '')) {",
        "  bits += alphabet.indexOf(c.toUpperCase()).toString(2).padStart(5, '0');",
        "}",
        "let keyHex = '';",
        "for (let i = 0; i + 8 <= bits.length; i += 8) {",
        "  keyHex += parseInt(bits.slice(i, i + 8), 2).toString(16).padStart(2, '0');",
        "}",
        "const counter = Math.floor(Date.now() / 1000 / 30).toString(16).padStart(16, '0');",
        "const mac = CryptoJS.HmacSHA1(CryptoJS.enc.Hex.parse(counter),",
        "                              CryptoJS.enc.Hex.parse(keyHex)).toString();",
        "const offset = parseInt(mac.slice(-1), 16);",
        "const code = (parseInt(mac.substr(offset * 2, 8), 16) & 0x7fffffff) % 1000000;",
        "pm.collectionVariables.set('totpCode', code.toString().padStart(6, '0'));",
    ],
}
# The credential a step carries: Postman auth objects.
_AUTH = {
    "token": None,  # the collection's own: the caller token
    "apiKey": {"type": "bearer", "bearer": [{"key": "token", "value": "{{apiKey}}",
                                             "type": "string"}]},
    "account": {"type": "bearer", "bearer": [{"key": "token", "value": "{{accountToken}}",
                                              "type": "string"}]},
    "none": {"type": "noauth"},
}
_STEP_KEYS = {"name", "operation", "auth", "path", "query", "body", "status", "expect", "has",
              "contains", "capture", "pre"}

Doc = dict[str, Any]


class FlowError(ValueError):
    """The flow and the document disagree."""


def load_flow(path: Path = FLOW) -> list[tuple[str, list[dict[str, Any]]]]:
    """The flow's folders, each with its steps, in order."""
    return [(part["folder"], part["steps"]) for part in yaml.safe_load_all(path.read_text())]


def _operations(doc: Doc) -> dict[str, Doc]:
    return {f"{method.upper()} {path}": op for path, ops in doc["paths"].items()
            for method, op in ops.items() if method in _METHODS}


def _body_validator(doc: Doc, op: Doc) -> jsonschema.Draft202012Validator | None:
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return None
    schema = {**copy.deepcopy(content["schema"]), "components": doc["components"]}
    return jsonschema.Draft202012Validator(schema)


def _check_step(step: dict[str, Any], op: Doc | None, doc: Doc) -> None:
    where = f"step {step.get('name')!r}"
    unknown = set(step) - _STEP_KEYS
    if unknown:
        raise FlowError(f"{where}: unknown keys {sorted(unknown)}")
    if op is None:
        raise FlowError(f"{where}: the document has no operation {step['operation']!r}")
    if step.get("auth", "token") not in _AUTH:
        raise FlowError(f"{where}: auth must be one of {sorted(_AUTH)}")
    if step.get("pre") is not None and step["pre"] not in PRE_SCRIPTS:
        raise FlowError(f"{where}: no pre-request script {step['pre']!r}")
    params = {p["name"]: p for p in op.get("parameters", [])}
    path_params = set(re.findall(r"\{(\w+)\}", step["operation"].split(" ", 1)[1]))
    missing = path_params - set(step.get("path", {}))
    if missing:
        raise FlowError(f"{where}: no value for the path parameters {sorted(missing)}")
    for name in step.get("query", {}):
        if params.get(name, {}).get("in") != "query":
            raise FlowError(f"{where}: the operation has no query parameter {name!r}")
    for name, param in params.items():
        if param.get("required") and param["in"] == "query" and name not in step.get("query",
                                                                                      {}):
            raise FlowError(f"{where}: the query parameter {name!r} is required")
    validator = _body_validator(doc, op)
    if "body" in step:
        if validator is None:
            raise FlowError(f"{where}: the operation takes no JSON body")
        error = jsonschema.exceptions.best_match(validator.iter_errors(step["body"]))
        if error is not None:
            raise FlowError(f"{where}: the body does not match the request schema: "
                            f"{error.message} at {'/'.join(map(str, error.path))}")
    elif validator is not None and op["requestBody"].get("required"):
        raise FlowError(f"{where}: the operation needs a body")


def _js(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _tests(step: dict[str, Any]) -> list[str]:
    status = step.get("status", 200)
    lines = [f"pm.test('status is {status}', function () {{",
             f"  pm.response.to.have.status({status});", "});"]
    if step.get("expect") or step.get("has") or step.get("capture"):
        lines += ["const body = pm.response.json();",
                  "const at = (o, p) => p.split('.').reduce("
                  "(v, k) => (v === undefined || v === null ? undefined : v[k]), o);"]
    for path, value in (step.get("expect") or {}).items():
        lines += [f"pm.test({_js(path + ' is ' + str(value))}, function () {{",
                  f"  pm.expect(at(body, {_js(path)}))"
                  f".to.eql({_resolved(value)});", "});"]
    for path in step.get("has") or []:
        lines += [f"pm.test({_js('has ' + path)}, function () {{",
                  f"  pm.expect(at(body, {_js(path)})).to.not.equal(undefined);", "});"]
    for text in step.get("contains") or []:
        lines += [f"pm.test({_js('contains ' + text)}, function () {{",
                  f"  pm.expect(pm.response.text()).to.include({_resolved(text)});", "});"]
    for variable, path in (step.get("capture") or {}).items():
        if isinstance(path, dict):  # {path: ..., encode: true}: for a query string
            lines += [f"pm.collectionVariables.set({_js(variable)}, "
                      f"encodeURIComponent(at(body, {_js(path['path'])})));"]
        else:
            lines += [f"pm.collectionVariables.set({_js(variable)}, at(body, {_js(path)}));"]
    return lines


def _resolved(value: Any) -> str:
    """A JavaScript expression for an expected value, its {{variables}} filled at run time."""
    if isinstance(value, str) and _VARIABLE.search(value):
        return f"pm.variables.replaceIn({_js(value)})"
    return _js(value)


def _request(step: dict[str, Any], op: Doc) -> dict[str, Any]:
    method, path = step["operation"].split(" ", 1)
    for name, value in step.get("path", {}).items():
        path = path.replace("{" + name + "}", str(value))
    segments = [s for s in path.split("/") if s]
    query = [{"key": k, "value": str(v)} for k, v in step.get("query", {}).items()]
    raw = "{{baseUrl}}/" + "/".join(segments)
    if query:
        raw += "?" + "&".join(f"{q['key']}={q['value']}" for q in query)
    url: dict[str, Any] = {"raw": raw, "host": ["{{baseUrl}}"], "path": segments}
    if query:
        url["query"] = query
    request: dict[str, Any] = {"method": method, "header": [], "url": url,
                               "description": op.get("summary") or op.get("description", "")}
    auth = _AUTH[step.get("auth", "token")]
    if auth is not None:
        request["auth"] = auth
    if "body" in step:
        request["header"].append({"key": "Content-Type", "value": "application/json"})
        request["body"] = {"mode": "raw", "raw": json.dumps(step["body"], indent=2,
                                                            ensure_ascii=False),
                           "options": {"raw": {"language": "json"}}}
    return request


def _item(step: dict[str, Any], op: Doc) -> dict[str, Any]:
    events = [{"listen": "test", "script": {"type": "text/javascript", "exec": _tests(step)}}]
    if step.get("pre"):
        events.insert(0, {"listen": "prerequest",
                          "script": {"type": "text/javascript",
                                     "exec": PRE_SCRIPTS[step["pre"]]}})
    return {"name": step["name"], "event": events, "request": _request(step, op)}


def build(doc: Doc, flow: list[tuple[str, list[dict[str, Any]]]]) -> dict[str, Any]:
    """The collection, or FlowError naming what the flow lacks or gets wrong."""
    operations = _operations(doc)
    covered: set[str] = set()
    folders = []
    captured: list[str] = []
    for folder, steps in flow:
        items = []
        for step in steps:
            op = operations.get(step["operation"])
            _check_step(step, op, doc)
            assert op is not None
            covered.add(step["operation"])
            captured += [v for v in step.get("capture", {}) if v not in captured]
            items.append(_item(step, op))
        folders.append({"name": folder, "item": items})
    uncovered = sorted(set(operations) - covered)
    if uncovered:
        raise FlowError(f"no example in {FLOW.name} for: {', '.join(uncovered)}")
    variables = [{"key": "baseUrl", "value": "http://127.0.0.1:8000"},
                 {"key": "apiKey", "value": "",
                  "description": "A bootstrap API key (LUKHAS_API_KEYS) with the admin scope"}]
    variables += [{"key": name, "value": ""} for name in
                  [*captured, *(v for v in ("username", "totpCode") if v not in captured)]]
    return {
        "info": {
            "name": doc["info"]["title"],
            "description": (f"{doc['info'].get('description', '')}\n\nGenerated by "
                            "`make postman` from docs/openapi/lukhas-openai.yaml and "
                            "deploy/postman/flow.yaml. Set `apiKey` (and `baseUrl`), then "
                            "run the collection in order.").strip(),
            "version": doc["info"]["version"],
            "schema": SCHEMA_URL,
        },
        "auth": {"type": "bearer", "bearer": [{"key": "token", "value": "{{token}}",
                                               "type": "string"}]},
        "variable": variables,
        "item": folders,
    }


def render(collection: dict[str, Any]) -> str:
    return json.dumps(collection, indent=2, ensure_ascii=False) + "\n"


def generate() -> str:
    return render(build(yaml.safe_load(OPENAPI.read_text()), load_flow()))


def main(argv: list[str]) -> int:
    try:
        text = generate()
    except FlowError as error:
        print(f"postman: {error}", file=sys.stderr)
        return 1
    if argv[1:] == ["--check"]:
        if not COLLECTION.exists() or COLLECTION.read_text() != text:
            print(f"postman: {COLLECTION.relative_to(ROOT)} is not the generated collection; "
                  "run `make postman`", file=sys.stderr)
            return 1
        return 0
    COLLECTION.write_text(text)
    print(f"wrote {COLLECTION.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
