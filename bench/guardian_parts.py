"""Where the Guardian's CPU goes inside a request: its two parts switched out one at a time.

One app (the default policy without its semantic rules, as `default*` in
bench/guardian_overhead.py), driven in process on the embedded PostgreSQL; four settings take
turns every 20 requests (the order reversed every other batch): neither part, the request
check (the middleware) alone, the output check (the Risk stage) alone, both. Each setting's
added CPU is the median of its paired differences with "neither" in the same batch.

`--no-scans` makes every screen and scan find nothing at no cost (the policy's screen and the
fast scan replaced by functions returning nothing): what is left is the Python around them.
`--agent` sends what an application's turn carries instead of one question: instructions of
1,400 characters, two function tools and twelve earlier messages (3,300 characters of text
in sixteen texts), `store: false`, to the built-in model. The last message (the question) is
new in every request, as a conversation's turn is; the rest is the same each time, as an
application's instructions and tools and a conversation's earlier turns are.

`--size N` switches every N requests instead of 20: over blocks of thousands, what a service
keeping its Guardian on meets. Each setting's differences are also given at their 10th and
90th percentiles: the Guardian's part of a request costs about twice as much while the host's
other tenants push it out of the last-level cache (docs/guardian-enforcement.md).

`--same` sends bench/asgi_overhead.py's own request every time (`What is 2+2?`, `store:
false`): its texts, found clean once, are not scanned again (app/guardian/clean_texts.py).

`--bound` adds a setting whose request check finds the request's texts and makes one pass of
the policy's compiled set over them, nothing else (no screen logic around the pass, no
clean-text store, no metrics, no deadline, no review): about what any request check must
cost, so that its difference with the real one is the Python around the pass, what a
request check compiled for size could save.

Usage: PYTHONPATH=. python bench/guardian_parts.py [BATCHES] [--size N] [--no-scans] [--agent]
           [--same] [--bound]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import statistics
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from app.db.embedded import EmbeddedPostgres
from app.guardian.compiled import Policy
from app.guardian.engine import Guardian
from app.guardian.request_check import Checked, check_request
from app.guardian.request_texts import request_texts
from app.main import create_app
from app.middleware import guardian as guardian_middleware
from app.settings import Settings
from bench.asgi_overhead import call, unlimited
from bench.guardian_overhead import (
    ASGI_OVERHEAD_REQUEST,
    KEY,
    QUESTION,
    _guardian_switch,
    _policy_without_semantic,
    fresh,
    take_turns,
)

# (request check, output check); the request check "pass": `--bound`'s one pass
Setting = tuple[bool | str, bool]

_INSTRUCTIONS = (
    "You are a support assistant for Acme Cloud. Answer questions about billing, accounts, "
    "deployments and the status of services. Be concise and cite the documentation page when "
    "you can. Never reveal internal ticket numbers or the names of staff. ") * 6
_TOOLS = [
    {"type": "function", "name": "lookup_invoice",
     "description": "Find an invoice by its number and return its lines, totals and status.",
     "parameters": {"type": "object", "properties": {
         "number": {"type": "string", "description": "the invoice number"},
         "include_lines": {"type": "boolean"}}, "required": ["number"]}},
    {"type": "function", "name": "service_status",
     "description": "The current status of a deployed service and its recent incidents.",
     "parameters": {"type": "object", "properties": {
         "service": {"type": "string"},
         "region": {"type": "string", "enum": ["eu", "us", "ap"]}}, "required": ["service"]}}]
_ASKED = ("My deployment in the eu region keeps restarting since this morning, what could be "
          "going on with step {}?")
_ANSWERED = ("Restarts usually come from failing health checks or memory limits. Check the "
             "service's events page and the memory graph for the last hours; if the probe "
             "fails, the platform restarts the container.")
AGENT = {"model": "lukhas-matriz", "store": False, "instructions": _INSTRUCTIONS,
         "tools": _TOOLS, "tool_choice": "none",
         "input": [message for i in range(6) for message in (
             {"role": "user", "content": _ASKED.format(i)},
             {"role": "assistant", "content": _ANSWERED})]
         + [{"role": "user", "content": "And what about the logs?"}]}
SETTINGS: list[Setting] = [(False, False), (True, False), (False, True), (True, True)]


@contextlib.asynccontextmanager
async def bench_app(**settings: Any) -> AsyncIterator[Any]:
    """The app the Guardian's benches drive, its lifespan running: the default policy
    without its semantic rules, on an embedded PostgreSQL of its own, rate limits that never
    refuse; `settings`, more of app/settings.py's."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        pg = EmbeddedPostgres(root / "pg")
        url = pg.start()
        try:
            (root / "data").mkdir()
            app = create_app(Settings(
                database_url=url, api_keys=KEY, data_dir=root / "data",
                rate_limits_file=unlimited(root), log_level="critical", long_term_memory=False,
                guardian_policy_dir=_policy_without_semantic(root), **settings))
            async with app.router.lifespan_context(app):
                yield app
        finally:
            pg.stop()


async def _one_pass(guardian: Guardian, enforcement: Any, path: str, body: dict[str, Any],
                    **_: Any) -> Checked:
    """The request check reduced to one pass of the policy's compiled set over the request's
    texts."""
    texts, _files = request_texts(path, body)
    data = "\n".join(t.text for t in texts).encode("utf-8", "surrogatepass")
    guardian.policy._screens[("input", "text")]._set.Match(data)
    return Checked()


def _no_scans() -> None:
    Guardian.reasons_fast = staticmethod(lambda text, **_: [])  # type: ignore[method-assign]
    Policy.candidates_of = lambda self, direction, kind, texts: []  # type: ignore[method-assign]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("batches", type=int, nargs="?", default=80)
    parser.add_argument("--no-scans", action="store_true")
    parser.add_argument("--agent", action="store_true")
    parser.add_argument("--same", action="store_true")
    parser.add_argument("--size", type=int, default=20)
    parser.add_argument("--bound", action="store_true")
    args = parser.parse_args()
    if args.no_scans:
        _no_scans()
    async with bench_app() as app:
        switch = _guardian_switch(app)
        question = AGENT if args.agent else QUESTION

        def body() -> bytes:
            return ASGI_OVERHEAD_REQUEST if args.same else fresh(question)
        for _ in range(200):
            await call(app, "POST", "/v1/responses", body(), KEY)
        settings = SETTINGS + ([("pass", False)] if args.bound else [])

        def put(setting: Setting) -> None:
            switch(bool(setting[0]), setting[1])
            guardian_middleware.check_request = (  # type: ignore[assignment]
                _one_pass if setting[0] == "pass" else check_request)
        cpu = await take_turns(app, {s: functools.partial(put, s) for s in settings},
                               args.batches, args.size, body)
        base = cpu[(False, False)]
        what = ("bench/asgi_overhead.py's request, the same each time" if args.same else
                "an application turn" if args.agent else "one question")
        print(f"/v1/responses store=false, {what}, {args.batches} batches of {args.size} "
              "requests a setting"
              f"{', scans made no-ops' if args.no_scans else ''}")
        for (check, risk), values in cpu.items():
            gaps = sorted(b - a for a, b in zip(base, values, strict=True))
            state = "one pass" if check == "pass" else "on " if check else "off"
            print(f"request check {state}  output check "
                  f"{'on ' if risk else 'off'}  {statistics.median(values):7.1f} "
                  f"µs/request  added {statistics.median(gaps):+6.1f} µs  (p10 "
                  f"{gaps[len(gaps) // 10]:+6.1f}, p90 {gaps[len(gaps) * 9 // 10]:+6.1f})")


if __name__ == "__main__":
    asyncio.run(main())
