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


def _bench(folder: Path) -> Path:
    """A benchmark folder in miniature: one dev article fitted on, one held out, one training article."""
    import gzip
    import json

    (folder / "squad-v1.1-dev").mkdir(parents=True)
    (folder / "squad-v2.0-dev-train").mkdir()
    (folder / "squad-v1.1-train").mkdir()
    (folder / "squad-v2.0-dev-train" / "train_articles.txt").write_text("# fitted on\nOxygen\n", encoding="utf-8")
    corpus = [{"_id": "Oxygen#0", "title": "Oxygen", "text": "Oxygen is an element. It has the symbol O."},
              {"_id": "Rhine#0", "title": "Rhine", "text": "The Rhine is a river. It rises in the Alps."}]
    (folder / "squad-v1.1-dev" / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in corpus),
                                                            encoding="utf-8")
    train = {"data": [{"title": "Kenya", "paragraphs": [{"context": "Kenya is a country. Its capital is Nairobi."},
                                                        {"context": "Another paragraph."}]}]}
    with gzip.open(folder / "squad-v1.1-train" / "train-v1.1.reconstructed.json.gz", "wt", encoding="utf-8") as f:
        json.dump(train, f)
    return folder


def _gold(path: Path, rows: list[dict]) -> Path:
    import json

    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_search_pairs_are_every_sentence_of_the_summary_asked_of_positive_where_marked(tmp_path):
    from training.support_data import search_pairs

    bench = _bench(tmp_path / "bench")
    capital = {"doc_id": "Kenya#0", "quote": "Its capital is Nairobi.", "start": 20, "end": 43}
    gold = _gold(tmp_path / "training.jsonl", [
        {"id": "Kenya-1", "question": "capital of kenya", "answers": [capital["quote"]], "evidence": [capital]},
        {"id": "Kenya-2", "question": "kenya population", "answers": [], "evidence": []},
        {"id": "Oxygen-1", "question": "what is oxygen", "answers": ["Oxygen is an element."],
         "evidence": [{"doc_id": "Oxygen#0", "quote": "Oxygen is an element.", "start": 0, "end": 21}]}])
    pairs = [(p.qid, p.second, p.label) for p in search_pairs(bench, gold)]
    assert pairs == [("sKenya-1", "Kenya is a country.", 0), ("sKenya-1", "Its capital is Nairobi.", 1),
                     ("sKenya-2", "Kenya is a country.", 0), ("sKenya-2", "Its capital is Nairobi.", 0),
                     ("sOxygen-1", "Oxygen is an element.", 1), ("sOxygen-1", "It has the symbol O.", 0)]


def test_search_pairs_refuse_a_held_out_article(tmp_path):
    from training.support_data import search_pairs

    bench = _bench(tmp_path / "bench")
    gold = _gold(tmp_path / "held.jsonl", [{"id": "Rhine-1", "question": "how long is the rhine", "answers": [],
                                            "evidence": []}])
    with pytest.raises(ValueError, match="held-out articles.*Rhine"):
        search_pairs(bench, gold)
