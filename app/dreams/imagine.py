"""The dream's thinking, as pure functions: the same memories and seed give the same result.

- `associate` links recalled memories that name the same entities, say similar things (the
  cosine of their stored embeddings, or the overlap of their words across indexes) or were
  written close in time.
- `scenarios` (the built-in model) recombines the strongest links into "what if" statements,
  each citing the memories it joins; ties are broken by a hash of the seed, never by chance.
- `critique` checks a scenario against the constraints and against every recalled memory for
  contradictions (one statement and its negation), and scores its novelty and support.
- `proposals` turns the accepted scenarios into merges of their long-term memories.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from itertools import combinations

import numpy as np

from app.dreams.types import Constraints, Critique, Link, Proposal, Recalled, Scenario

_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
_NEGATIONS = frozenset({"not", "no", "never", "none", "nobody", "nothing", "neither", "nor",
                        "cannot", "isn't", "aren't", "wasn't", "weren't", "don't", "doesn't",
                        "didn't", "won't", "can't", "hasn't", "haven't", "n't"})
_STOP = frozenset("""a an the and or but if then so of to in on at by for with from as is are
was were be been being am it its this that these those i you he she we they me my your our
their his her them us do does did have has had will would can could should may might must
what which who whom whose when where why how all any some each also just very more most than
too into about over under again there here out up down off only own same such""".split())  # noqa: SIM905
SIMILAR = 0.5  # a similarity at or above this links two memories
NEAR_TIME_S = 86_400.0  # written within a day of each other
QUOTE_CHARS = 200  # how much of a memory a scenario quotes


def words(text: str) -> list[str]:
    """The text's words, lower-cased."""
    return [w.lower() for w in _WORD.findall(text)]


def _stem(word: str) -> str:
    # Enough to see "loves", "loved" and "love" as one word; not a linguist's stemmer.
    for suffix in ("ing", "ed", "s", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
    return word


def terms(text: str) -> set[str]:
    """Its content words, stemmed: no stop words, no negations."""
    return {_stem(w) for w in words(text)
            if w not in _STOP and w not in _NEGATIONS and len(w) > 1}


def entities(text: str) -> set[str]:
    """What it names: capitalised words after a sentence's first word, and numbers."""
    found: set[str] = set()
    for sentence in re.split(r"[.!?]\s+", text):
        for i, word in enumerate(_WORD.findall(sentence)):
            if word[0].isdigit() or (i > 0 and word[0].isupper()):
                found.add(word.lower())
    return found


def _negated(text: str) -> bool:
    return any(w in _NEGATIONS or w.endswith("n't") for w in words(text))


def jaccard(a: set[str], b: set[str]) -> float:
    """|a ∩ b| / |a ∪ b| (0 for two empty sets)."""
    return len(a & b) / len(a | b) if a or b else 0.0


def contradicts(a: str, b: str) -> bool:
    """One says what the other denies: one is negated, the other not, and the shorter one's
    content words (two at least) are nearly all in the longer one."""
    if _negated(a) == _negated(b):
        return False
    ta, tb = terms(a), terms(b)
    shorter = min(len(ta), len(tb))
    return shorter >= 2 and len(ta & tb) / shorter >= 0.75


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.dot(a, b) / norm) if norm > 0 else 0.0


def similarity(a: Recalled, b: Recalled, vectors: Mapping[str, np.ndarray]) -> float:
    """The cosine of their embeddings when one model made both, else their word overlap."""
    if a.index_id == b.index_id and a.id in vectors and b.id in vectors:
        return round(_cosine(vectors[a.id], vectors[b.id]), 6)
    return round(jaccard(terms(a.text), terms(b.text)), 6)


def associate(memories: Sequence[Recalled], vectors: Mapping[str, np.ndarray]) -> list[Link]:
    """Every linked pair, strongest first (ties in the order of the memories)."""
    named = {m.id: entities(m.text) for m in memories}
    links: list[Link] = []
    for a, b in combinations(memories, 2):
        shared = sorted(named[a.id] & named[b.id])
        sim = similarity(a, b, vectors)
        near = a.at is not None and b.at is not None and abs(a.at - b.at) <= NEAR_TIME_S
        kinds = [k for k, yes in (("entity", bool(shared)), ("similarity", sim >= SIMILAR),
                                  ("time", near)) if yes]
        if not kinds:
            continue
        weight = round(max(sim, 0.0) + 0.25 * len(shared) + (0.1 if near else 0.0), 6)
        links.append(Link(a.id, b.id, kinds, shared, sim, weight))
    order = {m.id: i for i, m in enumerate(memories)}
    links.sort(key=lambda link: (-link.weight, order[link.a], order[link.b]))
    return links


def _tiebreak(seed: str, *ids: str) -> str:
    return hashlib.sha256("\x00".join((seed, *ids)).encode()).hexdigest()


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= QUOTE_CHARS else flat[: QUOTE_CHARS - 1] + "…"


def scenario_id(dream_id: str, position: int) -> str:
    """A scenario's id: its dream's, and its place in it."""
    return f"scn_{dream_id.removeprefix('dream_')[:24]}_{position}"


def scenarios(dream_id: str, seed: str, memories: Sequence[Recalled], links: Sequence[Link],
              c: Constraints) -> list[Scenario]:
    """Up to `c.max_scenarios` recombinations: linked pairs first (those covering more of
    `must_include`, then stronger), each memory in at most two; then single memories turned
    around. Deterministic: ties go by a hash of the seed and the memories' ids."""
    by_id = {m.id: m for m in memories}
    wanted = [t.lower() for t in c.must_include]

    def covers(text: str) -> int:
        low = text.lower()
        return sum(t in low for t in wanted)

    ranked = sorted(links, key=lambda link: (
        -covers(by_id[link.a].text + " " + by_id[link.b].text), -link.weight,
        _tiebreak(seed, link.a, link.b)))
    used: dict[str, int] = {}
    made: list[Scenario] = []
    lead = f'Dreaming of "{_quote(seed)}": '
    for link in ranked:
        if len(made) >= c.max_scenarios:
            break
        if used.get(link.a, 0) >= 2 or used.get(link.b, 0) >= 2:
            continue
        a, b = by_id[link.a], by_id[link.b]
        why = (f" Both speak of {', '.join(link.shared)}." if link.shared
               else " They were close in time." if link.kinds == ["time"] else "")
        text = f'{lead}what if "{_quote(a.text)}" and "{_quote(b.text)}" were one story?{why}'
        made.append(Scenario(scenario_id(dream_id, len(made)), text, [a.id, b.id]))
        for cited in (a.id, b.id):
            used[cited] = used.get(cited, 0) + 1
    singles = sorted((m for m in memories if m.id not in used),
                     key=lambda m: (-covers(m.text), -m.score, _tiebreak(seed, m.id)))
    for m in singles:
        if len(made) >= c.max_scenarios:
            break
        text = f'{lead}what if the opposite of "{_quote(m.text)}" were true?'
        made.append(Scenario(scenario_id(dream_id, len(made)), text, [m.id]))
    return made


def critique(scenario: Scenario, memories: Sequence[Recalled], c: Constraints) -> Critique:
    """The scenario checked against the constraints and the memories, with its scores."""
    by_id = {m.id: m for m in memories}
    low = scenario.text.lower()
    missing = [t for t in c.must_include if t.lower() not in low]
    excluded = [t for t in c.must_exclude if t.lower() in low]
    cited = [by_id[i] for i in scenario.cites if i in by_id]
    contradictions = [{"memory": m.id, "contradicted_by": other.id}
                      for m in cited for other in memories
                      if other.id != m.id and contradicts(m.text, other.text)]
    support = round(sum(max(0.0, min(1.0, m.score)) for m in cited) / len(scenario.cites), 6) \
        if scenario.cites else 0.0
    own = terms(_without_lead(scenario.text))
    closest = max((jaccard(own, terms(m.text)) for m in memories), default=0.0)
    novelty = round(1.0 - closest, 6)
    reasons: list[str] = []
    if missing:
        reasons.append(f"lacks required terms: {', '.join(missing)}")
    if excluded:
        reasons.append(f"contains excluded terms: {', '.join(excluded)}")
    if len(cited) < len(scenario.cites) or not scenario.cites:
        reasons.append("cites memories the dream did not recall" if scenario.cites
                       else "cites no memory")
    if contradictions:
        reasons.append(f"{len(contradictions)} contradiction(s) with the recalled memories")
    return Critique(scenario.id, "rejected" if reasons else "accepted", reasons, missing,
                    excluded, contradictions, novelty, support)


def _without_lead(text: str) -> str:
    # The built-in scenario's lead (`Dreaming of "…": `) holds the seed's words, not its own.
    head, sep, rest = text.partition('": ')
    return rest if sep and head.startswith('Dreaming of "') else text


def proposals(dream_id: str, scenarios_: Sequence[Scenario], critiques: Sequence[Critique],
              memories: Sequence[Recalled]) -> list[Proposal]:
    """For each accepted scenario joining two or more long-term memories, a merge of them
    into one fold; the newest member's statement is what the fold says (as recall reads)."""
    by_id = {m.id: m for m in memories}
    verdicts = {c.scenario: c.verdict for c in critiques}
    made: list[Proposal] = []
    for s in scenarios_:
        members = sorted({i for i in s.cites if i in by_id and by_id[i].source == "memory"})
        if verdicts.get(s.id) != "accepted" or len(members) < 2:
            continue
        newest = max((by_id[i] for i in members), key=lambda m: (m.at or 0.0, m.id))
        fold = "fold_" + hashlib.sha256("\x00".join(members).encode()).hexdigest()[:24]
        made.append(Proposal(f"prop_{dream_id.removeprefix('dream_')[:24]}_{len(made)}",
                             s.id, fold, members, newest.text))
    return made
