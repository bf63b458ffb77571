"""The function tools a request offers and how it must use them, checked once.

Both wire shapes are read: Responses (`{"type": "function", "name", "description",
"parameters", "strict"}`; `tool_choice` `{"type": "function", "name"}` or
`{"type": "allowed_tools", "mode", "tools"}`) and Chat Completions (the same inside
`"function"`; `allowed_tools` nested under its own key). Everything given is honoured or
is a 400 naming it. https://platform.openai.com/docs/api-reference/responses/create#tools,
https://platform.openai.com/docs/api-reference/chat/create#tools
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from jsonschema import SchemaError
from jsonschema.validators import validator_for

from app.errors import InvalidRequest

Mode = Literal["none", "auto", "required"]
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_EMPTY_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}
# How deep subschemas may nest (a property's schema is one level below its object's). The
# model fills and validates a schema recursively; OpenAI's strict mode allows 10 levels.
MAX_SCHEMA_DEPTH = 32
_ONE = ("items", "additionalProperties", "not", "if", "then", "else", "contains",
        "propertyNames", "unevaluatedItems", "unevaluatedProperties", "additionalItems")
_MANY = ("anyOf", "oneOf", "allOf", "prefixItems")
_NAMED = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_GROUP = re.compile(r"\(([^()]*)\)")
_REPEATS = re.compile(r"[+*]|\{\d*,")


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """One function tool: what the model reads to match it and to fill its arguments."""

    name: str
    description: str
    parameters: dict[str, Any]
    strict: bool
    param: str  # where its schema is in the request: "tools[0].parameters"


@dataclass(frozen=True, slots=True)
class ToolPlan:
    """The tools the model may call now and how: `none` never, `auto` when the question
    matches one, `required` always (`forced`: that one)."""

    tools: tuple[ToolSpec, ...]
    mode: Mode
    forced: str | None = None
    parallel: bool = True
    max_calls: int | None = None

    def called(self, name: str) -> ToolSpec | None:
        """The tool named `name`, if the model may call it."""
        return next((t for t in self.tools if t.name == name), None)


def _bad(message: str, param: str, code: str = "invalid_value") -> InvalidRequest:
    return InvalidRequest(message, param=param, code=code)


def check_schema(schema: Any, param: str, strict: bool) -> dict[str, Any]:
    """A JSON schema the model can fill: valid as a schema, an object at its root, and with
    `strict`, in the strict subset (every object closed, every property required)."""
    if not isinstance(schema, dict):
        raise _bad("A JSON schema must be an object.", param)
    if _depth(schema) > MAX_SCHEMA_DEPTH:
        raise _bad(f"The JSON schema nests subschemas more than {MAX_SCHEMA_DEPTH} levels "
                   "deep.", param)
    for pattern in _patterns(schema):
        try:
            re.compile(pattern)
        except re.error as exc:
            raise _bad(f"The pattern {pattern!r} is not a regular expression: {exc}.",
                       param) from None
        if _backtracks(pattern):
            raise _bad(f"The pattern {pattern!r} repeats a group that repeats itself; such a "
                       "pattern can take exponential time to match, so it is refused.", param)
    try:
        validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in exc.path)
        raise _bad(f"Invalid JSON schema: {exc.message}.", param + where) from None
    if schema.get("type", "object") != "object":
        raise _bad("The schema's root must be of type 'object'.", f"{param}.type")
    if strict:
        _check_strict(schema, param)
    return schema


def _subschemas(node: dict[str, Any]) -> list[Any]:
    children = [node.get(k) for k in _ONE]
    children += [s for k in _MANY if isinstance(node.get(k), list) for s in node[k]]
    children += [s for k in _NAMED if isinstance(node.get(k), dict) for s in node[k].values()]
    return children


def _backtracks(pattern: str) -> bool:
    """Whether `pattern` repeats a group that repeats something ("(a+)+", "(\\w*\\s?)*"), on
    which Python's `re` (validation and slot filling match patterns with it) may backtrack
    exponentially. Innermost groups are read first, each then standing for what it held."""
    text = re.sub(r"\\.", "e", pattern)
    while True:
        parts, at = [], 0
        for m in _GROUP.finditer(text):
            repeats = _REPEATS.search(m.group(1)) is not None
            if repeats and _REPEATS.match(text, m.end()):
                return True
            parts += [text[at : m.start()], "e+" if repeats else "e"]
            at = m.end()
        if not parts:
            return False
        text = "".join([*parts, text[at:]])


def _patterns(schema: dict[str, Any]) -> list[str]:
    """Every regular expression of a schema (`pattern`, `patternProperties` keys)."""
    found: list[str] = []
    stack: list[Any] = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                found.append(node["pattern"])
            if isinstance(node.get("patternProperties"), dict):
                found += list(node["patternProperties"])
            stack += _subschemas(node)
    return found


def _depth(schema: dict[str, Any]) -> int:
    """How many levels of subschemas `schema` nests (without recursion; annotations such as
    `examples` hold plain JSON, not schemas)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(schema, 1)]
    while stack:
        node, level = stack.pop()
        if not isinstance(node, dict):
            continue
        deepest = max(deepest, level)
        if level > MAX_SCHEMA_DEPTH:
            break
        stack.extend((child, level + 1) for child in _subschemas(node))
    return deepest


def _check_strict(schema: dict[str, Any], param: str) -> None:
    """OpenAI's strict mode: an object lists all its properties in `required` and sets
    `additionalProperties: false`, so what is produced is exactly what the schema says."""
    types = schema.get("type")
    kinds = types if isinstance(types, list) else [types]
    if "object" in kinds or "properties" in schema:
        if schema.get("additionalProperties") is not False:
            raise _bad("With 'strict', every object must set 'additionalProperties' to "
                       "false.", f"{param}.additionalProperties")
        properties = schema.get("properties") or {}
        missing = [k for k in properties if k not in (schema.get("required") or ())]
        if missing:
            raise _bad(f"With 'strict', every property must be required; '{missing[0]}' is "
                       "not.", f"{param}.required")
        for key, sub in properties.items():
            if isinstance(sub, dict):
                _check_strict(sub, f"{param}.properties.{key}")
    for key in ("items",):
        if isinstance(schema.get(key), dict):
            _check_strict(schema[key], f"{param}.{key}")
    for key in ("anyOf", "oneOf", "allOf"):
        for i, sub in enumerate(schema.get(key) or ()):
            if isinstance(sub, dict):
                _check_strict(sub, f"{param}.{key}[{i}]")
    for key, sub in (schema.get("$defs") or schema.get("definitions") or {}).items():
        if isinstance(sub, dict):
            _check_strict(sub, f"{param}.$defs.{key}")


def _spec(raw: dict[str, Any], param: str, inner: str, model: str) -> ToolSpec:
    """One function tool of either shape (`inner`: "" for Responses, "function." for chat)."""
    function = raw.get("function") if inner else raw
    if not isinstance(function, dict):
        raise _bad("A function tool needs its 'function' object.", f"{param}.function")
    name = function.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise _bad("A function's name must be 1 to 64 letters, digits, '_' or '-'.",
                   f"{param}.{inner}name")
    description = function.get("description") or ""
    if not isinstance(description, str):
        raise _bad("A function's description must be a string.",
                   f"{param}.{inner}description")
    strict = function.get("strict")
    if strict is not None and not isinstance(strict, bool):
        raise _bad("'strict' must be a boolean.", f"{param}.{inner}strict")
    where = f"{param}.{inner}parameters"
    parameters = function.get("parameters")
    parameters = _EMPTY_PARAMETERS if parameters is None else check_schema(
        parameters, where, strict is True)
    known = {"name", "description", "parameters", "strict"} | ({"type"} if not inner else set())
    for key in function:
        if key not in known:
            raise _bad(f"'{key}' is not supported in function tools for the model "
                       f"'{model}'.", f"{param}.{inner}{key}", "unsupported_parameter")
    return ToolSpec(name, description, parameters, strict is True, where)


def _choice_name(choice: dict[str, Any], chat: bool) -> Any:
    return (choice.get("function") or {}).get("name") if chat else choice.get("name")


def _plan(tools: list[ToolSpec], others: bool, choice: Any, parallel: bool | None,
          max_calls: Any, chat: bool) -> ToolPlan | None:
    """The plan from the checked tools and the request's choice (`others`: tools the model
    serves another way, such as file_search, which a `required` choice may be met by)."""
    if max_calls is not None and (isinstance(max_calls, bool) or not isinstance(max_calls, int)
                                  or max_calls < 1):
        raise _bad("'max_tool_calls' must be a positive integer.", "max_tool_calls")
    mode: Mode = "auto"
    forced = None
    if choice is None or choice == "auto":
        pass
    elif choice in ("none", "required"):
        mode = choice
    elif isinstance(choice, dict) and choice.get("type") == "function":
        forced = _choice_name(choice, chat)
        if not any(t.name == forced for t in tools):
            raise _bad(f"tool_choice names the function '{forced}', which is not in 'tools'.",
                       "tool_choice")
        mode = "required"
    elif isinstance(choice, dict) and choice.get("type") == "allowed_tools":
        allowed = choice.get("allowed_tools") if chat else choice
        if not isinstance(allowed, dict) or allowed.get("mode") not in ("auto", "required") \
                or not isinstance(allowed.get("tools"), list):
            raise _bad("allowed_tools needs a 'mode' ('auto' or 'required') and a list of "
                       "'tools'.", "tool_choice")
        names = []
        for i, entry in enumerate(allowed["tools"]):
            name = _choice_name(entry, chat) if isinstance(entry, dict) else None
            if not isinstance(entry, dict) or entry.get("type") != "function" or \
                    not any(t.name == name for t in tools):
                raise _bad("Each allowed tool must name a function of 'tools'.",
                           f"tool_choice.{'allowed_tools.' if chat else ''}tools[{i}]")
            names.append(name)
        tools = [t for t in tools if t.name in names]
        mode = allowed["mode"]
    elif isinstance(choice, dict) and choice.get("type") == "file_search" and others:
        mode = "none"  # the search is the tool asked for; it runs before the answer
    else:
        raise _bad(f"Invalid value for 'tool_choice': {choice!r}.", "tool_choice")
    if mode == "required" and not tools:
        if others:  # a file search meets it
            return None
        raise _bad("tool_choice 'required' needs at least one function in 'tools'.",
                   "tool_choice")
    if not tools:
        return None
    return ToolPlan(tuple(tools), mode, forced, parallel is not False, max_calls)


def responses_plan(model: str, tools: list[dict[str, Any]] | None, choice: Any,
                   parallel: bool | None, max_calls: Any) -> ToolPlan | None:
    """The plan of a Responses request (file_search tools are served apart), or None."""
    specs = []
    others = False
    for i, raw in enumerate(tools or ()):
        kind = raw.get("type")
        if kind == "file_search":
            others = True
        elif kind == "function":
            specs.append(_spec(raw, f"tools[{i}]", "", model))
        else:
            raise _bad(f"Tools of type '{kind}' are not supported for the model '{model}'.",
                       f"tools[{i}].type", "unsupported_parameter")
    _unique(specs)
    return _plan(specs, others, choice, parallel, max_calls, chat=False)


def chat_plan(model: str, tools: list[dict[str, Any]] | None, choice: Any,
              parallel: bool | None) -> ToolPlan | None:
    """The plan of a chat completion request, or None."""
    specs = []
    for i, raw in enumerate(tools or ()):
        if raw.get("type") != "function":
            raise _bad(f"Tools of type '{raw.get('type')}' are not supported for the model "
                       f"'{model}'.", f"tools[{i}].type", "unsupported_parameter")
        specs.append(_spec(raw, f"tools[{i}]", "function.", model))
    _unique(specs)
    return _plan(specs, False, choice, parallel, None, chat=True)


def _unique(specs: list[ToolSpec]) -> None:
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            raise _bad(f"Two tools are named '{spec.name}'.", spec.param.rsplit(".", 1)[0])
        seen.add(spec.name)
