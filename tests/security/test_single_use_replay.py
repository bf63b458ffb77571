"""Replay of a single-use (`once`) ΛiD token across two service processes sharing one Redis:
accepted exactly once in all, whether presented in turn or all at once to both.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from app.identity.alias import new_alias
from app.identity.keyring import KeyRing
from app.identity.tiers import load_tiers
from app.identity.tokens import LidTokens
from app.kv.memory import MemoryStore
from tests.conftest import KEY_A, REDIS_TEST_URL
from tests.utils.server import ServerProcess, start_uvicorn

pytestmark = [pytest.mark.security, pytest.mark.slow]

SECRET = b"k1-secret-0123456789abcdef0123456789abcdef"
LID_KEYS = '{"k1": "k1-secret-0123456789abcdef0123456789abcdef"}'
# Tokens signed offline with the servers' key: neither process has seen them before.
MINT = LidTokens(KeyRing({"k1": SECRET}, "k1"), load_tiers(), MemoryStore())


@pytest.fixture(scope="module")
def two_servers(pg_url: str, tmp_path_factory: pytest.TempPathFactory,
                ) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two separate service processes on one database and one Redis (the test Redis; every
    token here is fresh, so what other tests leave in it does not matter)."""
    started: list[ServerProcess] = []
    try:
        for name in ("one", "two"):
            data = tmp_path_factory.mktemp(f"replay-{name}")
            started.append(start_uvicorn({
                "LUKHAS_DATABASE_URL": pg_url, "LUKHAS_API_KEYS": KEY_A,
                "LUKHAS_LID_KEYS": LID_KEYS, "LUKHAS_REDIS_URL": REDIS_TEST_URL,
                "LUKHAS_DATA_DIR": str(data), "LUKHAS_LOG_LEVEL": "warning",
                "LUKHAS_LONG_TERM_MEMORY": "false",
                # Replays from one address are failed authentications; the throttle would
                # answer 429 after its limit (it has tests of its own).
                "LUKHAS_AUTH_THROTTLE": "false"}, data / "server.log"))
        yield started[0], started[1]
    finally:
        for server in started:
            server.stop()


def present(base_url: str, token: str) -> tuple[int, str | None]:
    resp = httpx.get(f"{base_url}/v1/identity/me", timeout=30,
                     headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code < 500, resp.text
    return resp.status_code, None if resp.is_success else resp.json()["error"]["code"]


def test_presented_in_turn_to_each_process(
    two_servers: tuple[ServerProcess, ServerProcess],
) -> None:
    one, two = two_servers
    for first, second in ((one, two), (two, one)):
        token = MINT.issue(new_alias("LUKHAS", "eu"), "T2", once=True).token
        assert present(first.base_url, token) == (200, None)
        assert present(second.base_url, token) == (401, "token_replayed")
        assert present(first.base_url, token) == (401, "token_replayed")
    # A token issued by one process is single use on the other too.
    issued = httpx.post(f"{one.base_url}/v1/identity/tokens",
                        headers={"Authorization": f"Bearer {KEY_A}"},
                        json={"realm": "LUKHAS", "zone": "eu", "tier": "T2",
                              "once": True}).json()["token"]
    assert present(two.base_url, issued) == (200, None)
    assert present(one.base_url, issued) == (401, "token_replayed")


def test_presented_concurrently_to_both_processes(
    two_servers: tuple[ServerProcess, ServerProcess],
) -> None:
    one, two = two_servers
    rounds, per_round = 5, 24
    for _ in range(rounds):
        token = MINT.issue(new_alias("LUKHAS", "eu"), "T2", once=True).token
        gate = threading.Barrier(per_round)

        def race(i: int, token: str = token, gate: threading.Barrier = gate) -> tuple[
                int, str | None]:
            gate.wait()
            return present((one if i % 2 else two).base_url, token)

        with concurrent.futures.ThreadPoolExecutor(per_round) as pool:
            results = Counter(pool.map(race, range(per_round)))
        assert results == {(200, None): 1, (401, "token_replayed"): per_round - 1}, results
