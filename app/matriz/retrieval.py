"""File search: the caller's own indexes searched for the question before the answer.

A Responses request's `file_search` tool becomes a `FileSearch` on the run; the Memory stage
has it searched (owner-scoped: an index of someone else is a 404, as in `/v1/indexes`) and
its passages become the answer's numbered sources. A routed model reads them as one system
message (`sources_message`) and cites them as `[n]`; the built-in reasoner quotes the one
that best matches (`nodes/documents.py`). What was found is kept as a turn of the
conversation (`SEARCHED`), so a chain continued later still knows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from app.core.turns import Turn
from app.db.repositories.memory import Condition
from app.identity.base import Identity

# The role of the turn that holds what a search found, in the stored conversation.
SEARCHED = "file_search_call"
# How much of each passage that turn keeps: every later turn of the conversation reads it.
KEPT_CHARS = 600


@dataclass(frozen=True, slots=True)
class Source:
    """One passage a search found: a document of one of the caller's indexes."""

    file_id: str  # the document's id
    filename: str  # its metadata's `filename`, else the name of its index
    index_id: str
    text: str
    score: float  # the index's similarity (cosine for a cosine index), higher is closer
    attributes: dict[str, str | float | bool] = field(default_factory=dict)


@dataclass(slots=True)
class FileSearch:
    """A request's file_search tool and, once the Memory stage ran it, what it found."""

    id: str  # the output item's id, `fs_…`
    index_ids: tuple[str, ...]
    max_results: int
    param: str  # where the request named the tool, for errors: "tools[0]"
    attributes: Condition | None = None
    score_threshold: float | None = None
    queries: list[str] = field(default_factory=list)
    sources: list[Source] | None = None  # None until searched

    def found(self) -> list[Source] | None:
        """What the answer reads: the sources, or None when there was no question to search
        for (a turn of function outputs only), which is not the same as finding nothing."""
        return self.sources if self.queries else None


class Searcher(Protocol):
    """What searches the caller's indexes (the indexes service)."""

    async def file_search(self, identity: Identity, search: FileSearch, query: str) -> None:
        """Check the indexes are the caller's (404 naming the id), then, for a query with
        words, fill `search.queries` and `search.sources`, best first."""
        ...


def sources_message(sources: Sequence[Source]) -> str:
    """The passages as the system message a routed model reads, numbered for citing."""
    if not sources:
        return "File search found nothing in the user's files for this question."
    blocks = "\n\n".join(f"[{n}] {s.filename} ({s.file_id})\n{s.text}"
                         for n, s in enumerate(sources, 1))
    return ("File search found these passages in the user's files. Use them where they help, "
            "and cite each one you use by its number in square brackets, as [1], right after "
            f"what it supports.\n\n{blocks}")


def searched_turn(queries: Sequence[str], found: Sequence[tuple[str, str]],
                  source: str) -> Turn:
    """What one search found (`(filename, text)` pairs), as a turn of the conversation;
    each passage cut to KEPT_CHARS."""
    asked = "; ".join(f'"{q}"' for q in queries) or "nothing"
    passages = "\n".join(f"- {name}: {_kept(text)}" for name, text in found) or "- nothing"
    return Turn(SEARCHED, f"File search earlier in this conversation, for {asked}, found:\n"
                f"{passages}", source)


def found_turn(search: FileSearch, source: str) -> Turn | None:
    """What the search found, as the turn the conversation keeps (None if it did not run)."""
    found = search.found()
    if found is None:
        return None
    return searched_turn(search.queries, [(s.filename, s.text) for s in found], source)


def _kept(text: str) -> str:
    return text if len(text) <= KEPT_CHARS else text[: KEPT_CHARS - 1] + "…"
