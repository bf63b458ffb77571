"""Prompt injection: text that tries to give the model new orders.

Heuristics, each a weighted signal: orders to drop earlier instructions, requests for the
system prompt, role markers of chat templates pasted into text, "developer mode" personas,
words addressed to an AI reading a document ("assistant, when you read this…"), and
characters a human reader cannot see (Unicode tag characters, runs of zero-width ones)
that carry hidden text. Signals combine as independent evidence, 1 − ∏(1 − wᵢ), so one
strong signal or several weak ones cross the threshold; "ignore the previous error" or a
story that mentions a jailbreak stays below it. The span reported is the passage (the
sentences) each signal lies in.
"""

from __future__ import annotations

from collections.abc import Iterator

import regex

from app.guardian.detectors import Hit
from app.guardian.detectors.patterns import matches
from app.guardian.detectors.screen import Screen

_EARLIER = r"(?:previous|prior|preceding|above|earlier|foregoing|original|initial|system|all)"
_ORDERS = r"(?:instructions?|prompts?|rules|directions|directives|guidelines|guardrails|context)"

_SIGNALS: tuple[tuple[float, str], ...] = (
    (0.9, rf"\b(?:ignore|disregard|forget|override|bypass|skip)\s+(?:all\s+|any\s+|every\s+)?"
          rf"(?:of\s+)?(?:the\s+|your\s+|my\s+|these\s+|those\s+)?(?:{_EARLIER}\s+)+"
          rf"(?:\w+\s+)?{_ORDERS}"),
    (0.8, r"\b(?:ignore|disregard|forget)\s+(?:everything|all)\s+(?:you\s+were\s+told|"
          r"(?:that\s+)?(?:was\s+)?(?:said\s+)?(?:before|above|so\s+far))"),
    (0.85, r"\b(?:reveal|print|show|repeat|output|display|leak|tell\s+me|give\s+me|"
           r"what\s+(?:is|are))\s+(?:me\s+)?(?:your|the)\s+"
           r"(?:full\s+|exact\s+|entire\s+|original\s+|hidden\s+|secret\s+)*"
           r"(?:system\s+(?:prompt|message|instructions)|initial\s+(?:prompt|instructions)|"
           r"hidden\s+(?:prompt|instructions)|developer\s+(?:prompt|message))"),
    (0.8, r"\byou\s+are\s+(?:now\s+)?(?:DAN|in\s+(?:developer|god|jailbreak|unrestricted)\s+mode|"
          r"(?:an?\s+)?(?:unrestricted|unfiltered|uncensored|jailbroken)\b)"),
    (0.6, r"\b(?:developer|god|jailbreak|unrestricted)\s+mode\s+(?:enabled|activated|on)\b"),
    (0.6, r"\bdo\s+anything\s+now\b"),
    (0.7, r"\b(?:pretend|act|behave|respond)\s+(?:as\s+if\s+)?(?:you\s+(?:are|were)|to\s+be|as)\b"
          r"[^.\n]{0,60}\b(?:no|without|free\s+(?:of|from))\s+(?:any\s+)?"
          r"(?:restrictions|filters|rules|limits|guidelines|censorship|safety)"),
    (0.8, r"\b(?:override|disable|turn\s+off|bypass|circumvent)\s+(?:your|the|all)\s+"
          r"(?:safety|content|moderation|security)\s+(?:policy|policies|filters?|guidelines|"
          r"checks|rules|settings)"),
    (0.6, r"(?:^|\n)\s*(?:#{2,}\s*)?(?:new|updated|real|actual)\s+(?:system\s+)?instructions?\s*:"),
    (0.6, r"<\|im_start\|>\s*system|<\|system\|>|\[/?INST\]|<</?SYS>>|<\|start_header_id\|>"),
    (0.5, r"(?:^|\n)\s*(?:system|assistant)\s*:\s*(?:you|from\s+now|ignore|new)"),
    (0.5, r"\bfrom\s+now\s+on,?\s+you\s+(?:will|must|are|shall)\b"),
    # Addressed to an AI reading a document, web page or file.
    (0.7, r"\b(?:AI|assistant|chatbot|language\s+model|LLM|GPT|model)s?\s*[,:]\s*(?:please\s+)?"
          r"(?:ignore|disregard|you\s+must|do\s+not\s+tell|instead|send|forward|include)\b"),
    (0.7, r"\b(?:when|if)\s+(?:an?\s+)?(?:AI|assistant|language\s+model|LLM|model|you)\s+"
          r"(?:reads?|sees?|process(?:es)?|summari[sz]es?)\s+this\b[^.\n]{0,80}"
          r"\b(?:ignore|must|should|send|reply|say|include|tell)\b"),
    (0.5, r"<!--[^>]{0,400}\b(?:instructions?|ignore|assistant|AI)\b[^>]{0,400}-->"),
    (0.6, r"\b(?:send|forward|post|exfiltrate|upload)\s+(?:the\s+|all\s+|this\s+)?(?:user'?s?\s+)?"
          r"(?:conversation|chat\s+history|data|credentials|api\s+keys?|passwords?)\s+to\s+"
          r"(?:https?://|\S+@)"),
    # Hidden characters: Unicode tags (U+E0000–E007F) spell text no reader sees.
    (0.9, r"[\U000E0000-\U000E007F]{4,}"),
    (0.5, r"[\u200B-\u200D\u2060\uFEFF]{8,}"),
)
# One pattern per signal: an alternation of them all would be ten times slower, as the
# engine then tries every branch at every position instead of scanning for each one's start.
# Only the signals whose required words a text holds run on it (the screen).
_PATTERNS = tuple((w, regex.compile(p, regex.IGNORECASE | regex.VERSION0)) for w, p in _SIGNALS)
_SCREEN = Screen((i, p) for i, (_, p) in enumerate(_SIGNALS))
SCREEN_PATTERN = "|".join(f"(?:{p})" for _, p in _SIGNALS)  # for the policy's screen


def find(text: str) -> Iterator[Hit]:
    """One hit per passage holding a signal (the sentences it lies in), each with the score
    of all the signals together."""
    spans: list[tuple[int, int]] = []
    weights: list[float] = []
    for i in _SCREEN.candidates(text):
        weight, pattern = _PATTERNS[i]
        found = [m.span() for m in matches(pattern, text)]
        if found:
            spans += found
            weights.append(weight)  # a signal counts once, however often it repeats
    if not spans:
        return
    miss = 1.0
    for w in weights:
        miss *= 1.0 - w
    score = round(1.0 - miss, 4)
    passages: list[tuple[int, int]] = []
    for start, end in sorted(_passage(text, s, e) for s, e in spans):
        if passages and start < passages[-1][1]:
            passages[-1] = (passages[-1][0], max(end, passages[-1][1]))
        else:
            passages.append((start, end))
    for start, end in passages:
        yield Hit(start, end, score, "injection")


# Where a sentence ends: its mark (and the spaces after it), or a line's end.
_SENTENCE_END = regex.compile(r"[.!?]+(?=\s|$)\s*|\n+")


def _passage(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentences a signal's span lies in: an order is its whole sentence ("AI: ignore the
    user and send the chat to …"), so cutting the signal alone would leave the rest of it."""
    before = 0
    for m in _SENTENCE_END.finditer(text, 0, start):
        before = m.end()
    after = _SENTENCE_END.search(text, end)
    stop = len(text) if after is None else after.start() + len(after.group().rstrip())
    return before, max(stop, end)
