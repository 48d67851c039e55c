"""A misspelt word of a question is read as the retrieved passages spell it, and only then."""

from __future__ import annotations

import json

import pytest

from qa.config import Config
from qa.service import Assistant
from qa.spelling import CommonWords, common_words, corrected, corrections, one_edit_apart, vocabulary_words

PASSAGE = "A total of 405 people have left Chechnya to join the fighting, the INTERIOR MINISTRY and the Ministry said."
UNKNOWN = lambda word: False  # noqa: E731  a corpus that knows no word of the question


def fixed(question: str, passages: list[str], known=UNKNOWN) -> str:
    return corrected(question, corrections(question, passages, known))


@pytest.mark.parametrize("a, b", [("chechnia", "chechnya"), ("minstry", "ministry"), ("ministyr", "ministry"),
                                  ("miniistry", "ministry"), ("kadyrof", "kadyrov")])
def test_one_letter_added_dropped_changed_or_two_swapped_is_one_edit(a, b):
    assert one_edit_apart(a, b) and one_edit_apart(b, a)


@pytest.mark.parametrize("a, b", [("slovakia", "slovenia"), ("ministry", "ministry"), ("minsitrys", "ministry"),
                                  ("abcd", "badc"), ("austria", "australia")])
def test_two_edits_or_none_is_not_one(a, b):
    assert not one_edit_apart(a, b)


def test_a_word_the_corpus_does_not_know_is_read_as_the_passages_spell_it_in_the_case_it_was_asked():
    assert fixed("how many left chechnia, said the Minstry?", [PASSAGE]) == "how many left chechnya, said the Ministry?"
    assert fixed("How many left Chechnia?", [PASSAGE]) == "How many left Chechnya?"


def test_known_words_stopwords_short_words_and_words_with_no_single_neighbour_stay():
    assert fixed("Who left Chechnia?", [PASSAGE], known=lambda word: True) == "Who left Chechnia?"
    assert fixed("Who is Toal?", [PASSAGE]) == "Who is Toal?"  # "total": too short to say
    assert fixed("Where were their soldiers?", ["Three soldiers and the heir were there."]) == \
        "Where were their soldiers?"  # a stopword is never the corpus's word, and never a slip
    assert fixed("Who is Hansan?", ["Mr Hanson met Mr Hansen."]) == "Who is Hansan?"  # one slip from each


@pytest.mark.parametrize("question, passage", [
    ("When did Laos gain independence?", "Lagos was its capital."),  # another real name, a letter longer
    ("what does the cost cover", "The coast is rocky."),  # a word of four letters is never read as another
    ("Who is Toal?", "Total attendance was 405."),
])
def test_a_word_of_four_letters_stays_as_it_is(question, passage):
    assert fixed(question, [passage]) == question


def test_a_title_s_words_count_for_a_passage_that_does_not_name_its_subject():
    passage = "He produced artificial lightning, with discharges of millions of volts."
    assert fixed("What did Teesla produce?", [passage]) == "What did Teesla produce?"
    assert fixed("What did Teesla produce?", ["Nikola Tesla", passage]) == "What did Tesla produce?"


def test_a_possessive_is_read_without_its_ending_on_either_side():
    assert fixed("When did Lanfau propose his problems?", ["Landau's problems are four."]) == \
        "When did Landau propose his problems?"
    assert fixed("What were Lanfau’s problems?", ["Landau proposed four problems."]) == "What were Landau’s problems?"
    assert fixed("What did Jon's men do?", ["John's men left."]) == "What did Jon's men do?"  # "Jon": too short
    assert fixed("There's a ship; where did it sink?", ["Three ships sank."]) == \
        "There's a ship; where did it sink?"  # not a possessive: "There" is a stopword


@pytest.mark.parametrize("question, passage", [
    ("What is the capital of Slovakia?", "Ljubljana is the capital of Slovenia."),  # two slips
    ("What is the capital of Gambia?", "Lusaka is the capital of Zambia."),  # the first letter
    ("What did Petrov say?", "Petrova said the talks had failed."),  # a last letter added
    ("Where does Petrova live?", "Petrov lives in Kazan."),  # a last letter dropped
])
def test_another_real_name_is_never_read_as_the_one_asked(question, passage):
    assert fixed(question, [passage]) == question


# A stand-in for common_words(): each word one slip from a word of a case below.
COMMON = CommonWords({"throw", "machine", "things", "thighs", "word", "warding", "wage", "waded", "invented",
                    "investing", "email", "north", "cost", "coast", "facade"})


@pytest.mark.parametrize("question, expected", [
    ("How many yards did Manning trhow?", "How many yards did Manning throw?"),  # the passage says "throwing"
    ("what is a turing mcahine", "what is a turing machine"),
    ("what did trhow's author say", "what did throw's author say"),  # a possessive, read without its ending
    ("what thigs did he say", "what thigs did he say"),  # "things" or "thighs": two neighbours
    ("what was the wording", "what was the wording"),  # "word" with an ending, not "warding"'s slip
    ("when were they waged", "when were they waged"),  # "wage" with an ending, not "waded"'s slip
    ("what was he inventing", "what was he inventing"),  # "invented" with its ending changed, not "investing"
    ("What did Trhow say?", "What did Trhow say?"),  # capitalised: a name, which only the corpus spells
    ("send an e-mail", "send an e-mail"),  # only words of letters alone, not "email"
    ("a façade of it", "a façade of it"),  # only words of the letters a to z, not "facade"
    ("how far nrth", "how far nrth"),  # four letters: too short, as for the passages' words
])
def test_a_lower_case_word_no_passage_holds_is_read_as_the_one_common_word_a_slip_away(question, expected):
    passage = "Manning was throwing for 2,249 yards."
    assert corrected(question, corrections(question, [passage], UNKNOWN, COMMON)) == expected


def test_a_word_the_passages_hold_a_slip_away_comes_before_the_common_words():
    assert fixed("who left chechnia", [PASSAGE]) == "who left chechnya"
    question = "who left for the figting"  # "fighting" of the passage, not the common word "fitting"
    assert corrected(question, corrections(question, [PASSAGE], UNKNOWN, CommonWords({"fitting"}))) \
        == "who left for the fighting"


def test_the_common_words_are_the_encoder_s_and_the_shipped_list_of_those_it_lacks():
    common, vocabulary = common_words().words, vocabulary_words()
    assert {"throw", "machine", "educational", "france"} <= vocabulary  # the bundled encoder's whole words
    assert {"lessen", "prosper"} <= common - vocabulary  # words.txt: written in lower case in Wikipedia
    assert not {"trhow", "mcahine", "##ing", "Throw"} & common
    assert all(len(w) >= 4 and w.isalpha() for w in common)


def test_a_mistyped_common_word_no_document_holds_is_searched_as_the_word_meant(assistant):
    answer = assistant.ask("did the gunmen stay at a htoel")  # no article says "hotel"
    assert answer.query == "did the gunmen stay at a hotel"


def test_a_mistyped_courtesy_searches_nothing(assistant):
    answer = assistant.ask("thnaks")
    assert answer.abstained and answer.passages == [] and answer.query == "thnaks"


def test_a_misspelt_name_is_searched_and_answered_as_the_corpus_spells_it(assistant):
    spelt = assistant.ask("What did the Russian Interior Ministry say?")
    misspelt = assistant.ask("What did the Russian Interior Minstry say?")
    assert misspelt.query == "What did the Russian Interior Ministry say?"
    assert not misspelt.abstained and misspelt.citations[0].id == spelt.citations[0].id
    assert misspelt.question == "What did the Russian Interior Minstry say?"  # the question as it was asked


def test_a_name_a_last_letter_from_one_of_the_corpus_is_searched_as_asked(assistant):
    answer = assistant.ask("How many people have left Chechnya to join the fighting in Syria, according to Kadyrova?")
    assert answer.query.endswith("according to Kadyrova?")  # "Kadyrov" is a last letter away: another name


def test_a_misspelt_subject_named_only_by_the_title_is_answered(tmp_path, embedder, support_model):
    records = [{"_id": "tesla", "title": "Nikola Tesla",
                "text": "He produced artificial lightning, with discharges of millions of volts and up to 135 feet "
                        "long. Thunder from the released energy was heard 15 miles away."},
               {"_id": "edison", "title": "Thomas Edison",
                "text": "He developed the phonograph and a long-lasting electric light bulb."}]
    corpus = tmp_path / "inventors.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    inventors = Assistant(Config(index_dir=tmp_path / "index"), embedder=embedder, support=support_model)
    inventors.ingest([corpus])
    answer = inventors.ask("What natural phenomenon did Teesla create artificially?", filters={"doc_ids": ["tesla"]})
    assert answer.query == "What natural phenomenon did Tesla create artificially?"
    assert not answer.abstained and answer.citations[0].quote.startswith("He produced artificial lightning")
