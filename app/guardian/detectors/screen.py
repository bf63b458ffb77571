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
Needs = tuple[frozenset[str], ...]  # sets every match holds a text of each of (all required)
_MAX_NEEDS = 4  # sets kept for one alternative: the most selective


def required_literals(pattern: str) -> list[Needs] | None:
    """What every match of `pattern` contains (compared ignoring case): alternatives, each a
    few sets of texts, such that a match holds a text of every set of one alternative (the
    pattern's top-level branches are the alternatives). None when nothing is known for some
    alternative."""
    try:
        tree = sre_parse.parse(pattern, 0)
    except (re.error, RecursionError, OverflowError):
        return None  # syntax of the `regex` library only: not screened
    items = list(tree.data)
    at = [i for i, (op, _) in enumerate(items) if op is sre.BRANCH]
    if len(at) == 1:  # a·(b|c)·d is a·b·d or a·c·d (the parser draws common prefixes out)
        i = at[0]
        branches = [items[:i] + list(b) + items[i + 1:] for b in items[i][1][1]]
    else:
        branches = [items]
    alternatives = []
    try:
        for branch in branches:
            exact, needs = _sequence(branch)
            needs = _most_selective(needs + _as_needs(exact))
            if not needs:
                return None
            alternatives.append(needs)
    except RecursionError:
        return None
    return alternatives


def _as_needs(exact: Exact) -> Needs:
    if exact is None or "" in exact:
        return ()
    return (exact,)


def _selectivity(need: frozenset[str]) -> tuple[int, int]:
    """The longer the shortest text, then the fewer texts, the fewer texts hold one."""
    return min(map(len, need)), -len(need)


def _most_selective(needs: Needs) -> Needs:
    unique = sorted(set(needs), key=_selectivity, reverse=True)
    return tuple(unique[:_MAX_NEEDS])


def _sequence(items: Iterable[tuple[Any, Any]]) -> tuple[Exact, Needs]:
    run: frozenset[str] = frozenset({""})  # the exact texts of the parts since the last cut
    whole = True  # whether `run` covers every part so far
    needs: Needs = ()
    for item in items:
        exact, inner = _node(*item)
        if exact is not None:
            joined = frozenset(a + b for a in run for b in exact)
            if len(joined) <= _MAX_STRINGS:
                run = joined
                continue
        whole = False
        needs += _as_needs(run) + inner
        run = exact if exact is not None else frozenset({""})
    if whole:
        return run, needs
    return None, needs + _as_needs(run)


def _node(op: Any, av: Any) -> tuple[Exact, Needs]:
    if op is sre.LITERAL:
        return frozenset({chr(av)}), ()
    if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
        return frozenset({""}), ()  # zero width: taken as always true
    if op is sre.SUBPATTERN:
        return _sequence(av[3])
    if op is sre.ATOMIC_GROUP:
        return _sequence(av)
    if op is sre.BRANCH:
        return _branch([_sequence(b) for b in av[1]])
    if op is sre.IN:
        chars = _class(av)
        if chars is None:
            return None, ()
        return (chars, ()) if len(chars) <= _MAX_CLASS else (None, (chars,))
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
        low, high, sub = av
        exact, needs = _sequence(sub)
        if low == high == 1:
            return exact, needs
        if low == 0:
            if high == 1 and exact is not None:
                return exact | {""}, ()
            return (frozenset({""}), ()) if exact == frozenset({""}) else (None, ())
        return None, needs + _as_needs(exact)  # at least once: what one holds
    return None, ()  # any character, a category, a back reference…


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


def _branch(parts: Sequence[tuple[Exact, Needs]]) -> tuple[Exact, Needs]:
    """Any one branch matches: exact texts when every branch has few; else one set, each
    branch's most selective set together (a branch with none leaves nothing known)."""
    exacts = [e for e, _ in parts]
    exact: Exact = None
    if all(e is not None for e in exacts):
        union = frozenset().union(*exacts)  # type: ignore[arg-type]
        exact = union if len(union) <= _MAX_STRINGS else None
    best = [_most_selective(needs + _as_needs(e))[:1] for e, needs in parts]
    if any(not b for b in best):
        return exact, ()
    return exact, (frozenset().union(*(b[0] for b in best)),)


def _re2_literal(text: str) -> str:
    return "".join(c if c.isalnum() and c.isascii() else f"\\x{{{ord(c):x}}}" for c in text)


class Screen(Generic[K]):
    """Which of some keyed patterns may match a text, in one pass: `candidates(text)` holds
    every key whose pattern matches it (and perhaps some whose pattern does not)."""

    __slots__ = ("_always", "_by_first", "_keys", "_set")

    def __init__(self, patterns: Iterable[tuple[K, str | None]]) -> None:
        """`patterns`: each key with its pattern; None for a key that always runs."""
        self._always: list[K] = []  # patterns that cannot be screened
        self._keys: list[K] = []  # those that can, in order
        # An alternative of a key, as the indexes of its sets in the RE2 set, filed under its
        # most selective set's index: only alternatives whose first set matched are looked at.
        self._by_first: dict[int, list[tuple[int, tuple[int, ...]]]] = {}
        index: dict[frozenset[str], int] = {}
        for key, pattern in patterns:
            alternatives = None if pattern is None else required_literals(pattern)
            if alternatives is None:
                self._always.append(key)
                continue
            for needs in alternatives:
                sets = tuple(index.setdefault(need, len(index)) for need in needs)
                self._by_first.setdefault(sets[0], []).append((len(self._keys), sets))
            self._keys.append(key)
        self._set: Any = None
        if index:
            options = re2.Options()
            options.case_sensitive = False
            found = re2.Set.SearchSet(options)
            for need in index:  # in the order of their indexes
                found.Add("|".join(map(_re2_literal, sorted(need))))
            found.Compile()
            self._set = found

    @property
    def screened(self) -> int:
        """How many patterns the screen can rule out (the others always run)."""
        return len(self._keys)

    def candidates(self, text: str) -> list[K]:
        """The keys whose pattern may match `text`: those never screened out first."""
        if self._set is None:
            return self._always
        try:
            hits = self._set.Match(text)
        except UnicodeEncodeError:  # a lone surrogate, which UTF-8 cannot hold: kept as is
            hits = self._set.Match(text.encode("utf-8", "surrogatepass"))
        if not hits:
            return self._always
        held = set(hits)
        chosen: set[int] = set()
        for i in hits:
            for key, sets in self._by_first.get(i, ()):
                if key not in chosen and held.issuperset(sets):
                    chosen.add(key)
        return self._always + [self._keys[k] for k in sorted(chosen)]
