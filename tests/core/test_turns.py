"""A turn's stored form: the one record sessions (Redis) and responses (PostgreSQL) keep."""

from __future__ import annotations

from app.core.turns import Turn, turn_from_record, turn_record

PARTS = ({"type": "text", "text": "See?"},
         {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}})


def test_a_record_holds_only_what_is_set() -> None:
    assert turn_record(Turn("user", "Hi", "resp_1 input 0")) == {
        "role": "user", "text": "Hi", "source": "resp_1 input 0"}
    full = Turn("user", "See?", "resp_1 a.txt", PARTS, 1767225600.5, "a.txt")
    assert turn_record(full) == {"role": "user", "text": "See?", "source": "resp_1 a.txt",
                                 "parts": list(PARTS), "at": 1767225600.5, "file": "a.txt"}
    assert turn_from_record(turn_record(full)) == full


def test_a_stored_response_turn_reads_with_its_chain_time() -> None:
    # As PostgreSQL gives a chain back: the response's turns, each with its row's time.
    stored = {"role": "assistant", "text": "4", "source": "resp_1 output", "at": 1767225600.0}
    assert turn_from_record(stored) == Turn("assistant", "4", "resp_1 output",
                                            at=1767225600.0)
    older = {"role": "user", "text": "Hi", "source": "resp_1 input 0", "parts": None}
    assert turn_from_record(older) == Turn("user", "Hi", "resp_1 input 0")
