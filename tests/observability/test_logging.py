"""Log lines are JSON with secrets redacted."""

from __future__ import annotations

import json
import logging

from app.observability.logging import (
    JsonFormatter,
    configure_logging,
    redact,
    request_id_var,
)


def test_redacts_tokens_keys_and_emails() -> None:
    line = ("Authorization: Bearer abc.def.ghi key lk-AbCdEfGh12345678 "
            "mail ada@example.org sk-proj-1234567890abcdef lid#LUKHAS/eu/v1.ab12-0badcafe")
    out = redact(line)
    for secret in ("abc.def.ghi", "lk-AbCdEfGh12345678", "ada@example.org",
                   "sk-proj-1234567890abcdef", "lid#LUKHAS"):
        assert secret not in out
    assert "[REDACTED_EMAIL]" in out


def test_json_line_carries_request_id_and_redacted_extras() -> None:
    record = logging.makeLogRecord({"name": "t", "levelname": "INFO", "msg": "hi %s",
                                    "args": ("ada@example.org",), "token": "Bearer secret-1"})
    token = request_id_var.set("req_123")
    try:
        entry = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert entry["request_id"] == "req_123"
    assert entry["msg"] == "hi [REDACTED_EMAIL]"
    assert entry["token"] == "Bearer [REDACTED]"


def test_uvicorn_access_log_stays_off() -> None:
    """uvicorn writes its access line only when its logger has a handler to reach; ours is
    the one access log (`LUKHAS_ACCESS_LOG`), with request ids."""
    configure_logging("info")
    assert not logging.getLogger("uvicorn.access").hasHandlers()
    assert logging.getLogger("uvicorn.error").hasHandlers()
