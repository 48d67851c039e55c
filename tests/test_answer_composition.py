"""What an extractive answer is made of: a second sentence only where it adds to the answer, a
quotation quoted whole, a question asking how many or when answered only with a figure or a date.
The rules on their own, then on the sample corpus and on a survey report read from two PDFs."""

from __future__ import annotations

import shutil

import pytest
from tests.conftest import SAMPLE_CORPUS
from tests.pdf_files import SURVEY_LINES, SURVEY_REPRINT_LINES, write_pdf

from qa.config import Config
from qa.extractive import ScoredSentence, best_support, pick, question_kind, whole_quotation
from qa.service import Assistant

LEFT = "003_5086438d16222152.txt"  # "405 people ... have left Chechnya"; "Among those, 104 have been killed"
GROZNY = "000_3cdf5aa040d08496.txt"  # "three police officers were killed", "there was also a girl among them"


def sentence(doc_id: str, text: str, support: float, kind: float = 1.0, start: int = 0) -> ScoredSentence:
    return ScoredSentence(doc_id, "", start, start + len(text), text, support, support, {"kind": kind})


def folded(text: str) -> str:
    return " ".join(text.split())


def test_another_event_in_another_article_does_not_join_however_likely():
    first = sentence(LEFT, "Among those, 104 have been killed and 44 came back.", 0.69)
    other = sentence(GROZNY, "The Committee stated a total of three police officers were killed.", 0.68)
    assert pick([first, other], 0.15, kind="number", texts={}) == [first]


def test_the_sentence_that_the_first_refers_back_to_joins_it():
    text = "A total of 405 people have left Chechnya. Among those, 104 have been killed.\n\nAn aside."
    earlier = sentence("d", "A total of 405 people have left Chechnya.", 0.66)
    later = sentence("d", "Among those, 104 have been killed.", 0.69, start=text.index("Among"))
    aside = sentence("d", "An aside.", 0.68, start=text.index("An aside"))
    assert pick([later, earlier], 0.15, kind="number", texts={"d": text}) == [later, earlier]
    # next to each other, but the later does not go on from the earlier
    assert pick([later, aside], 0.15, kind="number", texts={"d": text}) == [later]


def test_the_same_words_from_another_document_are_not_quoted_twice():
    cut = sentence("survey.pdf", "The survey was led by Dr. Irina\nPetrova.", 0.63)
    again = sentence("survey-reprint.pdf", "The survey was led by Dr. Irina Petrova.", 0.63)
    assert pick([cut, again], 0.15, kind="name", texts={}) == [cut]


def test_a_second_sentence_joins_when_it_gives_what_the_first_lacks():
    nameless = sentence("a.txt", "The survey was paid for by a fund.", 0.6, kind=0.0)
    named = sentence("b.txt", "The Kazan River Fund paid for it.", 0.58, kind=1.0)
    assert pick([nameless, named], 0.15, kind="name", texts={}) == [nameless, named]


def test_the_rule_decides_and_the_model_says_whether_a_second_sentence_also_answers():
    """The answer rule's probability (`rank_score`) for the first sentence is held to the
    threshold; a second sentence joins when the model's own (`support`) reaches the threshold and
    nearly the first's, whatever the rule, which weighs its passage's rank, gives it."""
    def scored(text: str, model: float, rule: float, kind: float, doc_id: str = "b.txt") -> ScoredSentence:
        return ScoredSentence(doc_id, "", 0, len(text), text, model, rule, {"kind": kind})

    assert pick([scored("The fund paid.", 0.9, 0.1, 1.0)], 0.15) == []  # the model's 0.9 does not answer
    assert pick([scored("The fund paid.", 0.05, 0.2, 1.0)], 0.15) != []  # the rule's 0.2 does
    first = scored("The survey was paid for by a fund.", 0.9, 0.6, kind=0.0, doc_id="a.txt")
    assert best_support([first, scored("The fund paid.", 0.99, 0.1, 1.0)]) == 0.6
    named = "The Kazan River Fund paid for it."
    assert pick([first, scored(named, 0.85, 0.05, 1.0)], 0.15, texts={}) == [first, scored(named, 0.85, 0.05, 1.0)]
    assert pick([first, scored(named, 0.5, 0.9, 1.0)], 0.15, texts={}) == [first]  # far less likely by the model
    weak = scored("The survey was paid for by a fund.", 0.1, 0.2, kind=0.0, doc_id="a.txt")
    assert pick([weak, scored(named, 0.12, 0.9, 1.0)], 0.15, texts={}) == [weak]  # the model's 0.12: under the bar


def test_a_second_sentence_joins_when_it_holds_what_the_question_names_and_the_first_does_not():
    density = sentence("fresno-1", "The population density was 4,404.5 people per square mile.", 0.8)
    census = sentence("fresno-2", "As of the census of 2000, there were 427,652 people in the city.", 0.78)
    question = "How many people lived in Fresno in 2000, according to the census?"
    assert pick([density, census], 0.15, kind="number", texts={}, question=question) == [density, census]
    other = sentence("fresno-3", "There were 140,079 households in the city.", 0.78)
    assert pick([density, other], 0.15, kind="number", texts={}, question=question) == [density]


def test_a_question_asking_when_or_how_many_needs_a_date_or_a_figure():
    dateless = sentence(LEFT, "Giving Kadyrov the presidency allowed the 38-year-old to create a republic.", 0.87,
                        kind=0.0)
    assert pick([dateless], 0.15, kind="date") == [] and best_support([dateless], "date") == 0.0
    assert pick([dateless], 0.15, kind=None) == [dateless]  # "What did the presidency allow?" it answers


@pytest.mark.parametrize("text", ["The line was electrified in the 1990s.", "Its mills closed in the 1800's.",
                                  "It opened on 4 May 2004.", "It was built in the 12th century."])
def test_a_decade_a_year_or_a_century_is_a_date(text):
    from qa.extractive import _has_new

    assert _has_new("date", text, {"when", "was", "the", "line", "electrified"})


@pytest.mark.parametrize("text, count", [("About 1500 people were evacuated.", True), ("Some 2000 soldiers died.", True),
                                         ("They won the cup twice as well.", True),
                                         ("It was founded in 1850 and grew.", False), ("By 2004 it was closed.", False),
                                         ("The attack of December 17, 2014 killed them.", False)])
def test_a_four_digit_figure_is_a_year_only_where_it_says_when(text, count):
    from qa.extractive import _has_new

    assert _has_new("number", text, set()) is count


@pytest.mark.parametrize("question, kind", [
    ("When did Kadyrov become president?", "date"), ("In what year was the bridge built?", "date"),
    ("How many militants were killed?", "number"), ("How many times has Polonia won the cup?", "number"),
    ("How long was Warsaw the capital?", None),  # "until 1796" answers it
    ("When does immunodeficiency occur?", None),  # a condition answers it
    ("When do members proceed to vote on the bill?", None),  # an event answers it
    ("Which two roles did she perform when she was in high school?", None),
    ("When the law is the target of the protest, what is this called?", None),
])
def test_only_a_question_that_asks_for_a_date_or_a_count_requires_one(question, kind):
    from qa.extractive import required_kind

    assert required_kind(question) == kind


def test_what_a_question_asks_for_is_its_first_cue():
    assert question_kind("Which country was the Chechen leader visiting when the attacks happened?") == "name"
    assert question_kind("When did Kadyrov become president?") == "date"
    assert question_kind("How many of them were killed when the police returned fire?") == "number"


def test_a_quotation_closed_in_the_sentence_is_quoted_from_its_opening_sentence():
    text = ('Police spoke.\n\n"At night a car was taken. Later we stopped the car," Kadyrov said. '
            'He left.\n\nIt was late," a stray mark.')
    closing = text.index("Later")
    start, end = whole_quotation(text, closing, text.index(" He left"))
    assert text[start:end] == '"At night a car was taken. Later we stopped the car," Kadyrov said.'
    # a mark that nothing in its paragraph opens is the source's own: the sentence stands as it is
    stray = text.index("It was late")
    assert whole_quotation(text, stray, len(text)) == (stray, len(text))
    # an opening too far back is not quoted at all
    long = '"' + "A long sentence goes on. " * 40 + 'The end," he said.'
    assert whole_quotation(long, long.index("The end"), len(long)) is None


# --- on the sample corpus --------------------------------------------------------------------------
def test_the_head_of_the_republic_is_quoted_from_where_the_quotation_opens(assistant):
    answer = assistant.ask("Who is the head of the Chechen republic?")
    assert not answer.abstained and "Ramzan Kadyrov, head of the republic" in answer.citations[0].quote
    for citation in answer.citations:
        text = (SAMPLE_CORPUS / citation.doc_id).read_text(encoding="utf-8")
        assert text[citation.start:citation.end] == citation.quote
        assert citation.quote.count("“") == citation.quote.count("”")
        assert "girl among them" not in citation.quote


def test_a_follow_up_on_the_killed_quotes_no_other_event(assistant):
    answer = assistant.ask("and how many of them were killed?", history=["How many people left Chechnya for Syria?"])
    assert "104" in answer.citations[0].quote
    assert all(c.doc_id == LEFT for c in answer.citations), answer.answer


def test_when_kadyrov_became_president_is_declined_the_corpus_giving_no_date(assistant):
    assert assistant.ask("When did Kadyrov become president?").abstained


@pytest.mark.xfail(strict=True, reason="the model's call: it gives 'a city of about 240,000' (which says nothing "
                                       "of a population in words) 0.06, and the answer rule 0.08, under the bar")
def test_the_population_of_nalchik_is_answered(assistant):
    answer = assistant.ask("What is the population of Nalchik?")
    assert not answer.abstained and "240,000" in answer.citations[0].quote


# --- a survey report in two PDFs ------------------------------------------------------------------
@pytest.fixture(scope="module")
def survey(tmp_path_factory, embedder, support_model) -> Assistant:
    root = tmp_path_factory.mktemp("survey")
    shutil.copytree(SAMPLE_CORPUS, root / "corpus")
    write_pdf(root / "corpus" / "survey.pdf", [SURVEY_LINES])
    write_pdf(root / "corpus" / "survey-reprint.pdf", [SURVEY_REPRINT_LINES])
    assistant = Assistant(Config(index_dir=root / "index", corpus_dir=root / "corpus"), embedder=embedder,
                          support=support_model)
    assistant.ingest()
    return assistant


def test_the_leader_of_the_survey_is_quoted_whole_and_once(survey):
    answer = survey.ask("Who was the leader of the survey?")
    quotes = [folded(c.quote) for c in answer.citations]
    assert quotes[0] == "The survey was led by Dr. Irina Petrova."
    assert len(set(quotes)) == len(quotes) and not any(q.endswith("Dr. Irina") for q in quotes)
    for citation in answer.citations:
        assert survey.reader.text(citation.doc_id)[citation.start:citation.end] == citation.quote


@pytest.mark.parametrize("question, expected", [
    ("Who led the Volga survey?", "Petrova"),
    ("Who funded the Volga survey?", "Kazan River Fund"),
    ("Which fund paid for the survey?", "Kazan River Fund"),
])
def test_the_survey_questions_quote_the_sentence_that_answers(survey, question, expected):
    answer = survey.ask(question)
    assert not answer.abstained and expected in answer.citations[0].quote, answer.answer


def test_a_century_written_in_words_answers_a_question_asking_for_one():
    from qa.extractive import _has_new

    assert _has_new("date", "Missionaries founded schools in the early nineteenth century.", {"missionaries"})
    assert _has_new("date", "Missionaries founded schools in the 19th century.", {"missionaries"})
    assert not _has_new("date", "Missionaries founded schools across the country.", {"missionaries"})
