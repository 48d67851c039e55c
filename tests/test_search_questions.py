"""The search-engine question sets of bench/search_questions: well-formed gold, each question asked
of its own article's first paragraph, and no article in two sets (held out, fitting, training)."""

from pathlib import Path

import pytest

from qa.eval.gold import read_gold
from training.support_data import asked_of, search_pairs

BENCH = Path(__file__).resolve().parent.parent / "bench"
SETS = {name: read_gold(BENCH / "search_questions" / f"{name}.jsonl") for name in ("held_out", "fitting", "training")}


@pytest.mark.parametrize("name", SETS)
def test_every_evidence_quote_is_whole_and_of_the_paragraph_the_question_is_asked_of(name):
    """Whole: its offsets span exactly the quote (that it is one sentence of the paragraph,
    `marked_summaries` checks against the paragraph itself, for training and for the bench)."""
    questions = SETS[name]
    assert len({q.id for q in questions}) == len(questions)
    answerable = [q for q in questions if q.answerable]
    assert 0 < len(answerable) < len(questions)  # both kinds: the unanswerable ones test the bar
    for q in answerable:
        assert {e.doc_id for e in q.evidence} == {asked_of(q.id)}, q.id
        assert [e.quote for e in q.evidence] == q.answers
        assert all(e.end - e.start == len(e.quote) and e.quote == e.quote.strip() for e in q.evidence), q.id


def test_no_article_is_in_two_sets():
    articles = {name: {asked_of(q.id) for q in questions} for name, questions in SETS.items()}
    assert len(articles["held_out"]) == 18
    assert sum(map(len, articles.values())) == len(set().union(*articles.values()))


def _bench(folder: Path) -> Path:
    """A benchmark folder in miniature: dev articles fitted on (Oxygen is kept out to tune thresholds),
    one held out (Rhine), and a training article."""
    import gzip
    import json

    (folder / "squad-v1.1-dev").mkdir(parents=True)
    (folder / "squad-v2.0-dev-train").mkdir()
    (folder / "squad-v1.1-train").mkdir()
    (folder / "squad-v2.0-dev-train" / "train_articles.txt").write_text("# fitted on\nNormans\nOxygen\n",
                                                                       encoding="utf-8")
    corpus = [{"_id": "Normans#0", "title": "Normans", "text": "The Normans were a people. They came from Normandy."},
              {"_id": "Oxygen#0", "title": "Oxygen", "text": "Oxygen is an element. It has the symbol O."},
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
    bench = _bench(tmp_path / "bench")
    capital = {"doc_id": "Kenya#0", "quote": "Its capital is Nairobi.", "start": 20, "end": 43}
    gold = _gold(tmp_path / "training.jsonl", [
        {"id": "Kenya-1", "question": "capital of kenya", "answers": [capital["quote"]], "evidence": [capital]},
        {"id": "Kenya-2", "question": "kenya population", "answers": [], "evidence": []},
        {"id": "Normans-1", "question": "who were the normans", "answers": ["The Normans were a people."],
         "evidence": [{"doc_id": "Normans#0", "quote": "The Normans were a people.", "start": 0, "end": 26}]}])
    pairs = [(p.qid, p.second, p.label) for p in search_pairs(bench, gold)]
    assert pairs == [("sKenya-1", "Kenya is a country.", 0), ("sKenya-1", "Its capital is Nairobi.", 1),
                     ("sKenya-2", "Kenya is a country.", 0), ("sKenya-2", "Its capital is Nairobi.", 0),
                     ("sNormans-1", "The Normans were a people.", 1), ("sNormans-1", "They came from Normandy.", 0)]


@pytest.mark.parametrize("article", ["Rhine", "Oxygen"])
def test_search_pairs_refuse_an_article_training_must_not_read(tmp_path, article):
    """Rhine is held out; Oxygen is fitted on, but kept out of training to choose thresholds."""
    bench = _bench(tmp_path / "bench")
    gold = _gold(tmp_path / "kept.jsonl", [{"id": f"{article}-1", "question": "what is it", "answers": [],
                                            "evidence": []}])
    with pytest.raises(ValueError, match=f"must not read: {article}"):
        search_pairs(bench, gold)


def test_search_pairs_refuse_a_mark_that_is_not_one_whole_sentence(tmp_path):
    bench = _bench(tmp_path / "bench")
    half = {"doc_id": "Kenya#0", "quote": "Its capital", "start": 20, "end": 31}
    gold = _gold(tmp_path / "half.jsonl", [{"id": "Kenya-1", "question": "capital of kenya", "answers": ["Its capital"],
                                            "evidence": [half]}])
    with pytest.raises(ValueError, match="not one whole sentence"):
        search_pairs(bench, gold)
