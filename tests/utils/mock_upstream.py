"""A mock OpenAI-compatible upstream LLM server (chat completions, Responses, models, embeddings)
that tests start on a free port and script to misbehave.

In tests: the `mock_upstream` fixture (one shared server, reset before each test) or
`mock_upstream_factory(*, process=False, **config)` (new servers, stopped after the test);
elsewhere `with running_mock_upstream(api_key="k") as upstream:`. Standalone, for benches:

    python -m tests.utils.mock_upstream --port 8100 [--model m ...] [--api-key K] [--no-record]

By default it answers "Echo: <last user text>" ("Tool result: <output>" after a tool message).

Control API (no key needed), also as `MockUpstream` methods:
    POST   /__control/behaviours  a behaviour object or a list of them (`behave`, `script`)
    DELETE /__control/behaviours  drop queued behaviours
    POST   /__control/config      models, api_key, log_size, embedding_dims, record (`configure`)
    POST   /__control/reset       start-up config; no behaviours, counters, log (`reset`)
    GET    /__control             config and queued behaviours (`control`)
    GET    /__requests            {"counts": {path: n}, "requests": [{method, path, query,
                                  headers, body, time}]} (`requests`, `last`, `counts`)
    DELETE /__requests            clear counters and log
Per request, the `x-mock-behaviour` header: `rate_limit; retry_after=0.5` or a JSON object.

A behaviour: {"behaviour": name, "times": 1 (null: until reset), "paths": [...],
"models": [...], ...fields}. Names and what they preset:
    rate_limit (429, retry_after=1)   server_error (500)   bad_gateway (502)
    unavailable (503)   bad_request (400)   error (status=...)
    hang (seconds=null: for ever)   delay (first_byte_delay_ms=200)   slow (chunk_delay_ms=50)
    die (die_after_chunks=2, die_mode=abort|eof|error)   refuse (refusal=...)
    content_filter   reply (reply=..., tool_calls=[{name, arguments}])
Any field combines with any name: status, message, type, code, param, retry_after (sends
`retry-after` and `retry-after-ms`), should_retry (`x-should-retry`), headers, cached_tokens.
See `tests/utils/upstream/state.py`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.utils.server import free_port
from tests.utils.upstream.app import MockUpstreamApp
from tests.utils.upstream.runner import (
    MockUpstream,
    ProcessMockUpstream,
    ThreadedMockUpstream,
    UpstreamServer,
    uvicorn_config,
)
from tests.utils.upstream.state import DEFAULT_MODELS, Config

__all__ = ["DEFAULT_MODELS", "Config", "MockUpstream", "MockUpstreamFactory",
           "ProcessMockUpstream", "ThreadedMockUpstream", "running_mock_upstream"]


@contextmanager
def running_mock_upstream(**config: Any) -> Iterator[ThreadedMockUpstream]:
    """A mock upstream in a background thread for the duration of the block."""
    upstream = ThreadedMockUpstream(Config().updated(config)).start()
    try:
        yield upstream
    finally:
        upstream.stop()


def _cli_args(config: Config) -> list[str]:
    args = [a for m in config.models for a in ("--model", m)]
    if config.api_key is not None:
        args += ["--api-key", config.api_key]
    args += ["--embedding-dims", str(config.embedding_dims), "--log-size", str(config.log_size)]
    return args if config.record else [*args, "--no-record"]


class MockUpstreamFactory:
    """Starts mock upstreams on demand (threads, or processes with `process=True`); `close()`
    stops them all."""

    def __init__(self, log_dir: Path | None = None) -> None:
        self._running: list[ThreadedMockUpstream | ProcessMockUpstream] = []
        self._log_dir = log_dir

    def start(self, *, process: bool = False, **config: Any) -> MockUpstream:
        settings = Config().updated(config)
        upstream: ThreadedMockUpstream | ProcessMockUpstream
        if process:
            port = free_port()
            log = self._log_dir / f"mock-upstream-{port}.log" if self._log_dir else None
            upstream = ProcessMockUpstream(port, _cli_args(settings), log).wait_ready()
        else:
            upstream = ThreadedMockUpstream(settings).start()
        self._running.append(upstream)
        return upstream

    def close(self) -> None:
        while self._running:
            self._running.pop().stop()

    def __enter__(self) -> Callable[..., MockUpstream]:
        return self.start

    def __exit__(self, *exc: object) -> None:
        self.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.utils.mock_upstream",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--model", action="append", dest="models",
                        help=f"a model id (repeatable; default {', '.join(DEFAULT_MODELS)})")
    parser.add_argument("--api-key", help="require `Authorization: Bearer <key>`")
    parser.add_argument("--embedding-dims", type=int, default=32)
    parser.add_argument("--log-size", type=int, default=200)
    parser.add_argument("--no-record", action="store_true",
                        help="keep counters only, not request bodies and headers")
    args = parser.parse_args(argv)
    app = MockUpstreamApp(Config(models=tuple(args.models or DEFAULT_MODELS),
                                 api_key=args.api_key, log_size=args.log_size,
                                 embedding_dims=args.embedding_dims, record=not args.no_record))
    config = uvicorn_config(app, host=args.host, port=args.port, loop="uvloop", backlog=4096)
    UpstreamServer(config, app).run()


if __name__ == "__main__":
    main()
