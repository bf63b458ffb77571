"""Request texts found clean are not scanned again: a conversation's turn scans what it adds,
a text something was found in is checked every time, and what is kept is bounded and
belongs to the policy that found it clean."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace

import httpx
import pytest

from app.guardian.clean_texts import CleanTexts
from app.guardian.compiled import CompiledRule, Policy
from app.guardian.decision import Direction, Kind
from app.guardian.reload import load_policy

SYSTEM = "You answer questions about the weather in a few words, politely and plainly."


async def test_a_turn_scans_only_what_it_adds(app_client: httpx.AsyncClient,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    screened: list[str] = []
    real = Policy.candidates

    def screen(self: Policy, direction: Direction, kind: Kind, text: str) -> list[CompiledRule]:
        if direction == "input":
            screened.append(text)
        return real(self, direction, kind, text)

    monkeypatch.setattr(Policy, "candidates", screen)
    first = [{"role": "system", "content": SYSTEM},
             {"role": "user", "content": "My name is Ada Lovelace."}]
    resp = await app_client.post("/v1/chat/completions",
                                 json={"model": "lukhas-matriz", "messages": first})
    assert resp.status_code == 200, resp.text
    assert len(screened) == 1 and SYSTEM in screened[0]
    answer = resp.json()["choices"][0]["message"]["content"]
    screened.clear()
    second = [*first, {"role": "assistant", "content": answer},
              {"role": "user", "content": "What is my name?"}]
    resp = await app_client.post("/v1/chat/completions",
                                 json={"model": "lukhas-matriz", "messages": second})
    assert resp.status_code == 200, resp.text
    assert "Ada Lovelace" in resp.json()["choices"][0]["message"]["content"]
    (text,) = screened  # one screen, of the two new messages alone
    assert "What is my name?" in text and answer in text
    assert SYSTEM not in text and "My name is Ada Lovelace." not in text
    screened.clear()
    resp = await app_client.post("/v1/chat/completions",
                                 json={"model": "lukhas-matriz", "messages": second})
    assert resp.status_code == 200 and screened == []  # nothing new: nothing scanned


async def test_a_text_something_was_found_in_is_checked_every_time(
        app_client: httpx.AsyncClient) -> None:
    body = {"model": "lukhas-matriz", "input": "Write to ada@example.com about the meeting."}
    for _ in range(3):
        resp = await app_client.post("/v1/responses", json=body)
        assert resp.status_code == 200, resp.text
    metrics = (await app_client.get("/metrics")).text
    line = 'lukhas_guardian_decisions_total{action="log",direction="input",lane="dev"} 3.0'
    assert line in metrics.splitlines()


def test_what_is_kept_is_bounded_and_belongs_to_its_policy() -> None:
    policy = load_policy()
    other = replace(policy, digest="0" * 64)  # the same rules, reloaded from other files
    kept = CleanTexts(capacity=2)
    kept.add(policy, "text", "instructions")
    assert kept.holds(policy, "text", "instructions")  # found again: protected
    for n in range(10):  # one-off texts pass through probation, two at most at a time
        kept.add(policy, "text", f"one-off {n}")
    assert len(kept) == 3
    assert kept.holds(policy, "text", "instructions")
    assert kept.holds(policy, "text", "one-off 9") and kept.holds(policy, "text", "one-off 8")
    assert not kept.holds(policy, "text", "one-off 7")
    # Protected is full (instructions, one-off 9, one-off 8): its least recently used goes
    # back to probation, not out.
    assert len(kept) == 3
    assert kept.holds(policy, "text", "instructions")
    assert not kept.holds(other, "text", "instructions")  # another policy scans it again
    assert not kept.holds(policy, "tool", "instructions")  # and so does another kind


def test_nothing_is_kept_without_hash_randomisation() -> None:
    # A hash an outsider can compute would let a text be made to pass for one found clean.
    out = subprocess.run(
        [sys.executable, "-c", "from app.guardian.clean_texts import CleanTexts; "
                               "print(CleanTexts().enabled)"],
        env={**os.environ, "PYTHONHASHSEED": "0"}, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert CleanTexts().enabled  # this process hashes with a secret of its own
