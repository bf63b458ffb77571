"""`lukhas serve | migrate | token | routes | audit`: the service's command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.settings import Settings


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class _Stopped(Exception):
    """Raised by our SIGINT/SIGTERM handler once uvicorn has shut down."""


def _raise_stopped(signum: int, _frame: object) -> None:
    raise _Stopped(signum)


def transport_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's HTTP options: httptools with a header deadline and bounded header bytes
    (app/http_protocol.py, which reads the settings itself); bodies are bounded by the
    app's middleware. WebSockets (`/v1/responses`) run on the `websockets` library's sans-I/O
    protocol, a message bounded as a request body is (larger: closed with 1009), without
    per-message compression (events are small and frequent; SSE is not compressed either)."""
    from app.http_protocol import IMPORT_PATH

    return {"http": IMPORT_PATH, "timeout_keep_alive": settings.keep_alive_timeout_seconds,
            "ws": "websockets-sansio", "ws_max_size": settings.max_request_bytes,
            "ws_per_message_deflate": False}


def serve(args: argparse.Namespace) -> int:
    """Run the service under uvicorn, with the embedded database unless a URL is set."""
    import uvicorn

    from app.db.embedded import EmbeddedPostgres
    from app.db.migrate import migrate
    from app.identity.api_keys import load_or_create_key
    from app.identity.keyring import KeyRingError, load_settings_keyring
    from app.observability.logging import configure_logging

    settings = Settings()
    configure_logging(settings.log_level)
    try:  # refuse missing or weak signing keys before anything starts
        load_settings_keyring(settings)
    except KeyRingError as exc:
        sys.stderr.write(f"lukhas serve: {exc}\n")
        return 2
    host = args.host or settings.host
    port = settings.port if args.port is None else args.port
    workers = args.workers or settings.workers
    if workers > 1 and settings.redis_url is None:
        # Each worker's in-process store would keep its own revocations, single-use
        # claims, sessions and rate limits: all of them would be wrong.
        sys.stderr.write("lukhas serve: more than one worker needs LUKHAS_REDIS_URL.\n")
        return 2
    embedded = None
    try:
        if settings.database_url is None:
            embedded = EmbeddedPostgres(settings.data_dir)
            # Workers inherit the URL, so they share this one server and start none.
            os.environ["LUKHAS_DATABASE_URL"] = embedded.start()
            _say(f"Embedded PostgreSQL running in {embedded.pgdata}")
            url = os.environ["LUKHAS_DATABASE_URL"]
        else:
            url = settings.database_url.get_secret_value()
        asyncio.run(migrate(url))
        if not settings.api_key_list():
            key, created = load_or_create_key(settings.data_dir)
            os.environ["LUKHAS_API_KEYS"] = key
            key_file = settings.data_dir / "api_key"
            if created:
                _say(f"Generated an API key (kept in {key_file}): {key}")
            else:
                _say(f"API key: the one kept in {key_file}")
        _say(f"LUKHAS façade on http://{host}:{port}/v1 ({workers} worker(s))")
        # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal; ours
        # turns it into an exception, so the embedded database is stopped below.
        signal.signal(signal.SIGTERM, _raise_stopped)
        signal.signal(signal.SIGINT, _raise_stopped)
        with contextlib.suppress(_Stopped):
            uvicorn.run(
                "app.main:create_app", factory=True, host=host, port=port, workers=workers,
                log_config=None, access_log=False, timeout_graceful_shutdown=10,
                **transport_options(settings),
            )
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


def run_migrate(_: argparse.Namespace) -> int:
    """Apply pending migrations and say which."""
    from app.db.embedded import EmbeddedPostgres
    from app.db.migrate import migrate

    settings = Settings()
    embedded = None
    try:
        if settings.database_url is None:
            embedded = EmbeddedPostgres(settings.data_dir)
            url = embedded.start(keep_alive=False)
        else:
            url = settings.database_url.get_secret_value()
        applied = asyncio.run(migrate(url))
        _say(f"applied migrations: {applied}" if applied else "database is up to date")
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


def token_issue(args: argparse.Namespace) -> int:
    """Print a signed ΛiD token (the key ring comes from the settings, as the service's)."""
    from app.identity.alias import new_alias
    from app.identity.keyring import KeyRingError, load_settings_keyring
    from app.identity.tiers import load_tiers
    from app.identity.tokens import LidTokens
    from app.kv.memory import MemoryStore

    settings = Settings()
    if args.ttl > settings.lid_max_ttl_seconds:
        sys.stderr.write(f"--ttl may be at most {settings.lid_max_ttl_seconds}\n")
        return 2
    try:
        tokens = LidTokens(load_settings_keyring(settings), load_tiers(), MemoryStore())
        issued = tokens.issue(new_alias(args.realm, args.zone), args.tier,
                              scopes=args.scopes or None, ttl_seconds=args.ttl, once=args.once)
    except (KeyRingError, ValueError, KeyError) as exc:
        sys.stderr.write(f"lukhas token issue: {exc}\n")
        return 2
    _say(issued.token)
    return 0


def routes_lint(args: argparse.Namespace) -> int:
    """Check a routing file: "ok", or one line per problem naming its key path."""
    from app.routing.load import load_routing
    from app.routing.problems import RoutingConfigError

    try:
        load_routing(args.file)
    except OSError as exc:
        sys.stderr.write(f"lukhas routes lint: cannot read {args.file}: {exc.strerror}\n")
        return 2
    except RoutingConfigError as exc:
        for problem in exc.problems:
            _say(f"{args.file}: {problem}")
        return 1
    _say("ok")
    return 0


def routes_preview(args: argparse.Namespace) -> int:
    """Print the route a request would take, from the same pick function the service runs."""
    import orjson

    from app.errors import APIError
    from app.routing.cooldown import CooldownSnapshot
    from app.routing.load import load_routing
    from app.routing.pick import Caller, pick
    from app.routing.problems import RoutingConfigError

    settings = Settings()
    path = args.file or settings.routing_file
    if path is None:
        sys.stderr.write("lukhas routes preview: no routing file (give --file, or set "
                         "LUKHAS_ROUTING_FILE, or create configs/routing.yml)\n")
        return 2
    tier = args.tier or settings.api_key_tier
    try:
        config = load_routing(path)
        # From the command line no failures are known: nothing is cooling down.
        route = pick(config, args.model, Caller(args.subject, tier), CooldownSnapshot(),
                     request_id=args.request_id)
    except OSError as exc:
        sys.stderr.write(f"lukhas routes preview: cannot read {path}: {exc.strerror}\n")
        return 2
    except RoutingConfigError as exc:
        sys.stderr.write(f"lukhas routes preview: {path} is invalid (lukhas routes lint)\n")
        for problem in exc.problems:
            sys.stderr.write(f"{path}: {problem}\n")
        return 2
    except APIError as exc:
        reason = getattr(exc, "reason", exc.code)
        if args.json:
            _say(orjson.dumps({**exc.body(), "status": exc.status_code,
                               "reason": reason}).decode())
        else:
            _say(f"{exc.status_code} {exc.code} ({reason}): {exc.message}")
        return 1
    if args.json:
        _say(orjson.dumps(route.as_dict()).decode())
        return 0
    bucket = f", A/B bucket {route.bucket}" if route.bucket else ""
    _say(f"model {route.model} → group {route.group}{bucket} (tier {tier})")
    _say(f"deadline {route.deadline_seconds:g} s for the whole request")
    for i, attempt in enumerate(route.plan, 1):
        notes = [f"group {attempt.group}"]
        if attempt.fallback:
            notes.append(f"fallback {attempt.fallback}")
        if attempt.retry:
            notes.append(f"retry {attempt.retry}, after a backoff")
        _say(f"  {i}. {attempt.deployment}  ({', '.join(notes)})")
    return 0


def audit_verify(args: argparse.Namespace) -> int:
    """Recompute the audit chain: "ok" and the count, or one line per problem (exit 1)."""
    import asyncpg

    from app.db.embedded import EmbeddedPostgres
    from app.guardian.audit import verify

    settings = Settings()
    embedded = None

    async def check(url: str) -> int:
        conn = await asyncpg.connect(url)
        try:
            report = await verify(conn, max_problems=args.max_problems)
        finally:
            await conn.close()
        for problem in report.problems:
            _say(problem)
        if report.ok:
            _say(f"ok: {report.records} records, chain head {report.head_id}")
            return 0
        _say(f"audit chain broken: {len(report.problems)} problem(s) in {report.records} "
             "records read")
        return 1

    try:
        if settings.database_url is None:
            embedded = EmbeddedPostgres(settings.data_dir)
            url = embedded.start(keep_alive=False)
        else:
            url = settings.database_url.get_secret_value()
        return asyncio.run(check(url))
    except (OSError, asyncpg.PostgresError) as exc:
        sys.stderr.write(f"lukhas audit verify: {exc}\n")
        return 2
    finally:
        if embedded is not None:
            embedded.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `lukhas` command."""
    parser = argparse.ArgumentParser(prog="lukhas", description="LUKHAS façade")
    commands = parser.add_subparsers(dest="command", required=True)
    p_serve = commands.add_parser("serve", help="run the service")
    p_serve.add_argument("--host", default=None, help="bind address (LUKHAS_HOST)")
    p_serve.add_argument("--port", type=int, default=None, help="port (LUKHAS_PORT)")
    p_serve.add_argument("--workers", type=int, default=None, help="processes (LUKHAS_WORKERS)")
    p_serve.set_defaults(func=serve)
    commands.add_parser("migrate", help="apply database migrations").set_defaults(
        func=run_migrate
    )
    p_token = commands.add_parser("token", help="ΛiD tokens").add_subparsers(
        dest="token_command", required=True)
    p_issue = p_token.add_parser("issue", help="print a signed token for a new alias")
    p_issue.add_argument("--realm", required=True)
    p_issue.add_argument("--zone", required=True)
    p_issue.add_argument("--tier", required=True, help="T1, T2 or T3 (configs/identity)")
    p_issue.add_argument("--scopes", nargs="*", help="a subset of the tier's scopes")
    p_issue.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    p_issue.add_argument("--once", action="store_true", help="valid for one request only")
    p_issue.set_defaults(func=token_issue)
    p_routes = commands.add_parser("routes", help="the routing file").add_subparsers(
        dest="routes_command", required=True)
    p_lint = p_routes.add_parser("lint", help="check a routing file")
    p_lint.add_argument("file", type=Path)
    p_lint.set_defaults(func=routes_lint)
    p_preview = p_routes.add_parser("preview", help="the route one request would take")
    p_preview.add_argument("--model", required=True, help="the model id a caller names")
    p_preview.add_argument("--subject", required=True, help="the caller's subject (A/B bucket)")
    p_preview.add_argument("--tier", default=None, help="the caller's tier "
                                                         "(default: LUKHAS_API_KEY_TIER)")
    p_preview.add_argument("--request-id", default="",
                           help="the request id: its weighted order of deployments")
    p_preview.add_argument("--file", type=Path, default=None,
                           help="routing file (default: LUKHAS_ROUTING_FILE)")
    p_preview.add_argument("--json", action="store_true", help="print the route as JSON")
    p_preview.set_defaults(func=routes_preview)
    p_audit = commands.add_parser("audit", help="the audit log").add_subparsers(
        dest="audit_command", required=True)
    p_verify = p_audit.add_parser("verify", help="check the audit log's hash chain")
    p_verify.add_argument("--max-problems", type=int, default=100,
                          help="stop after this many problems")
    p_verify.set_defaults(func=audit_verify)
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
