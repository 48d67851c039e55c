"""The search-engine question sets of bench/search_questions: well-formed gold, each question asked
of its own article's first paragraph, and no article in two sets (held out, fitting, training)."""

import importlib.util
import sys
from pathlib import Path

import pytest

from qa.eval.gold import read_gold

BENCH = Path(__file__).resolve().parent.parent / "bench"
SETS = {name: read_gold(BENCH / "search_questions" / f"{name}.jsonl") for name in ("held_out", "fitting", "training")}


@pytest.fixture(scope="module")
def sentence_choice():
    path = BENCH / "sentence_choice.py"
    spec = importlib.util.spec_from_file_location("sentence_choice", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["sentence_choice"] = module  # its dataclasses look themselves up
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules["sentence_choice"]


@pytest.mark.parametrize("name", SETS)
def test_every_evidence_quote_is_a_whole_sentence_of_the_paragraph_the_question_is_asked_of(name, sentence_choice):
    questions = SETS[name]
    assert len({q.id for q in questions}) == len(questions)
    answerable = [q for q in questions if q.answerable]
    assert 0 < len(answerable) < len(questions)  # both kinds: the unanswerable ones test the bar
    for q in answerable:
        assert {e.doc_id for e in q.evidence} == {sentence_choice.asked_of(q)}, q.id
        assert [e.quote for e in q.evidence] == q.answers
        assert all(e.end - e.start == len(e.quote) and e.quote == e.quote.strip() for e in q.evidence), q.id


def test_no_article_is_in_two_sets(sentence_choice):
    articles = {name: {sentence_choice.asked_of(q) for q in questions} for name, questions in SETS.items()}
    assert len(articles["held_out"]) == 18
    assert sum(map(len, articles.values())) == len(set().union(*articles.values()))
