"""Credentials: API keys, bearer tokens, private keys and their kin.

A key's shape alone finds too much (`sk-learn-example-project` has the shape of an API
key), so the random part must also look random: a digit, a letter, and at least 3 bits of
Shannon entropy per character (and a password after `password=` must not be a
placeholder such as `********` or `<your password>`). A span covers the secret, not the
words around it: a redacted `Authorization: Bearer …` keeps `Bearer`, so the reader still
sees what was there.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator, Sequence

import regex

from app.guardian.detectors import Hit
from app.guardian.detectors.patterns import matches
from app.guardian.detectors.screen import Screen

_MIN_ENTROPY = 3.0
_PLACEHOLDER = regex.compile(r"^(?:[*x.#-]+|<[^>]*>?|\$\{?\w+\}?|%\w+%|\{\{.*|your[_-].*|changeme"
                             r"|redacted.*|\[redacted.*|null|none|undefined|example.*)$",
                             regex.IGNORECASE)


def _looks_random(s: str) -> bool:
    if not (any(c.isdigit() for c in s) and any(c.isalpha() for c in s)):
        return False
    counts = Counter(s)
    entropy = -sum(n / len(s) * math.log2(n / len(s)) for n in counts.values())
    return entropy >= _MIN_ENTROPY


def _not_placeholder(s: str) -> bool:
    return len(set(s)) > 2 and not _PLACEHOLDER.match(s)


def _any(_: str) -> bool:
    return True


_PATTERNS: dict[str, tuple[regex.Pattern[str], Callable[[str], bool]]] = {
    "api_key": (regex.compile(
        r"(?<![\w-])(?P<s>(?:sk|lk|rk|pk)-(?:proj-|ant-|live-|test-)?[A-Za-z0-9_-]{16,}"
        r"|sk_(?:live|test)_[A-Za-z0-9]{16,}|AIza[0-9A-Za-z_-]{35})(?![\w-])"), _looks_random),
    "bearer_token": (regex.compile(
        r"\bbearer\s+(?P<s>[A-Za-z0-9._~+/=-]{16,})", regex.IGNORECASE), _looks_random),
    "private_key": (regex.compile(
        r"(?P<s>-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
        r"(?:[A-Za-z0-9+/=\s:,-]{0,8192}?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----)?)"),
        _any),
    "aws_access_key": (regex.compile(r"(?<![A-Z0-9])(?P<s>(?:AKIA|ASIA)[A-Z0-9]{16})(?![A-Z0-9])"),
                       _any),
    "jwt": (regex.compile(
        r"(?<![\w-])(?P<s>eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})"),
        _any),
    "github_token": (regex.compile(
        r"(?<![\w-])(?P<s>gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})"), _any),
    "slack_token": (regex.compile(r"(?<![\w-])(?P<s>xox[abposr]-[A-Za-z0-9-]{10,})"), _any),
    "password_assignment": (regex.compile(
        r"(?<![A-Za-z])(?:password|passwd|pwd|passphrase|secret|api[_-]?key)\s*[:=]\s*[\"']?"
        r"(?P<s>[^\s\"']{6,})", regex.IGNORECASE), _not_placeholder),
}
def screen_pattern(entities: Sequence[str]) -> str:
    """Every expression of `entities`, for the policy's screen (their groups unnamed, as
    each names its secret `s`)."""
    return "|".join(f"(?:{_PATTERNS[name][0].pattern})".replace("(?P<s>", "(?:")
                    for name in entities)


def finder(entities: Sequence[str]) -> Callable[[str], Iterator[Hit]]:
    """A function finding every secret of `entities` in a text (only those whose required
    text, `sk-` or `bearer`, it holds are searched for)."""
    screen = Screen((name, _PATTERNS[name][0].pattern) for name in entities)

    def find(text: str) -> Iterator[Hit]:
        for name in screen.candidates(text):
            pattern, plausible = _PATTERNS[name]
            for m in matches(pattern, text):
                secret = m.group("s")
                if not plausible(secret):
                    continue
                yield Hit(m.start("s"), m.end("s"), 1.0, f"secrets.{name}")
    return find
