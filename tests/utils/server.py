"""Run the service as a real process on a free port, for SDK and HTTP tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServerProcess:
    """A `lukhas serve` (or uvicorn) child process; `stop()` sends SIGTERM."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str], port: int, log: Path) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.log_path = log
        self._log = log.open("ab")
        # The test says the whole LUKHAS_ configuration; nothing leaks in from outside.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("LUKHAS_")}
        full_env = {**inherited, **env}
        self.proc = subprocess.Popen(
            list(args), cwd=ROOT, env=full_env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not ready in {timeout}s:\n{self.log_path.read_text()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_uvicorn(env: Mapping[str, str], log: Path) -> ServerProcess:
    """The app factory under uvicorn, one worker."""
    port = free_port()
    args = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    server = ServerProcess(args, env, port, log)
    server.wait_ready()
    return server


def start_lukhas_serve(env: Mapping[str, str], log: Path, *extra: str) -> ServerProcess:
    """The `lukhas serve` command, as a user runs it."""
    port = free_port()
    args = [sys.executable, "-m", "app.cli", "serve", "--port", str(port), *extra]
    server = ServerProcess(args, env, port, log)
    server.wait_ready()
    return server


def generous_limits(directory: Path) -> Path:
    """A rate-limits file no load test reaches, for tests that measure something else."""
    path = directory / "generous-limits.yaml"
    path.write_text("window_seconds: 60\ndefault: {requests: 1000000, tokens: 1000000000}\n")
    return path
