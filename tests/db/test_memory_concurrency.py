"""One caller sending the same words many times at once: every long-term memory write
succeeds, and the words are kept once."""

from __future__ import annotations

import asyncio
import logging
import uuid

import httpx


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


async def test_concurrent_identical_memory_writes_all_succeed(
        app_client: httpx.AsyncClient) -> None:
    failures = _Collect()
    logger = logging.getLogger("lukhas.memory")
    logger.addHandler(failures)
    try:
        for _ in range(4):
            words = f"My favourite colour is {uuid.uuid4().hex}."
            replies = await asyncio.gather(*(
                app_client.post("/v1/responses", json={"model": "lukhas-matriz",
                                                       "input": words})
                for _ in range(12)))
            assert all(r.status_code == 200 for r in replies)
    finally:
        logger.removeHandler(failures)
    assert failures.messages == [], "no long-term memory write failed"
