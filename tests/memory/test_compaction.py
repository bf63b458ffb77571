"""The compaction itself: which turns a window keeps, its summary, and its seal."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from app.core.turns import Turn
from app.identity.seal import Seal, SealError
from app.matriz.toolturns import call_turn, output_turn
from app.memory.compaction import (
    KEY_FILE,
    SOURCE,
    Kept,
    Window,
    WindowSeal,
    conversational,
    describe,
    digest,
    keep_last,
    keep_statements,
)

CHAIN = [
    Turn("user", "Hello there, how are you today my friend?", "resp_1 input 1"),
    Turn("assistant", "I don't know. I looked for an arithmetic expression.", "resp_1 output"),
    Turn("user", "My name is Ada Lovelace and I live in London.", "resp_2 input 1"),
    Turn("assistant", "Noted.", "resp_2 output"),
    Turn("user", "What is 2+2?", "resp_3 input 1"),
    Turn("assistant", "2 + 2 = 4.", "resp_3 output"),
    Turn("user", "Call me Ada.", "resp_4 input 1"),
]


def test_the_builtin_split_keeps_the_users_statements_verbatim() -> None:
    kept, dropped = keep_statements(CHAIN)
    assert kept == [CHAIN[2], CHAIN[6]]
    assert dropped == [CHAIN[0], CHAIN[1], CHAIN[3], CHAIN[4], CHAIN[5]]


def test_the_builtin_summary_is_deterministic_and_says_what_it_dropped() -> None:
    _, dropped = keep_statements(CHAIN)
    summary = describe(dropped, "lukhas-matriz")
    assert summary == describe(list(dropped), "lukhas-matriz")
    assert summary.splitlines() == [
        "Earlier conversation, compacted by lukhas-matriz: 5 turns (2 user messages, "
        "3 assistant answers).",
        'User messages began: "Hello there, how are you today my friend?"; "What is 2+2?"',
        'Assistant answers began: "I don\'t know. I looked for an arithmetic…"; "Noted."; '
        '"2 + 2 = 4."',
    ]


def test_a_summary_lists_calls_bounds_its_quotes_and_keeps_earlier_windows() -> None:
    turns = [Turn("system", "Earlier conversation, compacted: 3 turns.", SOURCE + "cmp_1"),
             *[Turn("user", f"Question number {i}", f"input {i}") for i in range(12)],
             call_turn("call_1", "get_weather", '{"city":"Rome"}', "input 13"),
             output_turn("call_1", "Sunny", "input 14")]
    lines = describe(turns, "m").splitlines()
    assert lines[:2] == ["Before that:", "Earlier conversation, compacted: 3 turns."]
    assert lines[2] == ("Earlier conversation, compacted by m: 14 turns (12 user messages, "
                        "1 function call, 1 function output).")
    assert lines[3].endswith('"Question number 9"; and 2 more')
    assert lines[4] == "Functions called: get_weather"
    assert describe([], "m") == ""


def test_the_routed_split_keeps_the_last_turns_and_never_splits_a_call() -> None:
    kept, dropped = keep_last(CHAIN, 4)
    assert kept == CHAIN[3:] and dropped == CHAIN[:3]
    calls = [Turn("user", "Weather?", "i1"), call_turn("c", "w", "{}", "i2"),
             output_turn("c", "Sunny", "i3"), output_turn("c", "again", "i4"),
             Turn("assistant", "Sunny.", "o")]
    kept, dropped = keep_last(calls, 3)
    assert kept == calls[4:], "outputs whose call is dropped go with it"
    assert dropped == calls[:4]
    system = Turn("system", "Before.", SOURCE + "cmp_1")
    kept, dropped = keep_last([CHAIN[0], system, CHAIN[1]], 4)
    assert kept == [CHAIN[0], CHAIN[1]] and dropped == [system]


def test_empty_assistant_turns_carry_nothing() -> None:
    turns = [Turn("user", "hi", "i"), Turn("assistant", "", "o"), Turn("user", "", "i2")]
    assert conversational(turns) == [turns[0], turns[2]]


def _window() -> Window:
    return Window("cmp_1", "lukhas-matriz", 1, "Be brief.\n\nSummary.",
                  (Kept("msg_1", digest("My name is Ada."), "resp_1 input 1"),))


def test_a_window_opens_only_for_its_owner_and_unaltered(tmp_path: Path) -> None:
    seal = WindowSeal(Seal.from_settings(None, tmp_path, KEY_FILE))
    content = seal.seal("alice", _window())
    assert seal.open("alice", content) == _window()
    assert (tmp_path / KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert b"Summary" not in base64.urlsafe_b64decode(content)
    again = WindowSeal(Seal.from_settings(None, tmp_path, KEY_FILE))
    assert again.open("alice", content) == _window(), "the kept key opens it after a restart"
    raw = bytearray(base64.urlsafe_b64decode(content))
    for broken in (
        lambda: seal.open("bob", content),
        lambda: WindowSeal(Seal("another deployment's key, 32 bytes+")).open("alice", content),
        lambda: seal.open("alice", base64.urlsafe_b64encode(
            bytes(raw[:30]) + bytes([raw[30] ^ 1]) + bytes(raw[31:])).decode()),
        lambda: seal.open("alice", content[:-4]),
        lambda: seal.open("alice", "äöü"),
        lambda: seal.open("alice", ""),
    ):
        with pytest.raises(SealError):
            broken()


def test_a_kept_item_gets_its_source_back_only_unchanged() -> None:
    window = _window()
    assert window.source_of("msg_1", "My name is Ada.") == "resp_1 input 1"
    assert window.source_of("msg_1", "My name is Mallory.") is None
    assert window.source_of("msg_2", "My name is Ada.") is None
    assert window.source_of(None, "My name is Ada.") is None
    turn = window.turn()
    assert turn == Turn("system", "Be brief.\n\nSummary.", SOURCE + "cmp_1")
