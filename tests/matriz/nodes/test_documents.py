"""The documents node: quoting the caller's files, verbatim and cited, or saying why not."""

from __future__ import annotations

import dataclasses

from app.core.turns import Turn
from app.matriz.nodes import reason
from app.matriz.nodes.documents import (
    MAX_QUOTE,
    Quotation,
    key_words,
    quote,
    validate_quotation,
)
from app.matriz.retrieval import Source

SOURCES = [
    Source("mem_1", "handbook.md", "idx_1", "Welcome aboard. Refunds are accepted within 30 "
           "days of purchase for online orders.\nStore purchases differ.", 0.7),
    Source("mem_2", "faq.md", "idx_1", "Online orders ship in two days. Refunds for online "
           "orders take a week.", 0.5),
]


def test_key_words_fold_plain_endings_and_drop_common_words() -> None:
    assert set(key_words("What are the policies on parking and refunded purchases?")) == {
        "policy", "park", "refund", "purchas"}
    assert key_words("Refunds, refund") == {"refund": "Refunds"}
    assert key_words("what is it?") == {}


def test_the_sentence_holding_most_key_words_is_quoted() -> None:
    found = quote("What is the refund window for online orders?", SOURCES)
    assert found.status == "found" and found.source == 1
    assert found.quote == "Refunds are accepted within 30 days of purchase for online orders."
    assert found.text == f'From handbook.md: "{found.quote}" [1]'
    assert validate_quotation(found, SOURCES).ok


def test_ties_go_to_the_better_ranked_source_then_the_earlier_sentence() -> None:
    found = quote("online orders", SOURCES)
    assert (found.source, found.quote) == (1, SOURCES[0].text.split(". ")[1].split("\n")[0])
    found = quote("online orders", SOURCES[::-1])
    assert (found.source, found.quote) == (1, "Online orders ship in two days.")


def test_below_half_of_the_key_words_nothing_is_quoted() -> None:
    found = quote("What is the warranty on refurbished laptops for online orders?", SOURCES)
    assert found.status == "not_found" and found.quote == "" and found.searched == 2
    assert "holds 2 of 5, under half" in found.notes[-1]
    assert quote("Tell me about refunds", []).status == "not_found"
    assert quote("what is it?", SOURCES).status == "no_words"


def test_a_long_sentence_is_quoted_in_part_and_verbatim() -> None:
    long = "Refunds " + "and more words " * 60 + "end."
    found = quote("refunds?", [Source("mem_9", "long.md", "idx_1", long, 0.4)])
    assert found.partial and len(found.quote) <= MAX_QUOTE and long.startswith(found.quote)
    assert found.text.startswith('From long.md (in part): "Refunds and more')
    assert validate_quotation(found, [Source("mem_9", "long.md", "idx_1", long, 0.4)]).ok


def test_a_sentence_that_looks_like_a_citation_is_not_quoted() -> None:
    sources = [Source("mem_1", "a.md", "idx_1", "Refunds take 30 days [2].", 0.9),
               Source("mem_2", "b.md", "idx_1", "Refunds are slow.", 0.1)]
    found = quote("refunds", sources)
    assert (found.source, found.quote) == (2, "Refunds are slow.")


def test_validation_refuses_what_the_source_does_not_say() -> None:
    found = quote("What is the refund window for online orders?", SOURCES)
    for bad in (dataclasses.replace(found, quote="Refunds are accepted forever."),
                dataclasses.replace(found, source=2),
                dataclasses.replace(found, source=3),
                dataclasses.replace(found, text=found.text + " See also [2]."),
                Quotation("not_found", 2)):
        assert not validate_quotation(bad, SOURCES).ok


def test_the_reasoner_quotes_after_arithmetic_and_recall() -> None:
    history = [Turn("user", "My favourite colour is teal.", "input 1")]
    assert reason("What is my favourite colour?", history, SOURCES).node == "recall"
    assert reason("What is 3*3?", history, SOURCES).node == "arithmetic"
    answer = reason("What is the refund window for online orders?", history, SOURCES)
    assert answer.node == "documents" and answer.citations == ("mem_1",)
    assert answer.summary[-1] == "validation: the quote appears verbatim in [1] handbook.md"
    unknown = reason("Who won the match?", history, SOURCES)
    assert unknown.node == "unknown" and unknown.citations == ()
    assert unknown.text.startswith("I don't know. I searched 2 passages of your files but "
                                   "none of them says enough about it to quote. ")
    # Without a file search the reasoner is as it was.
    assert reason("Who won the match?", history).text.startswith(
        "I don't know. I looked for an arithmetic expression")
