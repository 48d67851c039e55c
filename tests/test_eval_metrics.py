"""Every metric of qa.eval.metrics on small hand-made cases whose right score is known."""

from __future__ import annotations

import math

import pytest

from qa.eval import metrics
from qa.eval.metrics import Span


# --- span overlap and ranking metrics -------------------------------------------------------------
def test_overlap_needs_the_same_document_and_a_shared_character():
    gold = Span("a.txt", 10, 20)
    assert metrics.overlaps(Span("a.txt", 15, 30), gold)
    assert metrics.overlaps(Span("a.txt", 0, 11), gold)  # shares character 10
    assert metrics.overlaps(Span("a.txt", 12, 13), gold)  # inside
    assert not metrics.overlaps(Span("a.txt", 20, 25), gold)  # end is exclusive: touching is not sharing
    assert not metrics.overlaps(Span("a.txt", 0, 10), gold)
    assert not metrics.overlaps(Span("b.txt", 10, 20), gold)


def test_hits_rank_mrr_and_hit_at_k():
    gold = [Span("a", 100, 120), Span("b", 0, 5)]
    retrieved = [Span("a", 0, 50), Span("c", 0, 500), Span("b", 3, 40), Span("a", 110, 200)]
    hits = metrics.span_hits(retrieved, gold)
    assert hits == [False, False, True, True]
    assert metrics.first_hit_rank(hits) == 3
    assert metrics.hit_at_k(hits, 1) == 0.0
    assert metrics.hit_at_k(hits, 2) == 0.0
    assert metrics.hit_at_k(hits, 3) == 1.0
    assert metrics.mrr_at_k(hits, 10) == pytest.approx(1 / 3)
    assert metrics.mrr_at_k(hits, 2) == 0.0  # the first hit lies beyond the cut-off


def test_ranking_metrics_of_nothing_retrieved():
    assert metrics.span_hits([], [Span("a", 0, 1)]) == []
    assert metrics.first_hit_rank([]) is None
    assert metrics.hit_at_k([], 5) == 0.0
    assert metrics.mrr_at_k([], 10) == 0.0


def test_ndcg_binary_and_graded():
    # One relevant document at rank 2: DCG = 1/log2(3), ideal = 1.
    assert metrics.ndcg_at_k(["x", "d1", "y"], {"d1": 1}, 10) == pytest.approx(1 / math.log2(3))
    assert metrics.ndcg_at_k(["d1", "x"], {"d1": 1}, 10) == 1.0
    assert metrics.ndcg_at_k(["x", "y"], {"d1": 1}, 10) == 0.0
    # Graded: gains 2 and 1 in the wrong order. DCG = 1 + 2/log2(3); ideal = 2 + 1/log2(3).
    expected = (1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3))
    assert metrics.ndcg_at_k(["d2", "d1"], {"d1": 2, "d2": 1}, 10) == pytest.approx(expected)
    # Beyond k it does not count.
    assert metrics.ndcg_at_k(["x", "d1"], {"d1": 1}, 1) == 0.0


def test_ndcg_counts_a_document_retrieved_twice_once():
    # Passages of d1 at ranks 1 and 2; the repeat must not inflate DCG above the ideal.
    assert metrics.ndcg_at_k(["d1", "d1", "d2"], {"d1": 1, "d2": 1}, 10) == pytest.approx(1.0)


def test_ndcg_and_recall_without_relevant_documents_do_not_apply():
    assert metrics.ndcg_at_k(["a"], {}, 10) is None
    assert metrics.ndcg_at_k(["a"], {"a": 0}, 10) is None
    assert metrics.recall_at_k(["a"], {}, 100) is None


def test_recall_at_k():
    relevance = {"d1": 1, "d2": 1, "d3": 1, "d4": 0}
    assert metrics.recall_at_k(["d1", "x", "d2", "d4"], relevance, 100) == pytest.approx(2 / 3)
    assert metrics.recall_at_k(["d1", "x", "d2"], relevance, 2) == pytest.approx(1 / 3)
    assert metrics.recall_at_k(["d1", "d1", "d1", "d2"], relevance, 2) == pytest.approx(2 / 3)  # distinct ids
    assert metrics.recall_at_k([], relevance, 100) == 0.0


# --- answers --------------------------------------------------------------------------------------
def test_squad_normalisation():
    assert metrics.normalize_answer("The  Denver Broncos!") == "denver broncos"
    assert metrics.normalize_answer("An apple, a pear") == "apple pear"
    assert metrics.normalize_answer("theatre") == "theatre"  # only whole-word articles go
    assert metrics.normalize_answer("") == ""


def test_exact_match_is_the_max_over_gold_answers():
    assert metrics.exact_match("the Denver Broncos.", ["Carolina Panthers", "Denver Broncos"]) == 1.0
    assert metrics.exact_match("Denver", ["Denver Broncos"]) == 0.0


def test_token_f1_known_values():
    # prediction 3 tokens, gold 2, 2 shared: P = 2/3, R = 1, F1 = 0.8
    assert metrics.token_f1("Denver Broncos won", ["Denver Broncos"]) == pytest.approx(0.8)
    assert metrics.token_f1("the Denver Broncos", ["Denver Broncos"]) == 1.0  # articles do not count


def test_token_f1_max_over_gold_answers():
    # "Denver" against "Broncos" is 0 and against "Denver Broncos" 2/3: the max is 2/3.
    assert metrics.token_f1("Denver", ["Denver Broncos", "Broncos"]) == pytest.approx(2 / 3)
    assert metrics.token_f1("x y", ["z"]) == 0.0
    # Repeated tokens count as often as they occur in both.
    assert metrics.token_f1("x b b", ["b b c"]) == pytest.approx(2 / 3)


def test_contains_matches_whole_words_after_normalisation():
    sentence = "Two of them were taken to hospital and four were killed. [1]"
    assert metrics.contains(metrics.strip_citations(sentence), ["four"]) == 1.0
    assert metrics.contains("fourteen were killed", ["four"]) == 0.0  # not inside a word
    assert metrics.contains("Four.", ["four"]) == 1.0  # the whole answer, and at either end
    assert metrics.contains("the killed were four", ["four"]) == 1.0
    assert metrics.contains("about 240,000 people", ["240,000"]) == 1.0  # punctuation normalised away on both sides
    assert metrics.contains("x", ["the"]) == 0.0  # a gold answer that normalises to nothing is never contained


def test_empty_answer_scores_zero_and_no_gold_does_not_apply():
    for score in (metrics.exact_match, metrics.token_f1, metrics.contains):
        assert score("", ["Denver Broncos"]) == 0.0
        assert score("anything", []) is None


def test_strip_citations():
    assert metrics.strip_citations("Four were killed [1]. Two [2][13] more.") == "Four were killed. Two more."


# --- citations ------------------------------------------------------------------------------------
def word_support(claim: str, texts) -> bool:
    """A support judge for tests: every word of the claim appears somewhere in the texts."""
    available = set(" ".join(texts).lower().replace(".", "").split())
    return set(claim.lower().replace(".", "").split()) <= available


def test_cited_sentences_puts_markers_with_their_sentence():
    assert metrics.cited_sentences("Four died. [1] Two lived. [2]") == [("Four died.", [1]), ("Two lived.", [2])]
    assert metrics.cited_sentences("Four died [1]. Two lived [2][3].") == [("Four died.", [1]), ("Two lived.", [2, 3])]
    assert metrics.cited_sentences("No markers here.") == [("No markers here.", [])]
    assert metrics.cited_sentences("") == []


def test_citation_scores_all_supported():
    sentences = [("four were killed", [1]), ("two went to hospital", [2])]
    sources = {1: "four were killed", 2: "two went to hospital"}
    assert metrics.citation_scores(sentences, sources, word_support) == (1.0, 1.0)


def test_citation_scores_one_wrong_citation():
    # Sentence 2 cites a source that does not support it: recall 1/2; citation 2 is not precise.
    sentences = [("four were killed", [1]), ("two went to hospital", [1, 2])]
    sources = {1: "four were killed", 2: "the weather was fine"}
    recall, precision = metrics.citation_scores(sentences, sources, word_support)
    assert recall == 0.5
    assert precision == pytest.approx(1 / 3)


def test_citation_scores_joint_support_needs_both_citations():
    # Neither source supports the sentence alone, together they do: both citations are needed.
    sentences = [("four were killed in grozny", [1, 2])]
    sources = {1: "four were killed", 2: "in grozny"}
    assert metrics.citation_scores(sentences, sources, word_support) == (1.0, 1.0)


def test_citation_scores_redundant_citation_is_imprecise():
    # Source 1 supports it alone; source 2 adds nothing and the sentence stands without it.
    sentences = [("four were killed", [1, 2])]
    sources = {1: "four were killed", 2: "killed"}
    assert metrics.citation_scores(sentences, sources, word_support) == (1.0, 0.5)


def test_citation_scores_no_citations():
    sentences = [("four were killed", []), ("two went to hospital", [])]
    assert metrics.citation_scores(sentences, {1: "four were killed"}, word_support) == (0.0, 0.0)


def test_citation_scores_out_of_range_marker():
    # [3] has no source: the sentence is not recalled (as in ALCE) and both its citations count
    # as imprecise; the first sentence is fine.
    sentences = [("four were killed", [1]), ("two went to hospital", [2, 3])]
    sources = {1: "four were killed", 2: "two went to hospital"}
    recall, precision = metrics.citation_scores(sentences, sources, word_support)
    assert recall == 0.5
    assert precision == pytest.approx(1 / 3)


def test_citation_scores_empty_answer_does_not_apply():
    assert metrics.citation_scores([], {1: "x"}, word_support) == (None, None)


def test_valid_offsets():
    texts = {"a.txt": "Four were killed. Two lived."}
    good = (Span("a.txt", 0, 17), "Four were killed.")
    shifted = (Span("a.txt", 1, 18), "Four were killed.")
    past_end = (Span("a.txt", 18, 99), "Two lived.")
    unknown = (Span("b.txt", 0, 4), "Four")
    assert metrics.valid_offsets([good], texts) == 1.0
    assert metrics.valid_offsets([good, shifted, past_end, unknown], texts) == 0.25
    assert metrics.valid_offsets([], texts) is None  # no citations: nothing to check


# --- abstention and summaries ---------------------------------------------------------------------
def test_abstention_precision_and_recall():
    abstained = [True, True, False, False, True]
    unanswerable = [True, False, True, False, True]
    # declined 3, of which 2 rightly; 3 should have been declined, 2 were.
    assert metrics.abstention_scores(abstained, unanswerable) == (pytest.approx(2 / 3), pytest.approx(2 / 3))


def test_abstention_edge_cases():
    # No unanswerable questions: neither applies.
    assert metrics.abstention_scores([True, False], [False, False]) == (None, None)
    # Never abstained although it should have: recall 0, precision undefined.
    assert metrics.abstention_scores([False, False], [True, False]) == (None, 0.0)
    with pytest.raises(ValueError):
        metrics.abstention_scores([True], [True, False])


def test_abstention_curve():
    supports = [0.9, 0.5, 0.3, None]
    unanswerable = [False, False, True, True]
    correct = [1.0, 0.0, None, None]
    low, mid, high = metrics.abstention_curve(supports, unanswerable, correct, [0.0, 0.4, 0.6])
    # t=0: only the question with nothing to answer with abstains.
    assert (low["abstention_precision"], low["abstention_recall"], low["accuracy"], low["coverage"]) == (1.0, 0.5, 0.5, 0.75)
    assert (mid["abstention_precision"], mid["abstention_recall"], mid["accuracy"], mid["coverage"]) == (1.0, 1.0, 0.5, 0.5)
    # t=0.6 also declines the answerable 0.5 (which was wrong anyway): precision drops to 2/3.
    assert high["abstention_precision"] == pytest.approx(2 / 3)
    assert (high["abstention_recall"], high["accuracy"], high["coverage"]) == (1.0, 0.5, 0.25)


def test_mean_skips_what_does_not_apply():
    assert metrics.mean([1.0, None, 0.0]) == 0.5
    assert metrics.mean([None, None]) is None
    assert metrics.mean([]) is None


def test_percentile_interpolates_like_numpy():
    values = [10.0, 20.0, 30.0, 40.0]
    assert metrics.percentile(values, 50) == 25.0
    assert metrics.percentile(values, 95) == pytest.approx(38.5)  # numpy.percentile gives 38.5
    assert metrics.percentile(values, 0) == 10.0
    assert metrics.percentile(values, 100) == 40.0
    assert metrics.percentile([7.0], 95) == 7.0
    assert metrics.percentile([], 50) is None
    with pytest.raises(ValueError):
        metrics.percentile(values, 101)


def test_ndcg_agrees_with_ranx_on_random_rankings():
    """Our nDCG@10 against ranx's (trec_eval's linear gains) on graded and binary judgements."""
    import random

    from ranx import Qrels, Run, evaluate

    rng = random.Random(7)
    qrels, run, ours = {}, {}, {}
    for q in range(60):
        docs = [f"d{i}" for i in range(30)]
        judged = {d: rng.choice([1, 2, 3]) if q % 2 else 1 for d in rng.sample(docs, rng.randint(1, 6))}
        ranked = rng.sample(docs, 15)
        qrels[f"q{q}"] = judged
        run[f"q{q}"] = {d: float(15 - i) for i, d in enumerate(ranked)}
        ours[f"q{q}"] = metrics.ndcg_at_k(ranked, judged, 10)
    theirs = Run(run)
    evaluate(Qrels(qrels), theirs, "ndcg@10", return_mean=False)
    assert dict(theirs.scores["ndcg@10"]) == pytest.approx(ours, abs=1e-9)
