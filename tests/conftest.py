"""Shared fixtures: one embedded PostgreSQL (pgvector) and one live server per session."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import openai
import pytest
import yaml

from app.db.embedded import EmbeddedPostgres
from app.db.migrate import migrate
from app.reliability.ratelimit import DEFAULT_PATH as RELIABILITY
from tests.utils.mock_upstream import MockUpstream, MockUpstreamFactory, running_mock_upstream
from tests.utils.server import ServerProcess, start_uvicorn

KEY_A = "lk-test-alice-0123456789abcdef"
KEY_B = "lk-test-bob-0123456789abcdef01"


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    pg = EmbeddedPostgres(tmp_path_factory.mktemp("lukhas-data"))
    pg.start()
    yield pg
    pg.stop()


@pytest.fixture(scope="session")
def pg_url(pg_server: EmbeddedPostgres) -> str:
    """The URL of a migrated database on the embedded server."""
    url = pg_server.start()  # already running: returns its URL
    asyncio.run(migrate(url))
    return url


@pytest.fixture
def fresh_db_url(pg_url: str) -> Iterator[str]:
    """An empty database of its own, dropped afterwards."""
    import asyncpg

    name = "t_" + uuid.uuid4().hex[:12]

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(pg_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    yield pg_url.replace("/postgres?", f"/{name}?")
    asyncio.run(admin(f'DROP DATABASE "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def server(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The service as a real process on a free port, with two API keys."""
    data_dir = tmp_path_factory.mktemp("server-data")
    # The shipped limits, but for the identity routes: every test that wants a caller of its
    # own has KEY_A issue its token, far more than 60 a minute in all.
    limits = yaml.safe_load(RELIABILITY.read_text())
    limits["routes"]["identity"]["requests"] = 1_000_000
    limits_file = data_dir / "limits.yaml"
    limits_file.write_text(yaml.safe_dump(limits))
    env = {"LUKHAS_DATABASE_URL": pg_url, "LUKHAS_API_KEYS": f"{KEY_A},{KEY_B}",
           "LUKHAS_DATA_DIR": str(data_dir), "LUKHAS_LOG_LEVEL": "warning",
           "LUKHAS_RATE_LIMITS_FILE": str(limits_file),
           # Every test calls from 127.0.0.1: the failures of all of them would add up
           # under one address. Per key id, the failure throttle stays as configured.
           "LUKHAS_AUTH_THROTTLE_ADDRESS_FAILURES": "1000000"}
    proc = start_uvicorn(env, data_dir / "server.log")
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def base_url(server: ServerProcess) -> str:
    return server.base_url


@pytest.fixture
def client(base_url: str) -> Iterator[openai.OpenAI]:
    """The official OpenAI Python SDK, pointed at the live server as caller A."""
    with openai.OpenAI(base_url=f"{base_url}/v1", api_key=KEY_A, max_retries=0) as c:
        yield c


@pytest.fixture
def caller(base_url: str) -> Iterator[openai.OpenAI]:
    """The SDK as a caller of its own (a ΛiD token of a new subject: no long-term memory)."""
    token = httpx.post(f"{base_url}/v1/identity/tokens", headers={
        "Authorization": f"Bearer {KEY_A}"}, json={
        "realm": "LUKHAS", "zone": "eu", "tier": "T2"}).json()["token"]
    with openai.OpenAI(base_url=f"{base_url}/v1", api_key=token, max_retries=0) as c:
        yield c


@pytest.fixture
def http(base_url: str) -> Iterator[httpx.Client]:
    """Raw HTTP to the live server as caller A."""
    headers = {"Authorization": f"Bearer {KEY_A}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as c:
        yield c


@pytest.fixture
async def app_client(pg_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The app in-process with its lifespan running, for tests that look inside it."""
    from tests.utils.app import running_app

    async with running_app(pg_url, tmp_path, key=KEY_A, api_keys=KEY_A) as client:
        yield client


# Another Redis may be named for a run (the database is emptied by the tests that use it):
# 15, and one below it for each further worker of a parallel run (pytest-xdist's gw1, gw2…).
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
REDIS_TEST_URL = os.environ.get("LUKHAS_TEST_REDIS_URL", f"redis://127.0.0.1:6379/{15 - _WORKER}")


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    """A real Redis (database 15), emptied before and after the test."""
    from redis import asyncio as aioredis

    client = aioredis.from_url(REDIS_TEST_URL)
    await client.flushdb()
    yield REDIS_TEST_URL
    await client.flushdb()
    await client.aclose()


@pytest.fixture(scope="session")
def _mock_upstream_server() -> Iterator[MockUpstream]:
    with running_mock_upstream() as upstream:
        yield upstream


@pytest.fixture
def mock_upstream(_mock_upstream_server: MockUpstream) -> MockUpstream:
    """A real OpenAI-compatible upstream (`.url` for a client), reset for this test."""
    _mock_upstream_server.reset()
    return _mock_upstream_server


@pytest.fixture
def mock_upstream_factory(tmp_path: Path) -> Iterator[Callable[..., MockUpstream]]:
    """`start(*, process=False, **config)`: more mock upstreams, stopped after the test."""
    with MockUpstreamFactory(tmp_path) as start:
        yield start


@pytest.fixture
def routed_server(pg_url: str, tmp_path: Path,
                  mock_upstream_factory: Callable[..., MockUpstream],
                  ) -> Iterator[tuple[ServerProcess, MockUpstream]]:
    """A live server whose routing file sends `gpt-test` to a mock upstream that requires
    its key (LIVE_UPSTREAM_KEY), with the key in the environment variable the file names."""
    import yaml

    from tests.utils.routed import LIVE_UPSTREAM_KEY, UPSTREAM_KEY_ENV, routing

    upstream = mock_upstream_factory(api_key=LIVE_UPSTREAM_KEY)
    path = tmp_path / "routing.yml"
    path.write_text(yaml.safe_dump(routing(upstream.url)))
    env = {"LUKHAS_DATABASE_URL": pg_url, "LUKHAS_API_KEYS": KEY_A,
           "LUKHAS_DATA_DIR": str(tmp_path), "LUKHAS_LOG_LEVEL": "warning",
           "LUKHAS_ROUTING_FILE": str(path), UPSTREAM_KEY_ENV: LIVE_UPSTREAM_KEY}
    server = start_uvicorn(env, tmp_path / "server.log")
    yield server, upstream
    server.stop()
