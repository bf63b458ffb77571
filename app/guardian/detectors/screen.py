"""One pass over a text to tell which of many patterns may match it.

Most texts match no rule, yet a scan that runs every rule's expression pays for all of them
(the `regex` engine tries a pattern with a leading `\\b` or alternation at every position).
So each pattern is reduced to literals one of which every match of it contains (its
required literals: `kill you` or `murder you` for `\\bI (?:will|gonna) (?:kill|murder) you\\b`),
and one RE2 set (linear time, one pass whatever the number of patterns) finds which
patterns' literals the text holds. Only those patterns then run, on their own engine, with
their own semantics: the screen only ever widens what runs, never decides a match.

The literals come from the pattern's syntax tree (Python's own parser, whose syntax is the
`regex` library's VERSION0). Zero-width parts (anchors, word boundaries, lookarounds) are
taken as matching anything, which only widens the screen; literals are matched ignoring
case, which widens it too. A pattern with no required literal (`\\d{4}`), or in syntax that
parser does not know, is never screened out.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Hashable, Iterable, Sequence
from typing import Any, Generic, TypeVar

import re2

# Python's parser of `re` syntax (private modules, stable since 3.11; no stubs name them).
sre_parse: Any = importlib.import_module("re._parser")
sre: Any = importlib.import_module("re._constants")
_MAX_STRINGS = 32  # strings a set of exact texts may hold before only its best part is kept
_MAX_CLASS = 8  # characters of a class ([sz]) taken as alternatives
_MAX_RANGE = 128  # characters of a class ([\u200b-\u200d]) one of which is required

K = TypeVar("K", bound=Hashable)
Exact = frozenset[str] | None  # every text a part can match, when there are few
Need = frozenset[str] | None  # texts one of which every match holds; None: nothing known
_ANY: tuple[Exact, Need] = (None, None)
_EMPTY: tuple[Exact, Need] = (frozenset({""}), None)


def required_literals(pattern: str) -> frozenset[str] | None:
    """Texts one of which every match of `pattern` contains (compared ignoring case), or
    None when no such set is known."""
    try:
        tree = sre_parse.parse(pattern, 0)
    except (re.error, RecursionError, OverflowError):
        return None  # syntax of the `regex` library only: not screened
    try:
        exact, need = _sequence(tree.data)
    except RecursionError:
        return None
    return _better(need, _as_need(exact))


def _as_need(exact: Exact) -> Need:
    if exact is None or "" in exact:
        return None
    return exact


def _better(a: Need, b: Need) -> Need:
    """The more selective of two requirements: the longer shortest text, then fewer texts."""
    if a is None or b is None:
        return a if b is None else b
    key_a = (min(map(len, a)), -len(a))
    key_b = (min(map(len, b)), -len(b))
    return a if key_a >= key_b else b


def _sequence(items: Iterable[tuple[Any, Any]]) -> tuple[Exact, Need]:
    run: frozenset[str] | None = frozenset({""})  # the exact texts of the parts so far
    whole = True  # whether `run` covers every part so far
    best: Need = None
    for item in items:
        exact, need = _node(*item)
        if exact is not None and run is not None:
            joined = frozenset(a + b for a in run for b in exact)
            if len(joined) <= _MAX_STRINGS:
                run = joined
                continue
        whole = False
        best = _better(best, _as_need(run))
        best = _better(best, need)
        run = exact if exact is not None else frozenset({""})
    best = _better(best, _as_need(run))
    return (run if whole else None), best


def _node(op: Any, av: Any) -> tuple[Exact, Need]:
    if op is sre.LITERAL:
        return frozenset({chr(av)}), None
    if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
        return _EMPTY  # zero width: taken as always true
    if op is sre.SUBPATTERN:
        return _sequence(av[3])
    if op is sre.ATOMIC_GROUP:
        return _sequence(av)
    if op is sre.BRANCH:
        return _branch([_sequence(b) for b in av[1]])
    if op is sre.IN:
        chars = _class(av)
        if chars is None:
            return _ANY
        return (chars, None) if len(chars) <= _MAX_CLASS else (None, chars)
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
        low, high, sub = av
        exact, need = _sequence(sub)
        if low == high == 1:
            return exact, need
        if low == 0:
            if high == 1 and exact is not None:
                return exact | {""}, None
            return _EMPTY if exact == frozenset({""}) else _ANY
        return None, need if need is not None else _as_need(exact)
    return _ANY  # any character, a category, a back reference…


def _class(items: Sequence[tuple[Any, Any]]) -> frozenset[str] | None:
    """The characters of a class of literals and ranges, when there are few; None for a
    negated class, a category (\\w) or a large range."""
    chars: set[str] = set()
    for op, av in items:
        if op is sre.LITERAL:
            chars.add(chr(av))
        elif op is sre.RANGE and av[1] - av[0] < _MAX_RANGE:
            chars.update(map(chr, range(av[0], av[1] + 1)))
        else:
            return None
    return frozenset(chars) if len(chars) <= _MAX_RANGE else None


def _branch(parts: Sequence[tuple[Exact, Need]]) -> tuple[Exact, Need]:
    exacts = [e for e, _ in parts]
    exact: Exact = None
    if all(e is not None for e in exacts):
        union = frozenset().union(*exacts)  # type: ignore[arg-type]
        exact = union if len(union) <= _MAX_STRINGS else None
    needs = [_better(n, _as_need(e)) for e, n in parts]
    if any(n is None for n in needs):
        return exact, None
    return exact, frozenset().union(*needs)  # type: ignore[arg-type]


def _re2_literal(text: str) -> str:
    return "".join(c if c.isalnum() and c.isascii() else f"\\x{{{ord(c):x}}}" for c in text)


class Screen(Generic[K]):
    """Which of some keyed patterns may match a text, in one pass: `candidates(text)` holds
    every key whose pattern matches it (and perhaps some whose pattern does not)."""

    __slots__ = ("_always", "_keys", "_set")

    def __init__(self, patterns: Iterable[tuple[K, str | None]]) -> None:
        """`patterns`: each key with its pattern; None for a key that always runs."""
        self._always: list[K] = []  # patterns that cannot be screened
        self._keys: list[K] = []  # by index in the set
        screened: list[tuple[K, frozenset[str]]] = []
        for key, pattern in patterns:
            literals = None if pattern is None else required_literals(pattern)
            if literals is None:
                self._always.append(key)
            else:
                screened.append((key, literals))
        self._set: Any = None
        if screened:
            options = re2.Options()
            options.case_sensitive = False
            found = re2.Set.SearchSet(options)
            for key, literals in screened:
                found.Add("|".join(map(_re2_literal, sorted(literals))))
                self._keys.append(key)
            found.Compile()
            self._set = found

    @property
    def screened(self) -> int:
        """How many patterns the screen can rule out (the others always run)."""
        return len(self._keys)

    def candidates(self, text: str) -> list[K]:
        """The keys whose pattern may match `text`: those never screened out first."""
        hits = self._set.Match(text) if self._set is not None else None
        if not hits:
            return self._always
        return self._always + [self._keys[i] for i in sorted(hits)]
