"""Background responses of a routed model (a real mock upstream that answers slowly), through
the Python SDK against a live server with one run at a time: the upstream's answer, cancelling
a running and a queued response, and what a restart leaves (a crash, then a stop)."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import yaml

from tests.api.responses.test_background import wait_done
from tests.conftest import KEY_A
from tests.utils.mock_upstream import MockUpstream
from tests.utils.routed import LIVE_UPSTREAM_KEY, UPSTREAM_KEY_ENV, routing
from tests.utils.server import ServerProcess, start_uvicorn

pytestmark = pytest.mark.slow
# Long words: the output policy releases text a window (64 characters) at a time.
WORDS = " ".join(f"word{i:02d}-of-a-longer-answer" for i in range(16))


class Servers:
    """Live servers on one database and one routing file (to a mock upstream)."""

    def __init__(self, pg_url: str, tmp_path: Path, upstream: MockUpstream) -> None:
        self.upstream = upstream
        self._tmp = tmp_path
        self._running: list[ServerProcess] = []
        self._routing = tmp_path / "routing.yml"
        self._routing.write_text(yaml.safe_dump(routing(upstream.url)))
        self._env = {"LUKHAS_DATABASE_URL": pg_url, "LUKHAS_API_KEYS": KEY_A,
                     "LUKHAS_DATA_DIR": str(tmp_path), "LUKHAS_LOG_LEVEL": "warning",
                     "LUKHAS_ROUTING_FILE": str(self._routing),
                     UPSTREAM_KEY_ENV: LIVE_UPSTREAM_KEY,
                     "LUKHAS_BACKGROUND_CONCURRENCY": "1",
                     "LUKHAS_BACKGROUND_LEASE_SECONDS": "2"}

    def start(self, **env: str) -> ServerProcess:
        n = len(self._running)
        server = start_uvicorn({**self._env, **env}, self._tmp / f"server{n}.log")
        self._running.append(server)
        return server

    def close(self) -> None:
        for server in self._running:
            server.stop()


@pytest.fixture
def servers(pg_url: str, tmp_path: Path,
            mock_upstream_factory: Callable[..., MockUpstream]) -> Iterator[Servers]:
    started = Servers(pg_url, tmp_path, mock_upstream_factory(api_key=LIVE_UPSTREAM_KEY))
    yield started
    started.close()


def sdk(server: ServerProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=KEY_A, max_retries=0)


def slow_reply(upstream: MockUpstream, chunk_ms: float = 250, times: int | None = None) -> None:
    """The next answers stream WORDS one piece every `chunk_ms`."""
    upstream.behave("slow", chunk_delay_ms=chunk_ms, reply=WORDS, times=times)


def first_delta(client: openai.OpenAI, rid: str) -> Any:
    """Follow the response's stream up to its first text delta."""
    for event in client.responses.retrieve(rid, stream=True):
        if event.type == "response.output_text.delta":
            return event
    raise AssertionError("the stream ended before any text")


def test_routed_background_response_streams_from_the_upstream(servers: Servers) -> None:
    with sdk(servers.start()) as client:
        slow_reply(servers.upstream, chunk_ms=20)
        created = client.responses.create(model="gpt-test", input="Say it.", background=True)
        assert created.status == "queued"
        done = wait_done(client, created.id)
        assert done.status == "completed" and done.output_text == WORDS
        assert done.usage is not None and done.usage.output_tokens > 0
        events = list(client.responses.retrieve(created.id, stream=True))
        deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
        assert len(deltas) > 1 and "".join(deltas) == WORDS
        assert servers.upstream.last()["body"]["stream"] is True


def test_cancel_a_running_and_a_queued_background_response(servers: Servers) -> None:
    with sdk(servers.start()) as client:
        slow_reply(servers.upstream, times=None)
        running = client.responses.create(model="gpt-test", input="One.", background=True)
        queued = client.responses.create(model="gpt-test", input="Two.", background=True)
        first_delta(client, running.id)
        assert client.responses.retrieve(queued.id).status == "queued", "one run at a time"

        cancelled = client.responses.cancel(queued.id)
        assert cancelled.status == "cancelled" and cancelled.id == queued.id
        cancelled = client.responses.cancel(running.id)
        assert cancelled.status == "cancelled"
        again = client.responses.cancel(running.id)
        assert again.status == "cancelled", "cancelling twice returns the response again"
        # A follower's stream ends; the run, stopped, never overwrites the cancellation.
        events = list(client.responses.retrieve(running.id, stream=True, starting_after=2))
        assert events and events[-1].type not in ("response.completed", "response.failed")
        time.sleep(1.0)
        assert client.responses.retrieve(running.id).status == "cancelled"
        assert client.responses.retrieve(queued.id).status == "cancelled"
        queued_events = list(client.responses.retrieve(queued.id, stream=True))
        assert [e.type for e in queued_events] == ["response.created", "response.queued"]
        # The slot is free again: a new background response runs to its end.
        servers.upstream.reset()
        later = client.responses.create(model="gpt-test", input="Three.", background=True)
        assert wait_done(client, later.id).status == "completed"


def test_after_a_crash_and_a_stop_nothing_stays_unfinished(servers: Servers) -> None:
    first = servers.start()
    slow_reply(servers.upstream, chunk_ms=400, times=None)
    with sdk(first) as client:
        running = client.responses.create(model="gpt-test", input="One.", background=True)
        queued = client.responses.create(model="gpt-test", input="Two.", background=True)
        first_delta(client, running.id)
    first.stop(signal.SIGKILL)  # a crash: nothing is cleaned up

    second = servers.start()
    with sdk(second) as client:
        for rid in (running.id, queued.id):
            lost = wait_done(client, rid, timeout=15)
            assert lost.status == "failed" and lost.error is not None
            assert lost.error.code == "server_error" and "restart" in lost.error.message
        events = list(client.responses.retrieve(running.id, stream=True))
        assert events[-1].type == "response.failed"
        assert any(e.type == "response.output_text.delta" for e in events)
        assert [e.sequence_number for e in events] == list(range(len(events)))

        # A stop that does not wait: the run is marked failed at once, saying why.
        third = servers.start(LUKHAS_BACKGROUND_GRACE_SECONDS="0")
        with sdk(third) as stopping:
            rid = stopping.responses.create(model="gpt-test", input="Three.",
                                            background=True).id
            first_delta(stopping, rid)
        third.stop(signal.SIGTERM)  # uvicorn shuts down, then re-raises the signal
        stopped = client.responses.retrieve(rid)
        assert stopped.status == "failed" and stopped.error is not None
        assert "stopping" in stopped.error.message


def test_another_replica_follows_and_cancels_a_run(servers: Servers) -> None:
    a, b = servers.start(), servers.start()
    slow_reply(servers.upstream, chunk_ms=100)
    with sdk(a) as on_a, sdk(b) as on_b:
        rid = on_a.responses.create(model="gpt-test", input="One.", background=True).id
        followed = list(on_b.responses.retrieve(rid, stream=True))  # live, from b
        assert followed[-1].type == "response.completed"
        assert [e.sequence_number for e in followed] == list(range(len(followed)))
        assert on_b.responses.retrieve(rid).output_text == WORDS

        slow_reply(servers.upstream, chunk_ms=300)
        rid = on_a.responses.create(model="gpt-test", input="Two.", background=True).id
        first_delta(on_b, rid)
        assert on_b.responses.cancel(rid).status == "cancelled"
        # a's runner sees the cancellation at its next lease round and stops the run.
        deadline = time.monotonic() + 10
        while True:
            events = list(on_a.responses.retrieve(rid, stream=True))
            time.sleep(1.5)
            if list(on_a.responses.retrieve(rid, stream=True,
                                            starting_after=events[-1].sequence_number)) == []:
                break
            assert time.monotonic() < deadline, "the run went on writing events"
        assert on_a.responses.retrieve(rid).status == "cancelled"
        assert not any(e.type == "response.completed" for e in events)


def test_deleting_a_running_background_response(servers: Servers) -> None:
    with sdk(servers.start()) as client:
        slow_reply(servers.upstream)
        rid = client.responses.create(model="gpt-test", input="One.", background=True).id
        first_delta(client, rid)
        client.responses.delete(rid)
        time.sleep(1.5)  # the run stops; what it ends with does not bring the response back
        with pytest.raises(openai.NotFoundError):
            client.responses.retrieve(rid)
        servers.upstream.reset()
        later = client.responses.create(model="gpt-test", input="Two.", background=True)
        assert wait_done(client, later.id).status == "completed"
