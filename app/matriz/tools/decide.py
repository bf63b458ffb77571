"""The built-in model's use of tools: which calls a question makes, with what arguments,
and the answer once their outputs are given back.

`auto`: every tool whose score reaches the threshold, best first; `required`: those, or
else the closest one; a named function: that one. Without `parallel_tool_calls` one call,
and never more than `max_tool_calls`. A call is made only with arguments that validate
against the tool's schema; a required argument the question does not give is never
invented: under `auto` the answer says which one is missing, and when a call is required
the request is a 400 naming it (a required call cannot be answered with text).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from jsonschema.validators import validator_for

from app.core.turns import Turn
from app.errors import InvalidRequest
from app.matriz.nodes.types import Answer, Finding
from app.matriz.tools.plan import ToolPlan, ToolSpec
from app.matriz.tools.slots import fill
from app.matriz.toolturns import CALL, OUTPUT, fields


@dataclass(frozen=True, slots=True)
class Call:
    """A call the model makes: the tool and its arguments as JSON text."""

    tool: ToolSpec
    arguments: str


@dataclass(frozen=True, slots=True)
class Decision:
    """The calls to make, what to say instead when a matched tool cannot be called (None:
    answer the question as usual), and the reasoning-summary lines."""

    calls: tuple[Call, ...]
    answer: Answer | None
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Attempt:
    tool: ToolSpec
    arguments: dict[str, Any] | None
    missing: str | None  # the first required argument not found, as a dotted path
    reason: str  # why it is missing, for the user


def decide(plan: ToolPlan, question: str, scores: Sequence[float] | None,
           threshold: float) -> Decision:
    """The calls `question` makes under `plan` (`scores`: the tools' similarity to it)."""
    notes: list[str] = []
    if plan.forced is not None:
        chosen = [t for t in plan.tools if t.name == plan.forced]
        notes.append(f"tools: tool_choice names {plan.forced}, so it is called")
    else:
        ranked = sorted(zip(plan.tools, scores or [0.0] * len(plan.tools), strict=True),
                        key=lambda ts: -ts[1])
        chosen = [t for t, s in ranked if s >= threshold]
        # Each match, or when none, the closest tool: what decided, without a line a tool.
        for tool, score in ranked[: max(len(chosen), 1)]:
            verdict = "matches" if score >= threshold else "is the closest but does not match"
            notes.append(f"tools: {tool.name} {verdict} the question (similarity "
                         f"{score:.2f}, threshold {threshold:.2f})")
        if not chosen and plan.mode == "required":
            chosen = [ranked[0][0]]
            notes.append(f"tools: a call is required, so the closest tool, {chosen[0].name}")
    if not chosen:
        return Decision((), None, tuple(notes))
    limit = len(chosen) if plan.parallel else 1
    if plan.max_calls is not None:
        limit = min(limit, plan.max_calls)
    calls: list[Call] = []
    failed: list[_Attempt] = []
    for tool in chosen:
        if len(calls) == limit:
            notes.append(f"tools: {tool.name} also matches, but "
                         + ("parallel tool calls are off" if not plan.parallel
                            else f"max_tool_calls is {plan.max_calls}"))
            continue
        attempt = _attempt(tool, question, notes)
        if attempt.arguments is not None:
            calls.append(Call(tool, orjson.dumps(attempt.arguments).decode()))
        else:
            failed.append(attempt)
    if calls:
        return Decision(tuple(calls), None, tuple(notes))
    first = failed[0]
    assert first.missing is not None
    if plan.mode == "required":
        raise InvalidRequest(
            f"A call to {first.tool.name} is required, but {first.reason}, and the model does "
            "not invent arguments.", param=_property_param(first.tool.param, first.missing),
            code="tool_argument_not_found")
    text = (f"I would call {first.tool.name} for this, but {first.reason}. Tell me and I "
            "will call it.")
    notes.append(f"tools: no call: {first.reason}")
    return Decision((), Answer(text, tuple(notes), "tools", ()), tuple(notes))


def _property_param(schema_param: str, path: str) -> str:
    return schema_param + "".join(f".properties.{p}" for p in path.split("."))


def _attempt(tool: ToolSpec, question: str, notes: list[str]) -> _Attempt:
    """The tool's arguments from the question, checked against its schema."""
    filled = fill(tool.parameters, question)
    notes += [f"tools: {tool.name}: {n}" for n in filled.notes]
    if filled.missing:
        where = filled.missing[0]
        described = _description(tool.parameters, where)
        return _Attempt(tool, None, where, f"your message does not give its required "
                        f"argument '{where}'{described}")
    errors = sorted(validator_for(tool.parameters)(tool.parameters).iter_errors(
        filled.arguments), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        where = ".".join(str(p) for p in errors[0].absolute_path if isinstance(p, str)) or \
            next(iter(filled.arguments), "")
        return _Attempt(tool, None, where, f"the value found for '{where}' does not fit its "
                        f"schema ({errors[0].message})")
    notes.append(f"tools: {tool.name}: the arguments validate against its schema")
    return _Attempt(tool, filled.arguments, None, "")


def _description(schema: dict[str, Any], path: str) -> str:
    for name in path.split("."):
        found = (schema.get("properties") or {}).get(name)
        schema = found if isinstance(found, dict) else {}
    text = schema.get("description")
    return f" ({text.rstrip('.')})" if isinstance(text, str) and text else ""


# -- answering from outputs -----------------------------------------------------------


def pending_outputs(history: Sequence[Turn]) -> list[Turn]:
    """The function outputs given back since the user's last message (a continuation)."""
    outputs: list[Turn] = []
    for turn in reversed(history):
        if turn.role == OUTPUT:
            outputs.insert(0, turn)
        elif turn.role == "user":
            break
    return outputs


def asked(history: Sequence[Turn]) -> str:
    """The user's last message before the calls."""
    return next((t.text for t in reversed(history) if t.role == "user"), "")


def _output_text(output: Any) -> str:
    if isinstance(output, str):
        return output
    return "".join(str(p.get("text", "")) for p in output if isinstance(p, dict))


def from_outputs(outputs: Sequence[Turn], history: Sequence[Turn]) -> Answer:
    """The answer from the tools' outputs, each quoted verbatim, citing its call."""
    calls: dict[str, dict[str, Any]] = {}
    for turn in history:
        if turn.role == CALL:
            made = fields(turn)
            calls[made["call_id"]] = made
    said: list[str] = []
    notes: list[str] = []
    texts: list[str] = []
    for turn in outputs:
        result = fields(turn)
        text = _output_text(result["output"]).strip()
        texts.append(text)
        call: dict[str, Any] | None = calls.get(result["call_id"])
        name = call["name"] if call is not None else "the tool"
        arguments = f" with {call['arguments']}" if call is not None and \
            call["arguments"] not in ("", "{}") else ""
        said.append(f'{name}{arguments} returned: "{text}" [{result["call_id"]}]')
        notes.append(f"tools: the output of {name} (call {result['call_id']}) is given "
                     "back; I quote it as it is")
    question = asked(history)
    lead = f'For "{question}", ' if question else ""
    text = f"{lead}{'; '.join(said)}."
    first = fields(outputs[0])
    finding = Finding(value=texts[0] if len(texts) == 1 else "; ".join(texts),
                      rendered=texts[0] if len(texts) == 1 else "; ".join(texts),
                      expression="", topic=question, quote=texts[0],
                      source=str(first["call_id"]))
    return Answer(text, tuple(notes), "tools", tuple(str(fields(t)["call_id"])
                                                     for t in outputs), finding)
