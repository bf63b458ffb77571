"""The evaluation harness: JSONL cases (evals/cases/<suite>.jsonl) driven through the OpenAI
Python SDK against a live service, with JSON, Markdown and JUnit reports.

    python -m evals.run --base-url http://127.0.0.1:8000/v1 --key KEY [--out build/evals]
                        [--suite arithmetic ...]

`make evals` starts the service on its embedded defaults and runs every suite. Each case runs
as a caller of its own (a ΛiD token minted with the admin key), so long-term memory never
leaks from one case into another. A case is a list of steps (requests) and what the last
answer must satisfy:

    {"id": ..., "api": "responses" | "chat" | "embeddings" | "models" | "moderations"
                       | "input_items" | "dreams",
     "steps": [{"input": ..., "chain": true, "stream": true, "store": false, "model": ...,
                "tools": [...], "tool_choice": ..., "parallel_tool_calls": false,
                "max_tool_calls": 1, "text": {"format": ...}, "response_format": ...,
                "tool_output": "...", "dream": {...}, "api": ..., "caller": ...}],
     "expect": {"contains": [...], "contains_any": [...], "not_contains": [...],
                "fields": {...}, "usage": true, "events": [...],
                "calls": [{"name": ..., "arguments": {...}}], "json": {...},
                "error": {"status": 404, "code": ..., "param": ...}}}

A step's `api` overrides the case's (memories told through `responses`, then a dream), and
its `caller` names another caller, a subject of its own (who must not see the first one's
dream). A step's `tool_output` answers every function call of the step before it (chained
with `previous_response_id`); `calls` are the function calls of the last answer, `json` its
text parsed as JSON. A `fields` key `a.b` is field `b` inside field `a`
(`incomplete_details.reason`, `summary.memories`).

What an answer's text and fields are, per API: a response's output text (of a stream, the
text deltas as sent, which must be the final response's text) with its `id`, `status`,
`incomplete_details` ...; a refused request's error message; `moderations` the flagged
categories of the first result, and `flagged`; `input_items` the text of the input the
previous response stored; `dreams` queues the step's `dream` (or, without one, reads the
previous step's dream again), waits for it to end and reads its trace: its summary's notes and
scenarios as text, the trace's event types as events, and the dream object as fields.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import openai
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseFailedEvent,
    ResponseFunctionToolCall,
    ResponseIncompleteEvent,
)

CASES = Path(__file__).resolve().parent / "cases"
MODEL = "lukhas-matriz"
DREAM_ENDED = ("completed", "failed", "cancelled", "incomplete")
DREAM_WAIT_S = 30.0


@dataclass
class Result:
    suite: str
    id: str
    passed: bool
    seconds: float
    failures: list[str] = field(default_factory=list)
    answer: str = ""


@dataclass
class Answer:
    text: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)
    usage: bool = False
    error: dict[str, Any] | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)  # {"call_id", "name", "arguments"}
    streamed: str | None = None  # a stream's text deltas, as sent


_PASSED = ("tools", "tool_choice", "parallel_tool_calls", "max_tool_calls", "text",
           "response_format")
_ENDED = (ResponseCompletedEvent, ResponseIncompleteEvent, ResponseFailedEvent)


def load(suites: list[str] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Every suite's cases, by suite name."""
    out = {}
    for path in sorted(CASES.glob("*.jsonl")):
        if suites and path.stem not in suites:
            continue
        out[path.stem] = [json.loads(line) for line in path.read_text().splitlines()
                          if line.strip()]
    return out


def _caller(base_url: str, admin_key: str, waited: float = 0.0) -> str:
    """A fresh caller: a token for a subject of its own. A 429 (the administrator's key is
    rate limited like any other) is retried after its `retry-after`, as OpenAI's clients do,
    for at most two minutes in all."""
    token = httpx.post(f"{base_url}/identity/tokens", timeout=30,
                       headers={"Authorization": f"Bearer {admin_key}"},
                       json={"realm": "LUKHAS", "zone": "eu", "tier": "T2",
                             "ttl_seconds": 3600})
    if token.status_code == 429 and waited < 120:
        pause = min(float(token.headers.get("retry-after") or 1), 30.0)
        time.sleep(pause)
        return _caller(base_url, admin_key, waited + pause)
    token.raise_for_status()
    value: str = token.json()["token"]
    return value


def _responses(client: openai.OpenAI, step: dict[str, Any], prior: Answer) -> Answer:
    params: dict[str, Any] = {"model": step.get("model", MODEL)}
    previous = prior.fields.get("id")
    if "tool_output" in step:  # the outputs of the calls just made, alone, chained
        params["input"] = [{"type": "function_call_output", "call_id": c["call_id"],
                            "output": step["tool_output"]} for c in prior.calls]
        params["previous_response_id"] = previous
    else:
        params["input"] = step["input"]
    params.update({k: step[k] for k in _PASSED if k in step and k != "response_format"})
    if step.get("chain") and previous:
        params["previous_response_id"] = previous
    if "store" in step:
        params["store"] = step["store"]
    if step.get("stream"):
        answer, deltas = Answer(), []
        final: Response | None = None
        with client.responses.stream(**params) as stream:
            for event in stream:  # the terminal event's response, `incomplete` ones too
                answer.events.append(event.type)
                if event.type == "response.output_text.delta":
                    deltas.append(event.delta)
                elif isinstance(event, _ENDED):
                    final = event.response
        answer.streamed = "".join(deltas)
        if final is None:
            return Answer(error={"message": "the stream ended without a terminal event"})
    else:
        answer, final = Answer(), client.responses.create(**params)
    answer.text = final.output_text
    answer.calls = [{"call_id": i.call_id, "name": i.name, "arguments": i.arguments}
                    for i in final.output if isinstance(i, ResponseFunctionToolCall)]
    details = final.incomplete_details
    answer.fields = {"id": final.id, "object": final.object, "status": final.status,
                     "model": final.model,
                     "incomplete_details": None if details is None else details.model_dump()}
    answer.usage = final.usage is not None and final.usage.total_tokens > 0
    return answer


def _input_items(client: openai.OpenAI, prior: Answer) -> Answer:
    """The text of what the previous response stored as its input."""
    texts = []
    for item in client.responses.input_items.list(prior.fields["id"], order="asc"):
        if item.type == "function_call_output":
            texts.append(str(item.output))
        elif item.type == "message":
            texts += [getattr(part, "text", "") for part in item.content]
    return Answer(text="\n".join(texts))


def _moderations(client: openai.OpenAI, step: dict[str, Any]) -> Answer:
    model = {"model": step["model"]} if "model" in step else {}  # the policy's name if absent
    done = client.moderations.create(input=step["input"], **model)
    result = done.results[0]
    flagged = [name for name, on in result.categories.model_dump(by_alias=True).items() if on]
    return Answer(text=" ".join(flagged), fields={"model": done.model,
                                                  "flagged": result.flagged})


def _dream(client: openai.OpenAI, step: dict[str, Any], prior: Answer) -> Answer:
    """Queue the step's dream (or read the previous one), wait for its end, read its trace."""
    if "dream" in step:
        created: dict[str, Any] = client.post("/dreams", cast_to=object,  # type: ignore[arg-type]
                                              body=step["dream"])
        path = f"/dreams/{created['id']}"
    else:
        path = f"/dreams/{prior.fields['id']}"
    deadline = time.monotonic() + DREAM_WAIT_S
    while True:
        dream: dict[str, Any] = client.get(path, cast_to=object)  # type: ignore[arg-type]
        if dream["status"] in DREAM_ENDED or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    trace = client.get(path, cast_to=object, stream=True,
                       stream_cls=openai.Stream[object], options={"params": {"stream": "true"}})
    events = [event["type"] for event in trace]  # type: ignore[index]
    notes = (dream["summary"] or {}).get("notes", [])
    return Answer(text="\n".join(notes + [s["text"] for s in dream["scenarios"]]),
                  fields=dream, events=events)


def _chat(client: openai.OpenAI, step: dict[str, Any]) -> Answer:
    messages = step.get("messages") or [{"role": "user", "content": step["input"]}]
    done = client.chat.completions.create(model=step.get("model", MODEL), messages=messages,
                                          **{k: step[k] for k in _PASSED if k in step
                                             and k not in ("text", "max_tool_calls")})
    message = done.choices[0].message
    calls = [{"call_id": c.id, "name": c.function.name, "arguments": c.function.arguments}
             for c in message.tool_calls or () if c.type == "function"]
    return Answer(text=message.content or "", calls=calls,
                  fields={"object": done.object, "finish_reason": done.choices[0].finish_reason},
                  usage=done.usage is not None and done.usage.total_tokens > 0)


def _step(client: openai.OpenAI, api: str, step: dict[str, Any], prior: Answer) -> Answer:
    try:
        if api == "chat":
            return _chat(client, step)
        if api == "embeddings":
            vectors = client.embeddings.create(model=step.get("model", "lukhas-hash-v1"),
                                               input=step["input"])
            return Answer(fields={"dimensions": len(vectors.data[0].embedding)},
                          usage=vectors.usage.total_tokens > 0)
        if api == "models":
            return Answer(text=" ".join(m.id for m in client.models.list()))
        if api == "moderations":
            return _moderations(client, step)
        if api == "input_items":
            return _input_items(client, prior)
        if api == "dreams":
            return _dream(client, step, prior)
        return _responses(client, step, prior)
    except openai.APIStatusError as error:
        body = error.body if isinstance(error.body, dict) else {}
        return Answer(text=str(body.get("message", "")),
                      error={"status": error.status_code, **body})


def _field(fields: dict[str, Any], key: str) -> Any:
    """The answer's field `key`; `a.b` is field `b` inside field `a`."""
    value: Any = fields
    for name in key.split("."):
        value = value.get(name) if isinstance(value, dict) else None
    return value


def _in_order(wanted: list[str], seen: list[str]) -> bool:
    """`wanted` is a subsequence of `seen`."""
    rest = iter(seen)
    return all(any(event == w for event in rest) for w in wanted)


def check(expect: dict[str, Any], answer: Answer) -> list[str]:
    """What the answer fails of the case's expectations."""
    failures = []
    text = answer.text.lower()
    if answer.error is not None and "error" not in expect:
        return [f"error {answer.error}"]
    if answer.streamed is not None and answer.streamed != answer.text:
        failures.append(f"streamed {answer.streamed!r}, but the response says {answer.text!r}")
    for word in expect.get("contains", []):
        if word.lower() not in text:
            failures.append(f"does not contain {word!r}")
    if expect.get("contains_any") and not any(w.lower() in text
                                              for w in expect["contains_any"]):
        failures.append(f"contains none of {expect['contains_any']}")
    for word in expect.get("not_contains", []):
        if word.lower() in text:
            failures.append(f"contains {word!r}")
    for key, value in expect.get("fields", {}).items():
        if _field(answer.fields, key) != value:
            failures.append(f"{key} is {_field(answer.fields, key)!r}, not {value!r}")
    if expect.get("usage") and not answer.usage:
        failures.append("no usage")
    if "calls" in expect:
        made = [{"name": c["name"], "arguments": json.loads(c["arguments"])}
                for c in answer.calls]
        if made != expect["calls"]:
            failures.append(f"calls are {made!r}, not {expect['calls']!r}")
    if "json" in expect:
        try:
            document = json.loads(answer.text)
        except ValueError:
            document = None
        if document != expect["json"]:
            failures.append(f"JSON is {document!r}, not {expect['json']!r}")
    events = expect.get("events")
    if events and not _in_order(events, answer.events):
        failures.append(f"events {events} not all seen in that order")
    if "error" in expect:
        got = answer.error or {}
        for key, value in expect["error"].items():
            actual = got.get("status") if key == "status" else got.get(key)
            if actual != value:
                failures.append(f"error {key} is {actual!r}, not {value!r}")
    return failures


def run_case(base_url: str, admin_key: str, suite: str, case: dict[str, Any]) -> Result:
    started = time.perf_counter()
    clients: dict[str, openai.OpenAI] = {}  # by caller: the case's own is ""

    def client(name: str) -> openai.OpenAI:
        if name not in clients:
            clients[name] = openai.OpenAI(base_url=base_url, max_retries=2,
                                          api_key=_caller(base_url, admin_key))
        return clients[name]

    try:
        answer = _run_steps(case, client)
    finally:
        for each in clients.values():
            each.close()
    failures = check(case["expect"], answer)
    return Result(suite, case["id"], not failures, time.perf_counter() - started, failures,
                  answer.text[:500])


def _run_steps(case: dict[str, Any], client: Callable[[str], openai.OpenAI]) -> Answer:
    """The case's steps, each as its caller; the last answer."""
    answer = Answer()
    for step in case["steps"]:
        prior = answer
        api = step.get("api", case.get("api", "responses"))
        answer = _step(client(step.get("caller", "")), api, step, prior)
        if "id" not in answer.fields and "id" in prior.fields:
            answer.fields["id"] = prior.fields["id"]
    return answer


def report(results: list[Result], out: Path) -> dict[str, Any]:
    """Write results.json, results.md and junit.xml; the per-suite scores."""
    out.mkdir(parents=True, exist_ok=True)
    suites: dict[str, list[Result]] = {}
    for r in results:
        suites.setdefault(r.suite, []).append(r)
    scores = {name: {"cases": len(rs), "passed": sum(r.passed for r in rs),
                     "score": sum(r.passed for r in rs) / len(rs)} for name, rs in suites.items()}
    (out / "results.json").write_text(json.dumps(
        {"scores": scores, "results": [asdict(r) for r in results]}, indent=1) + "\n")
    lines = ["# Evaluation results", "", "| Suite | Cases | Passed | Score |", "|---|---|---|---|"]
    lines += [f"| {n} | {s['cases']} | {s['passed']} | {s['score']:.0%} |"
              for n, s in scores.items()]
    failed = [r for r in results if not r.passed]
    if failed:
        lines += ["", "## Failures", ""]
        lines += [f"- `{r.suite}/{r.id}`: {'; '.join(r.failures)}" for r in failed]
    (out / "results.md").write_text("\n".join(lines) + "\n")
    root = ElementTree.Element("testsuites", name="lukhas-evals")
    for name, rs in suites.items():
        node = ElementTree.SubElement(root, "testsuite", name=name, tests=str(len(rs)),
                                      failures=str(sum(not r.passed for r in rs)),
                                      time=f"{sum(r.seconds for r in rs):.3f}")
        for r in rs:
            case = ElementTree.SubElement(node, "testcase", classname=f"evals.{name}",
                                          name=r.id, time=f"{r.seconds:.3f}")
            if not r.passed:
                ElementTree.SubElement(case, "failure", message="; ".join(r.failures)).text = \
                    r.answer
    ElementTree.ElementTree(root).write(out / "junit.xml", encoding="utf-8",
                                        xml_declaration=True)
    return scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--base-url", default=os.environ.get("LUKHAS_BASE_URL"),
                        help="…/v1 (default: $LUKHAS_BASE_URL)")
    parser.add_argument("--key", default=os.environ.get("LUKHAS_API_KEY"),
                        help="an API key with the admin scope (default: $LUKHAS_API_KEY)")
    parser.add_argument("--out", type=Path, default=Path("build/evals"))
    parser.add_argument("--suite", action="append")
    args = parser.parse_args(argv)
    if not args.base_url or not args.key:
        parser.error("--base-url and --key (or LUKHAS_BASE_URL and LUKHAS_API_KEY) are needed")
    results = [run_case(args.base_url, args.key, suite, case)
               for suite, cases in load(args.suite).items() for case in cases]
    scores = report(results, args.out)
    for name, s in scores.items():
        print(f"{name:<14} {s['passed']:>3}/{s['cases']:<3} {s['score']:.0%}")
    print(f"reports in {args.out}/ (results.json, results.md, junit.xml)")
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
