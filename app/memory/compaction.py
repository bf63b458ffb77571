"""Compaction: a conversation reduced to a window that a new response can start from.

A window keeps some turns verbatim (they go back to the caller as items of their own) and
stands for the rest with its context: the instructions it was made with and a summary of the
turns it dropped. Which turns are kept depends on the model:

- the built-in `lukhas-matriz` keeps every user turn that says something about the user (what
  its recall node answers from: "My name is…", "I live in…"), and summarises the rest
  deterministically (counts, and the first words of each dropped turn);
- a routed group keeps the last turns and has its upstream summarise the ones before
  (`app/api/responses/compact.py` makes that call).

The sealed window is the compaction item's `encrypted_content`: AES-256-GCM under the
service's compaction key, with the owner bound in as associated data, so another caller's
item or an altered one does not open. Each kept item's id, a digest of its text and its
source travel inside, so an expanded window cites the turns it kept where they were said.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson

from app.core.turns import Turn
from app.identity.seal import Seal, SealError
from app.matriz.nodes.recall import states_something
from app.matriz.toolturns import CALL, OUTPUT, fields

KEY_FILE = "compaction_key"
SOURCE = "compaction "  # the source of a window's context turn: "compaction cmp_…"
KEEP_LAST_TURNS = 4  # a routed group's window keeps this many of the latest turns
_VERSION = 1
_AAD = b"lukhas compaction item\x00"
_SYSTEM = ("system", "developer")
_LISTED = 10  # dropped turns quoted per kind in a built-in summary
_FIRST_WORDS = 8


@dataclass(frozen=True, slots=True)
class Kept:
    """A turn the window kept verbatim, as the item the caller got back."""

    id: str  # the item's id in the compacted output
    digest: str  # of its text: an edited copy is the caller's new words, not the original
    source: str  # where it was said: its citation once the window is expanded


@dataclass(frozen=True, slots=True)
class Window:
    """What one compaction item stands for."""

    id: str  # the compaction item's id
    model: str  # the model that compacted
    created_at: int
    context: str  # instructions and summary: the system turn the window expands into
    kept: tuple[Kept, ...]

    def turn(self) -> Turn | None:
        """The window's context as a system turn (None when it has none)."""
        return Turn("system", self.context, SOURCE + self.id) if self.context else None

    def source_of(self, item_id: str | None, text: str) -> str | None:
        """The source of a kept item given back unchanged, else None."""
        if item_id is None:
            return None
        for kept in self.kept:
            if kept.id == item_id and kept.digest == digest(text):
                return kept.source
        return None


@dataclass(slots=True)
class Expansion:
    """The compaction items of one input, opened: what the input's conversion adds."""

    sources: dict[int, str] = field(default_factory=dict)  # item index → a kept turn's source
    before: dict[int, list[Turn]] = field(default_factory=dict)  # index → turns to put first


def digest(text: str) -> str:
    """A short digest of a turn's text."""
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class WindowSeal:
    """Seals windows for their owner and opens them again."""

    def __init__(self, seal: Seal) -> None:
        self._seal = seal

    def seal(self, owner: str, window: Window) -> str:
        """The window as a compaction item's `encrypted_content` (URL-safe base64)."""
        payload = orjson.dumps({
            "v": _VERSION, "id": window.id, "model": window.model,
            "created_at": window.created_at, "context": window.context,
            "kept": [[k.id, k.digest, k.source] for k in window.kept]})
        return base64.urlsafe_b64encode(self._seal.seal(payload, _AAD + owner.encode())).decode()

    def open(self, owner: str, content: str) -> Window:
        """The window an item's `encrypted_content` holds, or SealError if it was not sealed
        for `owner` with this service's key, or was altered."""
        try:
            sealed = base64.b64decode(content.encode("ascii"), altchars=b"-_", validate=True)
        except (UnicodeEncodeError, binascii.Error) as exc:
            raise SealError("not a sealed compaction") from exc
        raw = orjson.loads(self._seal.open(sealed, _AAD + owner.encode()))
        if raw.get("v") != _VERSION:  # authentic, but of a format this version cannot read
            raise SealError(f"compaction format {raw.get('v')!r} is not supported")
        return Window(raw["id"], raw["model"], raw["created_at"], raw["context"],
                      tuple(Kept(*k) for k in raw["kept"]))


def conversational(turns: Sequence[Turn]) -> list[Turn]:
    """The turns that carry something: an assistant turn with no text (its answer was a
    function call, which has a turn of its own) is left out."""
    return [t for t in turns if t.text or t.role != "assistant"]


def keep_statements(turns: Sequence[Turn]) -> tuple[list[Turn], list[Turn]]:
    """The built-in model's split: (kept, dropped). Kept are the user turns that state
    something about the user, verbatim; everything else is dropped into the summary."""
    kept: list[Turn] = []
    dropped: list[Turn] = []
    for turn in turns:
        (kept if turn.role == "user" and states_something(turn.text) else dropped).append(turn)
    return kept, dropped


def keep_last(turns: Sequence[Turn], n: int = KEEP_LAST_TURNS) -> tuple[list[Turn], list[Turn]]:
    """A routed group's split: (kept, dropped). Kept are the last `n` turns, never starting
    with a function's output (its call would be gone); system turns go to the summary."""
    start = max(0, len(turns) - n)
    while start < len(turns) and turns[start].role == OUTPUT:
        start += 1
    tail = turns[start:]
    return ([t for t in tail if t.role not in _SYSTEM],
            [*turns[:start], *(t for t in tail if t.role in _SYSTEM)])


def context_text(instructions: str | None, summary: str) -> str:
    """A window's context: its instructions, then the summary of what it dropped."""
    return "\n\n".join(part for part in (instructions, summary) if part)


def describe(dropped: Sequence[Turn], model: str) -> str:
    """The built-in summary of dropped turns: deterministic, the same turns always give the
    same text. Earlier windows' context is carried over verbatim, so nothing is summarised
    twice into less."""
    earlier = [t.text for t in dropped if t.role in _SYSTEM]
    rest = [t for t in dropped if t.role not in _SYSTEM]
    lines = [f"Before that:\n{text}" for text in earlier]
    if rest:
        kinds = (("user", "user message"), ("assistant", "assistant answer"),
                 (CALL, "function call"), (OUTPUT, "function output"))
        counts = [_count(sum(t.role == role for t in rest), noun) for role, noun in kinds]
        lines.append(f"Earlier conversation, compacted by {model}: {_count(len(rest), 'turn')} "
                     f"({', '.join(c for c in counts if c)}).")
        for role, label in (("user", "User messages began"),
                            ("assistant", "Assistant answers began")):
            texts = [t.text for t in rest if t.role == role]
            if texts:
                quoted = [f'"{_first_words(text)}"' for text in texts[:_LISTED]]
                lines.append(f"{label}: {_listed(quoted, len(texts))}")
        calls = [t for t in rest if t.role == CALL]
        if calls:
            names = [str(fields(t)["name"]) for t in calls[:_LISTED]]
            lines.append(f"Functions called: {_listed(names, len(calls))}")
    return "\n".join(lines)


def _count(n: int, noun: str) -> str:
    return "" if n == 0 else f"{n} {noun}{'' if n == 1 else 's'}"


def _first_words(text: str) -> str:
    words = text.split()
    full, shown = " ".join(words), " ".join(words[:_FIRST_WORDS])[:80]
    return shown + ("…" if len(shown) < len(full) else "")


def _listed(shown: Sequence[str], total: int) -> str:
    more = total - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")
