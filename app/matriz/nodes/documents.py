"""Documents node: answer from the caller's files by quoting the sentence that best matches.

Extractive only, as recall is: the answer is one sentence of one source, verbatim, with its
file's name and the source's number as a citation marker `[n]`. The question's key words
are its words less common ones, lower-cased, with plain endings folded ("refunds",
"refunded" → "refund"). A sentence matches when it holds at least half of them; the best
holds the most, ties going to the better-ranked source, then to the earlier sentence. When
no sentence matches, the node says so rather than quote something beside the point.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from app.matriz.nodes.types import Check

if TYPE_CHECKING:
    from app.matriz.retrieval import Source

MIN_COVERAGE = 0.5  # the share of the question's key words a quoted sentence must hold
MAX_QUOTE = 400  # characters; a longer sentence is quoted from its start, in part
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_BOUNDARY = re.compile(r"(?<=[.!?])\s+|\s*\n\s*")
_MARKER = re.compile(r"\[\d{1,3}\]")
_COMMON_WORDS = """
a about above after again against all also am an and any are as at be because been before
being below between both but by can could did do does doing done down during each either
else ever every few for from further get gets got had has have having he her here hers him
his how i if in into is it its it's itself just know let me more most much must my myself no
nor not now of off on once only or other our ours out over own please same say says shall
she should so some such tell than that the their theirs them then there these they this
those through to too under until up us very was we were what what's when where which while
who whom whose why will with within without would you your yours file files document
documents doc docs
"""
_COMMON = frozenset(_COMMON_WORDS.split())

QuotationStatus = Literal["no_words", "not_found", "found"]


@dataclass(frozen=True, slots=True)
class Quotation:
    """The documents node's finding for one question."""

    status: QuotationStatus
    searched: int  # passages searched
    quote: str = ""  # verbatim from the cited source's text
    source: int = 0  # the cited source's number (1 for the first), 0 for none
    partial: bool = False  # the sentence was longer than MAX_QUOTE: its start is quoted
    text: str = ""  # the sentence for the user
    notes: tuple[str, ...] = ()


def key_words(text: str) -> dict[str, str]:
    """The words of `text` that say what it is about: each folded form, with the word as
    first written."""
    words: dict[str, str] = {}
    for word in _WORD.findall(text):
        lower = word.lower()
        if lower not in _COMMON and len(lower) > 1:
            words.setdefault(_fold(lower), word)
    return words


@lru_cache(maxsize=65536)  # natural text repeats its words
def _fold(word: str) -> str:
    """Plain English endings off, so "policies" meets "policy" and "parking" meets "park"."""
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("es") and word[:-2].endswith(("s", "x", "z", "ch", "sh")) \
            and len(word) > 4:
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        word = word[:-1]
    elif word.endswith("ing") and len(word) > 5:
        word = word[:-3]
    elif word.endswith("ed") and len(word) > 4:
        word = word[:-2]
    # "purchase", "purchased" and "purchasing" meet at "purchas".
    return word[:-1] if word.endswith("e") and len(word) > 4 else word


def _sentences(text: str) -> Iterator[tuple[int, str]]:
    """The sentences of a passage (stripped, verbatim) with their positions."""
    start = 0
    for boundary in [*_BOUNDARY.finditer(text), None]:
        end = len(text) if boundary is None else boundary.start()
        piece = text[start:end].strip()
        if piece:
            yield start + text[start:end].index(piece), piece
        start = len(text) if boundary is None else boundary.end()


def quote(question: str, sources: Sequence[Source]) -> Quotation:
    """The sentence of the sources that best answers the question, or why there is none."""
    asked = key_words(question)
    n = len(sources)
    passages = f"{n} passage{'' if n == 1 else 's'} the file search found"
    if not sources:
        return Quotation("not_found", 0, notes=("documents: the file search found no "
                                                "passage in your files",))
    if not asked:
        return Quotation("no_words", n, notes=(f"documents: the question has no key words "
                                               f"to look for in {passages}",))
    looked = (f"documents: looked for {len(asked)} key word{'' if len(asked) == 1 else 's'} "
              f"({_list(list(asked.values()))}) in {passages}")
    best: tuple[int, int, int] | None = None  # (held, source number, position)
    best_sentence = ""
    for number, source in enumerate(sources, 1):
        for position, sentence in _sentences(source.text):
            if _MARKER.search(sentence):  # it would read as a citation of its own
                continue
            held = len(asked.keys() & key_words(sentence).keys())
            if held and (best is None or held > best[0]):
                best, best_sentence = (held, number, position), sentence
    if best is None or best[0] / len(asked) < MIN_COVERAGE:
        closest = "no sentence holds any of them" if best is None else (
            f"the closest sentence, in [{best[1]}] {sources[best[1] - 1].filename}, holds "
            f"{best[0]} of {len(asked)}, under half")
        return Quotation("not_found", n, notes=(looked, f"documents: {closest}: no quote"))
    held, number, _ = best
    source = sources[number - 1]
    cited = best_sentence
    partial = len(cited) > MAX_QUOTE
    if partial:
        cut = cited.rfind(" ", 0, MAX_QUOTE)
        cited = cited[: cut if cut > 0 else MAX_QUOTE].rstrip()
    where = f"{source.filename} (in part)" if partial else source.filename
    text = f'From {where}: "{cited}" [{number}]'
    found = (f"documents: best match in [{number}] {source.filename} ({held} of {len(asked)} "
             f"key words): \"{_clip(cited)}\"")
    return Quotation("found", n, cited, number, partial, text, (looked, found))


def validate_quotation(found: Quotation, sources: Sequence[Source]) -> Check:
    """Check that the quote is verbatim in the source it cites, and cites nothing else."""
    if found.status != "found" or not 1 <= found.source <= len(sources):
        return Check(False, "validation: the quotation does not point at a source")
    source = sources[found.source - 1]
    if not found.quote or found.quote not in source.text:
        return Check(False, f"validation: the quote does not appear verbatim in "
                     f"[{found.source}] {source.filename}")
    if not found.text.endswith(f'"{found.quote}" [{found.source}]'):
        return Check(False, "validation: the answer does not carry the quote and its citation")
    if _MARKER.findall(found.text) != [f"[{found.source}]"]:
        return Check(False, "validation: the answer holds a citation marker besides its own")
    return Check(True, f"validation: the quote appears verbatim in [{found.source}] "
                 f"{source.filename}")


def searched(found: Quotation) -> str:
    """What the node searched, for the user."""
    if found.searched == 0:
        return "I searched your files and found nothing for this question"
    passages = f"{found.searched} passage{'' if found.searched == 1 else 's'}"
    if found.status == "no_words":
        return (f"your question has no words I could look for in the {passages} that I "
                "found in your files")
    if found.status == "found":  # found, but its quote failed validation
        return ("I found a sentence in your files that could answer it but could not verify "
                "the quote, so I won't repeat it")
    return (f"I searched {passages} of your files but none of them says enough about it to "
            "quote")


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _list(words: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(f"'{w}'" for w in words[:limit])
    return shown + (", …" if len(words) > limit else "")
