"""The scores of an evaluation, as pure functions: no I/O, no model, no index.

Conventions, kept the same throughout:
- a score is a float in 0..1, or None when it does not apply (nothing to score: no gold spans, no
  citations, no unanswerable questions). None becomes JSON null; it is never silently a 0 or a 1.
- a span is (doc_id, start, end) with `end` exclusive, as everywhere in this project.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple
import numpy as np

from index.documents import Span

from qa.grounding import split_claims


# --- retrieval ------------------------------------------------------------------------------------
def overlaps(a: Span, b: Span) -> bool:
    """Whether two spans of the same document share at least one character."""
    return a.overlaps(b)


def span_hits(retrieved: Sequence[Span], gold: Sequence[Span]) -> list[bool]:
    """For each retrieved span, best first: does it overlap any gold evidence span?"""
    return [any(overlaps(r, g) for g in gold) for r in retrieved]


def first_hit_rank(hits: Sequence[bool]) -> int | None:
    """1-based rank of the first hit, or None when nothing retrieved hits."""
    return next((rank for rank, hit in enumerate(hits, start=1) if hit), None)


def first_sentence_hit(chosen: Span | None, gold: Sequence[Span]) -> float:
    """1.0 when the sentence an answer put first overlaps a gold evidence span; 0.0 when it does
    not, or when nothing was chosen (an abstention)."""
    return 1.0 if chosen is not None and any(overlaps(chosen, g) for g in gold) else 0.0


def hit_at_k(hits: Sequence[bool], k: int) -> float:
    return 1.0 if any(hits[:k]) else 0.0


def mrr_at_k(hits: Sequence[bool], k: int) -> float:
    """Reciprocal rank of the first hit within the top k; 0 when there is none."""
    rank = first_hit_rank(hits[:k])
    return 0.0 if rank is None else 1.0 / rank


def ndcg_at_k(ranked_ids: Sequence[str], relevance: dict[str, float], k: int) -> float | None:
    """nDCG@k with linear gains (trec_eval's, which BEIR reports); None without relevant ids.

    A document listed twice in the ranking counts once, at its first position.
    """
    ideal_gains = sorted((g for g in relevance.values() if g > 0), reverse=True)[:k]
    if not ideal_gains:
        return None
    ranked = _unique(ranked_ids)[:k]
    dcg = sum(relevance.get(doc, 0.0) / math.log2(i + 2) for i, doc in enumerate(ranked))
    ideal = sum(g / math.log2(i + 2) for i, g in enumerate(ideal_gains))
    return dcg / ideal


def recall_at_k(ranked_ids: Sequence[str], relevance: dict[str, float], k: int) -> float | None:
    """Share of the relevant ids found in the top k (distinct) ids; None without relevant ids."""
    relevant = {doc for doc, g in relevance.items() if g > 0}
    if not relevant:
        return None
    return len(relevant & set(_unique(ranked_ids)[:k])) / len(relevant)


def _unique(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))


# --- answers (SQuAD v1.1's official normalisation and scores) ------------------------------------
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)
CITATION_MARKER = re.compile(r"\s*\[\d+\]")


def normalize_answer(text: str) -> str:
    """Lower case, no punctuation, no articles, single spaces: SQuAD's `normalize_answer`."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def strip_citations(answer: str) -> str:
    """The answer without its `[n]` markers, so that they do not count as answer words."""
    return CITATION_MARKER.sub("", answer).strip()


def exact_match(prediction: str, gold_answers: Sequence[str]) -> float | None:
    if not gold_answers:
        return None
    predicted = normalize_answer(prediction)
    return max(float(predicted == normalize_answer(g)) for g in gold_answers)


def token_f1(prediction: str, gold_answers: Sequence[str]) -> float | None:
    if not gold_answers:
        return None
    return max(_f1(normalize_answer(prediction).split(), normalize_answer(g).split()) for g in gold_answers)


def _f1(predicted: list[str], gold: list[str]) -> float:
    common = sum((Counter(predicted) & Counter(gold)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def contains(prediction: str, gold_answers: Sequence[str]) -> float | None:
    """1 when some gold answer appears, whole words, inside the prediction (both normalised).

    The fair score for an extractive answer, which quotes a whole sentence around the answer.
    A gold answer that normalises to nothing ("the") is never contained.
    """
    if not gold_answers:
        return None
    padded = f" {normalize_answer(prediction)} "
    return max(
        float(bool(g) and f" {g} " in padded) for g in (normalize_answer(a) for a in gold_answers)
    )


# --- citations (ALCE: Gao et al., 2023, "Enabling LLMs to generate text with citations") -------
# Whether the given texts, taken together, support a claim. The support model by default
# (`qa.eval.runner.model_support`); an NLI model or an LLM judge fits the same shape.
Support = Callable[[str, Sequence[str]], bool]

def cited_sentences(answer: str) -> list[tuple[str, list[int]]]:
    """The answer's sentences without their `[n]` markers, each with the numbers it cites, split
    exactly as the grounding step splits an LLM answer."""
    return split_claims(answer)


class CitationScores(NamedTuple):
    recall: float | None  # share of the answer's sentences that their citations support
    precision: float | None  # share of the citations that support their sentence


def citation_scores(
    sentences: Sequence[tuple[str, Sequence[int]]],
    sources: dict[int, str],
    supports: Support,
) -> CitationScores:
    """ALCE's citation recall and precision for one answer.

    `sentences` are the answer's claims with the numbers they cite; `sources` maps a number to the
    text it cites. As in ALCE:
    - a sentence is recalled when the union of its citations supports it; an uncited sentence is
      not, and neither is one citing a number that has no source (an out-of-range `[n]`);
    - a citation is precise when its sentence is recalled and the citation is needed: it supports
      the sentence alone, or the sentence's other citations without it no longer do.
    An answer with no sentences scores None, None; one with sentences but no citation 0, 0.
    """
    if not sentences:
        return CitationScores(None, None)
    recalled = precise = cited = 0
    for claim, numbers in sentences:
        numbers = list(dict.fromkeys(numbers))
        cited += len(numbers)
        if not numbers or any(n not in sources for n in numbers):
            continue
        if not supports(claim, [sources[n] for n in numbers]):
            continue
        recalled += 1
        for n in numbers:
            others = [sources[m] for m in numbers if m != n]
            if supports(claim, [sources[n]]) or not (others and supports(claim, others)):
                precise += 1
    recall = recalled / len(sentences)
    precision = precise / cited if cited else 0.0
    return CitationScores(recall, precision)


def valid_offsets(citations: Iterable[tuple[Span, str]], texts: dict[str, str]) -> float | None:
    """Share of citations whose quote is exactly the document's text at their span; None if none.

    A citation of a document the index does not hold, or a span past its end, is not valid.
    """
    checks = [
        span.doc_id in texts and 0 <= span.start < span.end <= len(texts[span.doc_id])
        and texts[span.doc_id][span.start : span.end] == quote
        for span, quote in citations
    ]
    return sum(checks) / len(checks) if checks else None


# --- abstention -----------------------------------------------------------------------------------
class AbstentionScores(NamedTuple):
    precision: float | None  # of the questions it declined, the share it should have declined
    recall: float | None  # of the questions it should have declined, the share it did


def abstention_scores(abstained: Sequence[bool], unanswerable: Sequence[bool]) -> AbstentionScores:
    """Precision is None when it never abstained; both are None without unanswerable questions."""
    if len(abstained) != len(unanswerable):
        raise ValueError("abstained and unanswerable must be the same length")
    should = sum(unanswerable)
    if should == 0:
        return AbstentionScores(None, None)
    declined = sum(abstained)
    right = sum(a and u for a, u in zip(abstained, unanswerable))
    return AbstentionScores(right / declined if declined else None, right / should)


# --- summaries ------------------------------------------------------------------------------------
def mean(values: Iterable[float | None]) -> float | None:
    """The mean of the values that apply; None when none does."""
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """numpy's q-th percentile (0..100); None for no values."""
    if not 0 <= q <= 100:
        raise ValueError("q must be between 0 and 100")
    return float(np.percentile(values, q)) if len(values) else None


def abstention_curve(
    supports: Sequence[float | None],
    unanswerable: Sequence[bool],
    correct: Sequence[float | None],
    thresholds: Sequence[float],
) -> list[dict]:
    """What abstaining below each threshold would give: the trade-off behind `abstain_below`.

    `supports` is each question's support score (None: nothing to answer with, always abstains);
    `correct` is whether its answer, were it given, is right (None for unanswerable questions).
    Accuracy is over the answerable questions, an abstention counting as wrong; coverage is the
    share of all questions answered.
    """
    if not len(supports) == len(unanswerable) == len(correct):
        raise ValueError("supports, unanswerable and correct must be the same length")
    curve = []
    for t in thresholds:
        abstains = [s is None or s < t for s in supports]
        scores = abstention_scores(abstains, unanswerable)
        answerable = [(a, c) for a, u, c in zip(abstains, unanswerable, correct) if not u]
        curve.append({
            "threshold": t,
            "abstention_precision": scores.precision,
            "abstention_recall": scores.recall,
            "accuracy": mean(0.0 if a else (c or 0.0) for a, c in answerable),
            "coverage": (len(abstains) - sum(abstains)) / len(abstains) if abstains else None,
        })
    return curve
