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

Where a pattern bounds a word (`\\b`, a negative lookaround for a word character, or a part
that can only be a space or a mark before or after the literal), the literal keeps that
boundary, and the RE2 set looks for it at word boundaries only (`\\bkill you\\b`). RE2
builds its DFA's states as texts meet them, and a set of 1,300 literals searched at every
position met new states in nearly every new text (a request's question): building them was
most of what the screen cost in a request. At word starts only, far fewer are met (measured
with bench/guardian_instructions.py: 87,000 instructions less per request).

Where the `hyperscan` package is installed (its wheels are for x86-64; `pyproject.toml` asks
for it there), the same sets are one Hyperscan database instead of the RE2 set: its literal
matcher reads a few small tables where RE2's automaton walks one state a character, and a
pass is the part of a request that the host's other tenants push out of the last-level cache
most (docs/guardian-enforcement.md). Both engines find the same sets
(tests/guardian/test_screen.py runs its checks on each). And a policy's screens (one for
each direction and kind of text) share one pair of compiled sets (`Literals`): a request's
question and its answer are screened in the same memory, and a policy compiles two sets, not
sixteen. Switched in one process (bench/screen_engines.py), a request with a new question
cost 3.8 to 8.7 µs less on shared Hyperscan sets than on shared RE2 ones (against Hyperscan
sets of each screen's own: -2.9 and +0.9 µs in two runs, within a busy host's noise).
"""

from __future__ import annotations

import functools
import importlib
import re
import threading
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any, Generic, Literal, TypeVar

import re2
import regex

hyperscan: Any
try:
    import hyperscan
except ImportError:  # no wheel for this platform: RE2 alone
    hyperscan = None

# Python's parser of `re` syntax (private modules, stable since 3.11; no stubs name them).
sre_parse: Any = importlib.import_module("re._parser")
sre: Any = importlib.import_module("re._constants")
_MAX_STRINGS = 32  # strings a set of exact texts may hold before only its best part is kept
_MAX_CLASS = 8  # characters of a class ([sz]) taken as alternatives
_MAX_RANGE = 128  # characters of a class ([\u200b-\u200d]) one of which is required

K = TypeVar("K", bound=Hashable)
Engine = Literal["hyperscan", "re2"]
# The engines this machine has, and the one that finds a screen's sets of literals (Screen's
# `engine` when not given).
ENGINES: list[Engine] = ["re2", "hyperscan"] if hyperscan is not None else ["re2"]
ENGINE: Engine = ENGINES[-1]
# Where a pattern puts a word boundary, in the texts `required_literals(…, bounds=True)`
# gives: a noncharacter, which no text is meant to hold (a pattern's own is taken as unknown).
BOUND = "\uffff"
_BOUND = frozenset({BOUND})
_NOT_UNICODE = sre.SRE_FLAG_ASCII | sre.SRE_FLAG_LOCALE
# A word character as the policy's patterns mean it (the `regex` library's `\w`, which its
# `\b` bounds; not `re`'s: they differ on 30,000 characters, superscripts and combining
# marks among them).
_WORD = regex.compile(r"\w")
Exact = frozenset[str] | None  # every text a part can match, when there are few
Needs = tuple[frozenset[str], ...]  # sets every match holds a text of each of (all required)
_MAX_NEEDS = 4  # sets kept for one alternative: the most selective


def required_literals(pattern: str, *, bounds: bool = False) -> list[Needs] | None:
    """What every match of `pattern` contains (compared ignoring case): alternatives, each a
    few sets of texts, such that a match holds a text of every set of one alternative (the
    pattern's top-level branches are the alternatives). None when nothing is known for some
    alternative. `bounds`: the texts hold BOUND where the pattern puts a word boundary
    (`\\b`, or a negative lookaround for a word character), so that a word of a text can be
    known to stand whole in every match."""
    try:
        tree = sre_parse.parse(pattern, 0)
    except (re.error, RecursionError, OverflowError):
        return None  # syntax of the `regex` library only: not screened
    # A word boundary of ASCII or locale rules is not the Unicode one (`_WORD`) the rest of
    # the screen reasons with: with such a flag anywhere, no boundary is marked.
    bounds = bounds and not (tree.state.flags & _NOT_UNICODE or _scoped_flags(tree.data))
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
            exact, needs = _sequence(branch, bounds)
            needs = _most_selective(needs + _as_needs(exact))
            if not needs:
                return None
            alternatives.append(needs)
    except RecursionError:
        return None
    return alternatives


def _scoped_flags(items: Any) -> bool:
    """Whether a group of `items` sets the ASCII or locale flag (`(?a:…)`)."""
    for op, av in items:
        if op is sre.SUBPATTERN and (av[1] & _NOT_UNICODE or _scoped_flags(av[3])):
            return True
        if op is sre.BRANCH and any(_scoped_flags(b) for b in av[1]):
            return True
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT, sre.ASSERT,
                  sre.ASSERT_NOT) and _scoped_flags(av[-1]):
            return True
        if op is sre.ATOMIC_GROUP and _scoped_flags(av):
            return True
    return False


def _as_needs(exact: Exact) -> Needs:
    if exact is None or any(not t.replace(BOUND, "") for t in exact):
        return ()
    return (exact,)


def _selectivity(need: frozenset[str]) -> tuple[int, int]:
    """The longer the shortest text, then the fewer texts, the fewer texts hold one."""
    return min(len(t) - t.count(BOUND) for t in need), -len(need)


def _most_selective(needs: Needs) -> Needs:
    unique = sorted(set(needs), key=_selectivity, reverse=True)
    return tuple(unique[:_MAX_NEEDS])


def _sequence(items: Iterable[tuple[Any, Any]], bounds: bool,
              apart: bool = False) -> tuple[Exact, Needs]:
    """The exact texts of `items` when there are few, and what every match of them holds;
    `apart`: the character before them is never a word character (with `bounds`)."""
    # (bounds) The character before the part at hand is never a word character: a text of
    # the parts from there starts a word, where it starts with one (BOUND marks it).
    apart = apart and bounds
    # The exact texts of the parts since the last cut.
    run: frozenset[str] = frozenset({BOUND if apart else ""})
    whole = True  # whether `run` covers every part so far
    needs: Needs = ()
    for item in items:
        exact, inner = _node(*item, bounds, apart)
        edges = _edges(*item) if bounds else _UNKNOWN
        if exact is not None:
            joined = frozenset(a + b for a in run for b in exact)
            if len(joined) <= _MAX_STRINGS:
                run = joined
                apart = _apart_after(apart, edges)
                continue
        whole = False
        if edges[0] and not edges[2]:  # the part's first character is never a word's
            run = frozenset(t + BOUND for t in run)
        needs += _as_needs(run) + inner
        # The part's texts follow one of `run`'s: where each of those ends at a boundary
        # or with a character no word holds, the part starts a word as well
        # (`\b(?:all |the )?(?:cats|dogs)`: after `\b`, or after a space).
        start = BOUND if apart or (bounds and _ends_apart(run)) else ""
        apart = _apart_after(apart, edges)
        if exact is not None:
            run = frozenset(start + b for b in exact)
        else:
            run = frozenset({BOUND if apart else ""})
    if whole:
        return run, needs
    return None, needs + _as_needs(run)


def _ends_apart(texts: frozenset[str]) -> bool:
    """Whether each text ends where a word may not go on: at a word boundary (BOUND), or
    with a character that is not a word character."""
    return all(t.endswith(BOUND) or (t and not _WORD.match(t[-1])) for t in texts)


Edges = tuple[bool, bool, bool]  # first and last characters never a word's; may be empty
_UNKNOWN: Edges = (False, False, True)
_ZERO_WIDTH: Edges = (True, True, True)


def _apart_after(apart: bool, edges: Edges) -> bool:
    """Whether the character before what follows a part is never a word character."""
    return edges[1] and (apart or not edges[2])


def _edges(op: Any, av: Any) -> Edges:
    """Of a part of a pattern: whether every match of it that is not empty starts, and
    ends, with a character that is not a word character (`regex`'s `\\w`), and whether it
    may match the empty text. What is not known is False, False, True."""
    if op is sre.LITERAL:
        apart = not _WORD.match(chr(av))
        return apart, apart, False
    if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
        return _ZERO_WIDTH
    if op is sre.IN:
        apart = _apart_class(av)
        return apart, apart, False
    if op is sre.SUBPATTERN:
        return _sequence_edges(av[3])
    if op is sre.ATOMIC_GROUP:
        return _sequence_edges(av)
    if op is sre.BRANCH:
        parts = [_sequence_edges(b) for b in av[1]]
        return (all(p[0] for p in parts), all(p[1] for p in parts),
                any(p[2] for p in parts))
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
        first, last, empty = _sequence_edges(av[2])
        return first, last, empty or av[0] == 0
    return _UNKNOWN


def _sequence_edges(items: Iterable[tuple[Any, Any]]) -> Edges:
    edges = [_edges(*item) for item in items]

    def side(parts: Iterable[Edges], at: int) -> bool:
        for part in parts:  # the first part that cannot be empty decides; those before too
            if not part[at]:
                return False
            if not part[2]:
                return True
        return True
    return side(edges, 0), side(reversed(edges), 1), all(e[2] for e in edges)


_SPACE_LIKE = frozenset({sre.CATEGORY_SPACE, sre.CATEGORY_NOT_WORD, sre.CATEGORY_LINEBREAK})


def _apart_class(items: Sequence[tuple[Any, Any]]) -> bool:
    """Whether a class holds no word character (`[ .-]`, `\\s`)."""
    for op, av in items:
        if op is sre.LITERAL:
            if _WORD.match(chr(av)):
                return False
        elif op is sre.RANGE:
            if av[1] - av[0] > _MAX_RANGE or any(
                    _WORD.match(chr(c)) for c in range(av[0], av[1] + 1)):
                return False
        elif not (op is sre.CATEGORY and av in _SPACE_LIKE):
            return False  # a negated class, digits, words…
    return True


def _node(op: Any, av: Any, bounds: bool, apart: bool = False) -> tuple[Exact, Needs]:
    if op is sre.LITERAL:
        return (frozenset({chr(av)}), ()) if chr(av) != BOUND else (None, ())
    if bounds and ((op is sre.AT and av is sre.AT_BOUNDARY)
                   or (op is sre.ASSERT_NOT and _word_class(av[1]))):
        return _BOUND, ()  # zero width, a word on one side of it at most
    if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
        return frozenset({""}), ()  # zero width: taken as always true
    if op is sre.SUBPATTERN:
        return _sequence(av[3], bounds, apart)
    if op is sre.ATOMIC_GROUP:
        return _sequence(av, bounds, apart)
    if op is sre.BRANCH:
        return _branch([_sequence(b, bounds, apart) for b in av[1]])
    if op is sre.IN:
        chars = _class(av)
        if chars is None:
            return None, ()
        return (chars, ()) if len(chars) <= _MAX_CLASS else (None, (chars,))
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
        low, high, sub = av
        # A repetition after the first starts after the last one's end.
        exact, needs = _sequence(sub, bounds, apart and (
            high == 1 or (bounds and _sequence_edges(sub)[1])))
        if low == high == 1:
            return exact, needs
        if low == 0:
            if high == 1 and exact is not None:
                return exact | {""}, ()
            return (frozenset({""}), ()) if exact == frozenset({""}) else (None, ())
        return None, needs + _as_needs(exact)  # at least once: what one holds
    return None, ()  # any character, a category, a back reference…


def _word_class(items: Any) -> bool:
    """Whether a lookaround's pattern is one class holding every word character (`[\\w-]`):
    not preceded (or followed) by one, a word of the match starts (or ends) there."""
    if len(items) != 1 or items[0][0] is not sre.IN:
        return False
    members = items[0][1]
    return (sre.CATEGORY, sre.CATEGORY_WORD) in members and not any(
        op is sre.NEGATE for op, _ in members)


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


def _literal(text: str, escape: Callable[[str], str]) -> str:
    """`text` (a required text) as an expression of the engine finding the sets: its
    characters each written by `escape`, and where it holds BOUND beside an ASCII word
    character, `\\b` there. RE2's word boundary (and Hyperscan's, on bytes) is ASCII's, and
    the pattern's (`regex`) Unicode's: a character that is not a word character to Unicode
    is none to ASCII, so beside an ASCII word character every boundary of the pattern's is
    one of the engine's (elsewhere BOUND is dropped). That holds of the text's characters,
    which `Screen.candidates` makes sure of (`_AS_ASCII`)."""
    out = []
    for i, c in enumerate(text):
        if c != BOUND:
            out.append(escape(c))
        elif any(_ascii_word(n) for n in text[i - 1:i] + text[i + 1:i + 2]):
            out.append("\\b")
    return "".join(out)


def _re2_char(c: str) -> str:
    return c if c.isalnum() and c.isascii() else f"\\x{{{ord(c):x}}}"


def _ascii_word(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c == "_")


# The characters outside ASCII that `regex` takes for an ASCII letter when it ignores case
# (every one, found by trying them all): the Kelvin sign, the long s, and the Turkish capital
# I with and without its dot (which RE2 does not fold). A text holding one is screened also
# with the letter in its place, so that it meets a boundary where the pattern does.
_AS_ASCII = str.maketrans({"\u212a": "k", "\u017f": "s", "\u0130": "i", "\u0131": "i"})


def _one_char(need: frozenset[str]) -> frozenset[str] | None:
    """A set holding a one-character text, as the set of its texts' first characters: found
    in nearly every text, it costs the RE2 set more than any other (a pass over a text then
    keeps matching), so it is checked apart, as a class of characters. Every text holding
    one of the set's texts holds one of those characters: this only widens the screen. None
    for a set whose texts are all longer."""
    if min(map(len, need)) > 1:
        return None
    return frozenset(t[0] for t in need)


def _ranges(chars: Iterable[str]) -> str:
    """A character class of `chars`, runs of code points as ranges (`re` tries a class's
    members one by one: a range is one test)."""
    points = sorted(map(ord, chars))
    out, i = [], 0
    while i < len(points):
        j = i
        while j + 1 < len(points) and points[j + 1] == points[j] + 1:
            j += 1
        out.append(re.escape(chr(points[i])) + ("" if j == i else "-" + re.escape(chr(points[j]))))
        i = j + 1
    return "[" + "".join(out) + "]"


class _CharClass:
    """Some characters, found case ignored as the RE2 set ignores it (Screen._has): in an
    ASCII text (most are, and `str.isascii` knows it at once) on its UTF-8 bytes, a byte
    value at a time (`memchr`: a tenth of the instructions of deleting them all with
    `bytes.translate` and comparing lengths); in any other text by a `re` class with
    IGNORECASE (Unicode simple case folding, as RE2)."""

    __slots__ = ("ascii", "other")

    def __init__(self, chars: frozenset[str]) -> None:
        # What an ASCII text may hold of the class: its characters' ASCII case variants
        # (the Kelvin sign's are k and K).
        variants = {v for c in chars for v in (c, c.lower(), c.upper())}
        self.ascii = tuple(sorted(ord(v) for v in variants if len(v) == 1 and v.isascii()))
        self.other = re.compile(_ranges(chars), re.IGNORECASE)


def _hs_char(c: str) -> str:
    """A character of a required text for Hyperscan, matched on bytes: ASCII's as itself
    (its case ignored by the flag), another as the UTF-8 bytes of any of its case variants.
    (Hyperscan's UTF-8 mode needs every text to be valid UTF-8, and one holding a lone
    surrogate is not; on bytes its `\\b` is ASCII's, as RE2's.)"""
    if c.isascii():
        return c if c.isalnum() else f"\\x{ord(c):02x}"
    return "(?:" + "|".join(
        "".join(f"\\x{b:02x}" for b in v.encode("utf-8", "surrogatepass"))
        for v in sorted(_case_variants(c))) + ")"


def _case_variants(c: str) -> set[str]:
    """`c` and the characters Unicode's case mappings of one character lead to, and from
    those on (`Σ`, `σ`, `ς`): the characters RE2 takes for `c` when it ignores case."""
    seen, todo = set(), [c]
    while todo:
        one = todo.pop()
        if one not in seen:
            seen.add(one)
            todo += [v for v in (one.lower(), one.upper(), one.casefold()) if len(v) == 1]
    return seen


def _found(need: int, start: int, end: int, flags: int, hits: list[int]) -> None:
    hits.append(need)


class _HyperscanSet:
    """`needs` as one Hyperscan database, each need one expression (its texts as
    alternatives) reported once a pass; `Match` as RE2's set's. Shared by the policies
    compiled from the same sets, and safe on any thread: a pass runs without the
    interpreter's lock, in the database's scratch space, and one that finds it in use by
    another thread's pass runs in a scratch space of its thread's own."""

    __slots__ = ("_db", "_spares")

    def __init__(self, needs: Sequence[frozenset[str]]) -> None:
        expressions = ["|".join(_literal(t, _hs_char) for t in sorted(need)).encode()
                       for need in needs]
        self._db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        flags = hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_SINGLEMATCH
        self._db.compile(expressions=expressions, ids=list(range(len(expressions))),
                         elements=len(expressions), flags=[flags] * len(expressions))
        self._spares = threading.local()

    def Match(self, data: bytes) -> list[int]:  # RE2's name for it
        """The indexes of the needs `data` holds."""
        hits: list[int] = []
        try:
            # Positional: the extension parses keywords by a slower path, whose code a
            # request finds out of the caches (2 to 3 µs more a pass then, measured).
            self._db.scan(data, _found, 0, hits)
        except hyperscan.ScratchInUseError:  # another thread's pass holds the database's
            hits.clear()  # (refused before it began)
            self._db.scan(data, _found, 0, hits, self._spare())
        return hits

    def _spare(self) -> Any:
        """This thread's own scratch space for the database."""
        scratch = getattr(self._spares, "scratch", None)
        if scratch is None:
            scratch = self._spares.scratch = hyperscan.Scratch(self._db)
        return scratch


@functools.lru_cache(maxsize=32)
def _compiled(engine: Engine, needs: tuple[frozenset[str], ...]) -> Any:
    """One set of `needs` (each found by any of its texts, case ignored), by `engine`: its
    Match gives the indexes of the needs a text holds, empty for none. None for no needs.
    Kept for the next policy made of the same sets (a reload that changed other things, an
    app started again in the same process): Hyperscan takes a second to compile a policy's."""
    if not needs:
        return None
    if engine == "hyperscan":
        return _HyperscanSet(needs)
    return _re2_set(needs)


class Literals:
    """The sets of literals of one screen, or of several (a policy's): two compiled sets,
    those alternatives are filed under, searched in every text, and those they need besides,
    searched only in a text holding one of the first: short words most of them (`a `, `the`,
    `your`), found in most texts, which in the first set made every pass slower and found
    nothing that counts. Screens sharing them read one automaton (Hyperscan's tables, RE2's
    states) for all their texts: a request's question and its answer are screened in the
    same memory, where a screen of each kind of text had sets of its own."""

    __slots__ = ("_first", "_later", "engine", "index", "others", "searched", "set")

    def __init__(self, engine: Engine | None = None) -> None:
        self.engine: Engine = engine or ENGINE
        self._first: dict[frozenset[str], None] = {}  # in the order the screens gave them
        self._later: dict[frozenset[str], None] = {}
        self.index: dict[frozenset[str], int] = {}  # each set's index in its compiled set
        self.set: Any = None  # the sets searched in every text (indexes from 0)
        self.others: Any = None  # the rest (indexes from `searched`)
        self.searched = 0

    def add(self, first: Iterable[frozenset[str]], later: Iterable[frozenset[str]]) -> None:
        self._first.update(dict.fromkeys(first))
        self._later.update(dict.fromkeys(later))

    def bind(self, screens: Iterable[Screen[Any]]) -> None:
        """Compile the sets `screens` (made with these literals) added, and file their
        alternatives under the sets' indexes."""
        first = list(self._first)  # a set some screen files under is searched in every text
        later = [need for need in self._later if need not in self._first]
        self.index = {need: i for i, need in enumerate(first + later)}
        self.searched = len(first)
        self.set = _compiled(self.engine, tuple(first))
        self.others = _compiled(self.engine, tuple(later))
        for screen in screens:
            screen._bind()


def _re2_set(needs: Sequence[frozenset[str]]) -> Any:
    """One RE2 set of `needs`, as the extension's own object (the wrapper's Match adds a
    Python call to each pass)."""
    options = re2.Options()
    options.case_sensitive = False
    found = re2.Set.SearchSet(options)
    for need in needs:
        found.Add("|".join(_literal(t, _re2_char) for t in sorted(need)))
    found.Compile()
    return getattr(found, "_set", found)


class Screen(Generic[K]):
    """Which of some keyed patterns may match a text, in one pass: `candidates(text)` holds
    every key whose pattern matches it (and perhaps some whose pattern does not).

    The sets of texts of two characters or more are found by one compiled set (`Literals`,
    RE2's or Hyperscan's); a set holding a text of one character (a digit, `@`, a space) is
    found by a character class of its own, searched only when an alternative needs it: such
    a set is in nearly every text, and in the RE2 set it made every pass three times
    slower."""

    __slots__ = ("_always", "_chars", "_direct", "_filing", "_keys", "_literals", "_loose",
                 "_loose_ascii", "_others", "_rest", "_searched", "_set")

    def __init__(self, patterns: Iterable[tuple[K, str | None]],
                 engine: Engine | None = None, literals: Literals | None = None) -> None:
        """`patterns`: each key with its pattern; None for a key that always runs.
        `engine`: what finds the sets (ENGINE when None). `literals`: sets shared with other
        screens (a policy's), compiled once they all were made, before `bind(screens)`;
        None: sets of its own."""
        self._always: list[K] = []  # patterns that cannot be screened
        self._keys: list[K] = []  # those that can, in order
        # An alternative of a key, as its sets and the indexes of its character classes,
        # filed under its most selective set: only alternatives whose first set matched are
        # looked at. Alternatives with no set: only character classes (checked always).
        loose: list[tuple[int, tuple[int, ...]]] = []
        chars: dict[frozenset[str], int] = {}
        filing: list[tuple[int, list[frozenset[str]], tuple[int, ...]]] = []
        for key, pattern in patterns:
            alternatives = None if pattern is None else required_literals(pattern,
                                                                          bounds=True)
            if alternatives is None:
                self._always.append(key)
                continue
            for needs in alternatives:
                sets, classes = [], []
                for need in needs:
                    one = _one_char(frozenset(t.replace(BOUND, "") for t in need))
                    if one is None:
                        sets.append(need)
                    else:
                        classes.append(chars.setdefault(one, len(chars)))
                if sets:
                    filing.append((len(self._keys), sets, tuple(classes)))
                else:
                    loose.append((len(self._keys), tuple(classes)))
            self._keys.append(key)
        # What a pass then does per hit, laid out ahead: the loose alternatives grouped by
        # their classes; the filed ones once the sets have their indexes (`_bind`).
        grouped: dict[tuple[int, ...], set[int]] = {}
        for position, needed in loose:
            grouped.setdefault(needed, set()).add(position)
        self._loose = [(needed, frozenset(indexes)) for needed, indexes in grouped.items()]
        # Case is ignored as RE2's set ignores it (simple case folding, `re.IGNORECASE`).
        self._chars = [_CharClass(one) for one in chars]
        # Those an ASCII text may meet: every class of theirs holds an ASCII character
        # (not the injection rules' zero-width and look-alike characters).
        self._loose_ascii = [(needed, keys) for needed, keys in self._loose
                             if all(self._chars[c].ascii for c in needed)]
        self._filing = filing
        self._literals = literals or Literals(engine)
        self._literals.add([sets[0] for _, sets, _ in filing],
                           [need for _, sets, _ in filing for need in sets[1:]])
        self._direct: dict[int, frozenset[int]] = {}
        self._rest: dict[int, list[tuple[int, tuple[int, ...], tuple[int, ...]]]] = {}
        self._set: Any = None
        self._others: Any = None
        self._searched = 0
        if literals is None:  # its own sets
            self._literals.bind([self])

    def _bind(self) -> None:
        """File the alternatives under the indexes their sets have in the (compiled) sets."""
        literals = self._literals
        index = literals.index
        by_first: dict[int, list[tuple[int, tuple[int, ...], tuple[int, ...]]]] = {}
        for position, required, needed in self._filing:
            ids = tuple(index[need] for need in required)
            by_first.setdefault(ids[0], []).append((position, ids, needed))
        # The keys of the alternatives that need nothing but their first set (most), and the
        # rest, to check against the other hits and classes.
        for first, filed in by_first.items():
            direct = frozenset(a[0] for a in filed if len(a[1]) == 1 and not a[2])
            rest = [a for a in filed if len(a[1]) > 1 or a[2]]
            if direct:
                self._direct[first] = direct
            if rest:
                self._rest[first] = rest
        self._set, self._others, self._searched = literals.set, literals.others, literals.searched

    @property
    def screened(self) -> int:
        """How many patterns the screen can rule out (the others always run)."""
        return len(self._keys)

    def candidates(self, text: str) -> list[K]:
        """The keys whose pattern may match `text`: those never screened out first."""
        hits: list[int] | None = None
        loose = self._loose_ascii
        if not text.isascii():
            loose = self._loose
            as_ascii = text.translate(_AS_ASCII)
            if as_ascii != text:
                text = f"{text}\n{as_ascii}"
        # A lone surrogate, which UTF-8 cannot hold, is kept as is.
        data = text.encode("utf-8", "surrogatepass")
        if self._set is not None:
            hits = self._set.Match(data)
        if not hits and not loose:
            return self._always
        found: dict[int, bool] = {}  # the character classes searched so far
        chosen: set[int] = set()
        for classes, keys in loose:
            if not keys <= chosen and self._has(classes, text, data, found):
                chosen |= keys
        if hits:
            held: set[int] | None = None
            for i in hits:
                direct = self._direct.get(i)
                if direct is not None:
                    chosen |= direct
                rest = self._rest.get(i)
                if rest is None:
                    continue
                if held is None:  # the other sets, searched now
                    held = set(hits)
                    if self._others is not None:
                        held.update(j + self._searched for j in self._others.Match(data))
                for key, sets, classes in rest:
                    if key not in chosen and held.issuperset(sets) and (
                            not classes or self._has(classes, text, data, found)):
                        chosen.add(key)
        if not chosen:
            return self._always
        return self._always + [self._keys[k] for k in sorted(chosen)]

    def _has(self, classes: tuple[int, ...], text: str, data: bytes,
             found: dict[int, bool]) -> bool:
        """Whether `text` holds a character of each of `classes` (`found`: those known)."""
        ascii_text = text.isascii()
        for c in classes:
            known = found.get(c)
            if known is None:
                chars = self._chars[c]
                known = found[c] = (any(map(data.__contains__, chars.ascii)) if ascii_text
                                    else chars.other.search(text) is not None)
            if not known:
                return False
        return True
