"""Running a mock upstream (uvicorn in a thread with its own event loop, or a child process) and
driving its control API over HTTP, the same way for both."""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import uvloop

from tests.utils.upstream.app import MockUpstreamApp
from tests.utils.upstream.state import Config
from tests.utils.upstream.wire import Abort

ROOT = Path(__file__).resolve().parents[3]


class _DropAborts(logging.Filter):
    """Scripted connection drops are not errors worth a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], Abort))


def quiet_aborts() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DropAborts) for f in logger.filters):
        logger.addFilter(_DropAborts())


class UpstreamServer(uvicorn.Server):
    """uvicorn, waking requests that hang before it waits for connections to finish."""

    def __init__(self, config: uvicorn.Config, app: MockUpstreamApp) -> None:
        super().__init__(config)
        self.mock = app

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.mock.state.closing.set()
        await super().shutdown(sockets)


def uvicorn_config(app: MockUpstreamApp, **kwargs: Any) -> uvicorn.Config:
    config = uvicorn.Config(app, http="httptools", lifespan="on", access_log=False,
                            log_level="warning", timeout_graceful_shutdown=2, **kwargs)
    quiet_aborts()
    return config


class MockUpstream:
    """A running mock upstream: `url` for an OpenAI client, and its control API as methods."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.url = f"{base_url}/v1"
        self._http = httpx.Client(base_url=base_url, timeout=10)

    def behave(self, behaviour: str = "reply", **fields: Any) -> None:
        """Queue one behaviour (see `state.PRESETS`), e.g. `behave("rate_limit", times=2)`."""
        self.script({"behaviour": behaviour, **fields})

    def script(self, *rules: dict[str, Any]) -> None:
        self._post("/__control/behaviours", list(rules))

    def configure(self, **config: Any) -> None:
        """Change `models`, `api_key`, `log_size`, `embedding_dims` or `record` while running."""
        self._post("/__control/config", config)

    def reset(self) -> None:
        """Start-up configuration again; no behaviours, counters or logged requests."""
        self._post("/__control/reset", None)

    def control(self) -> dict[str, Any]:
        """The current configuration and queued behaviours."""
        snapshot: dict[str, Any] = self._get("/__control")
        return snapshot

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        """The logged requests (method, path, query, headers, body, time), oldest first."""
        logged: list[dict[str, Any]] = self._get("/__requests")["requests"]
        return [r for r in logged if path is None or r["path"] == path]

    def last(self, path: str = "/v1/chat/completions") -> dict[str, Any]:
        return self.requests(path)[-1]

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = self._get("/__requests")["counts"]
        return counts

    def _get(self, path: str) -> Any:
        response = self._http.get(path)
        response.raise_for_status()
        return response.json()

    def _post(self, path: str, payload: Any) -> None:
        response = self._http.post(path, json=payload)
        if response.status_code != 200:
            raise ValueError(f"{path}: {response.text}")

    def close(self) -> None:
        self._http.close()


class ThreadedMockUpstream(MockUpstream):
    """uvicorn on a free port in a daemon thread with its own uvloop event loop."""

    def __init__(self, config: Config | None = None, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.app = MockUpstreamApp(config)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.port: int = self._sock.getsockname()[1]
        super().__init__(f"http://{host}:{self.port}")
        self._server = UpstreamServer(uvicorn_config(self.app, log_config=None), self.app)
        self._thread = threading.Thread(target=self._run, name=f"mock-upstream-{self.port}",
                                        daemon=True)

    def _run(self) -> None:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(self._server.serve(sockets=[self._sock]))

    def start(self, timeout: float = 10.0) -> ThreadedMockUpstream:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the mock upstream did not start")
            time.sleep(0.005)
        return self

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._sock.close()
        self.close()


class ProcessMockUpstream(MockUpstream):
    """`python -m tests.utils.mock_upstream` as a child process, for isolation or benches."""

    def __init__(self, port: int, args: list[str], log: Path | None = None) -> None:
        super().__init__(f"http://127.0.0.1:{port}")
        self.port = port
        self._log = log.open("ab") if log else subprocess.DEVNULL
        cmd = [sys.executable, "-m", "tests.utils.mock_upstream", "--port", str(port), *args]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 30.0) -> ProcessMockUpstream:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the mock upstream exited with {self.proc.returncode}")
            try:
                self.control()
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("the mock upstream did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not isinstance(self._log, int):
            self._log.close()
        self.close()
