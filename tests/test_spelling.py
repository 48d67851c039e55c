"""A misspelt word of a question is read as the retrieved passages spell it, and only then."""

from __future__ import annotations

import pytest

from qa.spelling import corrected, one_edit_apart

PASSAGE = "A total of 405 people have left Chechnya to join the fighting, the Interior Ministry said."


@pytest.mark.parametrize("a, b", [("chechnia", "chechnya"), ("minstry", "ministry"), ("ministyr", "ministry"),
                                  ("miniistry", "ministry"), ("kadyrof", "kadyrov")])
def test_one_letter_added_dropped_changed_or_two_swapped_is_one_edit(a, b):
    assert one_edit_apart(a, b) and one_edit_apart(b, a)


@pytest.mark.parametrize("a, b", [("slovakia", "slovenia"), ("ministry", "ministry"), ("minsitrys", "ministry"),
                                  ("abcd", "badc"), ("austria", "australia")])
def test_two_edits_or_none_is_not_one(a, b):
    assert not one_edit_apart(a, b)


def test_a_word_the_corpus_does_not_know_is_read_as_the_passages_spell_it():
    unknown = lambda word: False  # noqa: E731
    assert corrected("how many left chechnia, said the Minstry?", [PASSAGE], unknown) == \
        "how many left Chechnya, said the Ministry?"


def test_known_words_short_words_and_words_with_no_single_neighbour_stay():
    assert corrected("Who left Chechnia?", [PASSAGE], lambda word: True) == "Who left Chechnia?"
    assert corrected("Who is Toal?", [PASSAGE], lambda word: False) == "Who is Toal?"  # "total": too short to say
    assert corrected("What is the capital of Slovakia?", ["Ljubljana is the capital of Slovenia."],
                     lambda word: False) == "What is the capital of Slovakia?"
    both = ["Mr Hanson met Mr Hansen."]
    assert corrected("Who is Hansan?", both, lambda word: False) == "Who is Hansan?"  # one edit from each


def test_a_misspelt_name_is_searched_and_answered_as_the_corpus_spells_it(assistant):
    spelt = assistant.ask("What did the Russian Interior Ministry say?")
    misspelt = assistant.ask("What did the Russian Interior Minstry say?")
    assert misspelt.query == "What did the Russian Interior Ministry say?"
    assert not misspelt.abstained and misspelt.citations[0].id == spelt.citations[0].id
    assert misspelt.question == "What did the Russian Interior Minstry say?"  # the question as it was asked
