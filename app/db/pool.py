"""The asyncpg pool, behind `Database`: pgvector's codec is registered on each new
connection, and a database that cannot be reached surfaces as one typed 503.

`Database.acquire()` is the one place that maps "the database is down" (connection refused
or lost, the server shutting down or starting up, no connection slots) to
`DatabaseUnavailable`, with the embedded server and an external one alike; any other
database error stays what it is.

Releasing a connection costs no round trip: asyncpg's default reset sends
`SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` on every release, which
under load put one more wait on the event loop behind every query (an index search made four
round trips instead of two). Nothing here leaves session state on a pooled connection: settings
are `SET LOCAL` (they end with their transaction), advisory locks are `pg_advisory_xact_lock`,
there are no `LISTEN`s or held cursors (migrations take their session lock on a connection of
their own). asyncpg still rolls back a transaction left open and drops listeners on release.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

import asyncpg
import orjson
from asyncpg import exceptions as pg_errors

from app.errors import ServiceUnavailable

log = logging.getLogger("lukhas.db")

# What a database that is down (or restarting) raises: never the caller's fault, always
# worth a retry. OSError covers a refused TCP connection and a missing Unix socket.
DATABASE_DOWN: tuple[type[BaseException], ...] = (
    pg_errors.PostgresConnectionError, pg_errors.CannotConnectNowError,
    pg_errors.AdminShutdownError, pg_errors.CrashShutdownError,
    pg_errors.TooManyConnectionsError, OSError,
    # A connection whose server vanished mid-operation is left in a state that refuses the
    # next operation; it is terminated on release, and the pool opens a fresh one.
    pg_errors.InternalClientError,
)
# And to acquire: no connection freed up in time.
_ACQUIRE_DOWN: tuple[type[BaseException], ...] = (*DATABASE_DOWN, TimeoutError)


ACQUIRE_TIMEOUT_S = 10.0


class DatabaseUnavailable(ServiceUnavailable):
    """503: the database cannot be reached right now; the client should retry."""

    def __init__(self) -> None:
        super().__init__("The database is unavailable right now; retry shortly.",
                         code="database_unavailable",
                         headers={"x-should-retry": "true", "retry-after": "1"})


def _unavailable(cause: BaseException | None) -> DatabaseUnavailable:
    log.warning("database unavailable", extra={"error": f"{type(cause).__name__}: {cause}"})
    return DatabaseUnavailable()


def database_down(exc: BaseException) -> bool:
    """True if `exc` means the database cannot be reached (as opposed to a bad query)."""
    return isinstance(exc, DATABASE_DOWN)


class _Acquire:
    """`async with database.acquire() as conn`, turning "database down" into a 503."""

    __slots__ = ("_ctx",)

    def __init__(self, pool: Any) -> None:
        self._ctx = pool.acquire(timeout=ACQUIRE_TIMEOUT_S)

    async def __aenter__(self) -> Any:
        try:
            return await self._ctx.__aenter__()
        except _ACQUIRE_DOWN as exc:
            raise _unavailable(exc) from exc

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        body_down = exc is not None and database_down(exc)
        try:
            # Releasing resets the connection; on a lost one that fails too (asyncpg then
            # terminates it, and the pool opens a new one on a later acquire).
            await self._ctx.__aexit__(exc_type, exc, tb)
        except Exception as release_failed:
            if body_down:
                raise _unavailable(exc) from exc
            if database_down(release_failed):
                raise _unavailable(release_failed) from release_failed
            raise
        if body_down:
            raise _unavailable(exc) from exc


class Database:
    """The pool the services use: `acquire()` and `close()`."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self.closed = False  # closed for good: at shutdown, never by a database outage

    def acquire(self) -> _Acquire:
        """A pooled connection for an `async with` block."""
        return _Acquire(self._pool)

    async def close(self) -> None:
        """Close every connection."""
        self.closed = True
        await self._pool.close()


class _Connection(asyncpg.Connection):  # type: ignore[misc]
    """A pooled connection whose release sends nothing (see the module's docstring)."""

    def get_reset_query(self) -> str:
        return ""


async def _init_connection(conn: Any) -> None:
    # Binary jsonb (a version byte, then the JSON text), so COPY can carry it too.
    await conn.set_type_codec(
        "jsonb", encoder=lambda v: b"\x01" + orjson.dumps(v),
        decoder=lambda b: orjson.loads(b[1:]), schema="pg_catalog", format="binary",
    )
    try:
        from pgvector.asyncpg import register_vector

        await register_vector(conn)
    except ValueError:
        # The extension is created by the first migration; a pool opened before it has none.
        pass


async def open_pool(url: str, *, min_size: int, max_size: int) -> Database:
    """Open a pool on `url` with our codecs."""
    pool = await asyncpg.create_pool(
        url, min_size=min_size, max_size=max_size, init=_init_connection,
        connection_class=_Connection,
        command_timeout=30, timeout=5,  # timeout: to connect, so a dead server fails fast
    )
    return Database(pool)
