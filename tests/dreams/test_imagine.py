"""The dream's thinking, without a database: links, scenarios, critique, proposals."""

from __future__ import annotations

import numpy as np

from app.dreams import imagine
from app.dreams.types import Constraints, Recalled, Scenario


def constraints(**kw: object) -> Constraints:
    base: dict[str, object] = {"max_steps": 100, "max_scenarios": 5,
                               "time_budget_seconds": 60.0, "memory": True, "indexes": (),
                               "must_include": (), "must_exclude": (), "lanes": None}
    return Constraints(**{**base, **kw})  # type: ignore[arg-type]


def memory(i: int, text: str, score: float = 0.5, at: float | None = 1000.0,
           source: str = "memory") -> Recalled:
    return Recalled(f"mem_{i:016x}", text, score, source, "idx_1", "default",  # type: ignore[arg-type]
                    at)


MEMORIES = [
    memory(1, "Anna lives in Lisbon and loves the sea.", 0.9, at=1000.0),
    memory(2, "Anna is learning to sail in Lisbon.", 0.8, at=2000.0),
    memory(3, "Bruno climbs mountains near Porto every May.", 0.4, at=10_000_000.0),
    memory(4, "Anna does not love the sea.", 0.3, at=20_000_000.0),
]


def test_links_name_their_reasons_strongest_first() -> None:
    links = imagine.associate(MEMORIES, {})
    first = links[0]
    assert (first.a, first.b) == (MEMORIES[0].id, MEMORIES[1].id)
    assert first.shared == ["lisbon"] and "entity" in first.kinds and "time" in first.kinds
    assert [link.weight for link in links] == sorted((link.weight for link in links),
                                                     reverse=True)
    # Bruno shares nothing with Anna's memories and was not written near them.
    assert all(MEMORIES[2].id not in (link.a, link.b) for link in links)


def test_similarity_uses_the_stored_embeddings_of_one_index() -> None:
    a, b = memory(1, "alpha"), memory(2, "beta")
    vectors = {a.id: np.array([1.0, 0.0], np.float32), b.id: np.array([1.0, 0.0], np.float32)}
    assert imagine.similarity(a, b, vectors) == 1.0
    assert imagine.similarity(a, b, {}) == 0.0  # no shared words either
    other = Recalled("mem_2", "beta", 0.5, "index", "idx_2", "default", None)
    assert imagine.similarity(a, other, vectors) == 0.0, "two models' vectors are not compared"


def test_scenarios_are_deterministic_and_cite_what_they_recombine() -> None:
    links = imagine.associate(MEMORIES, {})
    c = constraints(max_scenarios=3)
    once = imagine.scenarios("dream_ab", "the sea", MEMORIES, links, c)
    again = imagine.scenarios("dream_ab", "the sea", MEMORIES, list(links), c)
    assert once == again
    assert len(once) == 3
    by_id = {m.id: m for m in MEMORIES}
    for s in once:
        assert s.text.startswith('Dreaming of "the sea": what if')
        assert s.cites and all(by_id[i].text in s.text for i in s.cites)
    assert [s.id for s in once] == [f"scn_ab_{i}" for i in range(3)]


def test_a_single_memory_is_turned_around_and_none_makes_no_scenario() -> None:
    one = imagine.scenarios("dream_x", "s", MEMORIES[2:3], [], constraints())
    assert len(one) == 1 and one[0].cites == [MEMORIES[2].id]
    assert "the opposite of" in one[0].text
    assert imagine.scenarios("dream_x", "s", [], [], constraints()) == []


def test_must_include_steers_the_choice_and_the_critique() -> None:
    links = imagine.associate(MEMORIES, {})
    c = constraints(max_scenarios=1, must_include=("sail",))
    [chosen] = imagine.scenarios("dream_x", "s", MEMORIES, links, c)
    assert MEMORIES[1].id in chosen.cites
    assert imagine.critique(chosen, MEMORIES, c).missing == []
    lacking = Scenario("scn_1", "What if Bruno stayed home?", [MEMORIES[2].id])
    verdict = imagine.critique(lacking, MEMORIES, c)
    assert verdict.verdict == "rejected" and verdict.missing == ["sail"]


def test_critique_finds_contradictions_and_excluded_terms() -> None:
    both = Scenario("scn_1", "What if Anna loved and hated the sea?",
                    [MEMORIES[0].id, MEMORIES[3].id])
    verdict = imagine.critique(both, MEMORIES, constraints(must_exclude=("hated",)))
    assert verdict.verdict == "rejected"
    assert {"memory": MEMORIES[0].id, "contradicted_by": MEMORIES[3].id} in \
        verdict.contradictions
    assert verdict.excluded == ["hated"]
    fine = Scenario("scn_2", "What if Bruno sailed to Lisbon in May?",
                    [MEMORIES[1].id, MEMORIES[2].id])
    ok = imagine.critique(fine, MEMORIES, constraints())
    assert ok.verdict == "accepted" and ok.reasons == []
    assert ok.support == round((0.8 + 0.4) / 2, 6)
    assert 0.0 < ok.novelty <= 1.0
    ghost = Scenario("scn_3", "What if?", ["mem_unknown"])
    assert imagine.critique(ghost, MEMORIES, constraints()).verdict == "rejected"


def test_contradiction_needs_a_negation_on_one_side_only() -> None:
    assert imagine.contradicts("The sky is blue.", "The sky is not blue.")
    assert not imagine.contradicts("The sky is not blue.", "The sky isn't blue.")
    assert not imagine.contradicts("I like tea.", "I never drink coffee.")


def test_proposals_merge_the_long_term_memories_of_accepted_scenarios() -> None:
    indexed = Recalled("mem_i", "Bruno keeps a logbook.", 0.5, "index", "idx_2", "default", 1.0)
    memories = [*MEMORIES, indexed]
    fine = Scenario("scn_a", "x", [MEMORIES[2].id, MEMORIES[1].id])
    contradicted = Scenario("scn_b", "y", [MEMORIES[0].id, MEMORIES[1].id])
    with_index = Scenario("scn_c", "z", [MEMORIES[1].id, indexed.id])
    scenarios = [fine, contradicted, with_index]
    critiques = [imagine.critique(s, memories, constraints()) for s in scenarios]
    assert [k.verdict for k in critiques] == ["accepted", "rejected", "accepted"]
    [proposal] = imagine.proposals("dream_q", scenarios, critiques, memories)
    assert proposal.scenario == "scn_a"
    assert proposal.members == sorted([MEMORIES[1].id, MEMORIES[2].id])
    assert proposal.statement == MEMORIES[2].text, "the newest member's statement"
    assert proposal.fold.startswith("fold_") and proposal.outcome == "proposed"
    # An index's document is the caller's curated data: a dream reads it, never folds it.
    assert imagine.proposals("dream_q", [with_index], critiques[2:], memories) == []
