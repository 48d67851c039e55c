"""The extractive answerer: pick the retrieved sentences that answer the question, and cite them.

No LLM and no network: sentences are scored by how much of the question they cover (IDF-weighted
terms), how close they are in embedding space, whether they hold the kind of thing the question
asks for (a number for "how many", a date for "when", a name for "who"), and how well their
passage ranked.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from index.sentences import sentence_spans

from qa.results import Passage
from qa.text import content_terms, words

_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
    r"hundreds?|thousands?|millions?|billions?|dozens?|several|half"
)
_MONTHS = (
    r"January|February|March|April|May|June|July|August|September|October|November|December|"
    r"Jan\.|Feb\.|Aug\.|Sept?\.|Oct\.|Nov\.|Dec\."
)
_PATTERNS = {
    "number": re.compile(rf"\b\d[\d,.]*\b|\b(?:{_NUMBER_WORDS})\b", re.IGNORECASE),
    "date": re.compile(
        rf"\b(?:{_MONTHS})\b|\b(?:1[0-9]|20)\d\d\b|\b\d{{1,2}}(?:st|nd|rd|th)?\s+century\b|"
        r"\b(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|yesterday|today)\b|"
        r"\b\d{1,2}(?::\d\d)?\s*(?:a\.m\.|p\.m\.)|\b(?:morning|evening|night|midnight)\b"
    ),
    "name": re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][\w’'-]+(?:\s+(?:of\s+|de\s+|al-)?[A-Z][\w’'-]+)*"),
}
_QUESTION_KINDS = [
    ("number", re.compile(r"\bhow (?:many|much|long|old|far|large|big|often)\b|\bwhat (?:number|percentage|amount)\b", re.I)),
    ("date", re.compile(r"\bwhen\b|\b(?:what|which) (?:year|date|day|month|time|century|decade)\b", re.I)),
    ("name", re.compile(r"\bwho(?:m|se)?\b|\bwhere\b|\b(?:what|which) (?:city|country|place|team|group|company|organization|person|name)\b", re.I)),
]

WEIGHTS = {"lexical": 0.45, "dense": 0.40, "kind": 0.10, "rank": 0.05}
SECOND_SENTENCE_RATIO = 0.92  # a second sentence joins the answer when it scores this close


@dataclass(frozen=True)
class ScoredSentence:
    doc_id: str
    title: str
    start: int
    end: int
    text: str
    score: float
    support: float  # how well the sentence matches the question, 0..1, for abstention


def question_kind(question: str) -> str | None:
    for kind, pattern in _QUESTION_KINDS:
        if pattern.search(question):
            return kind
    return None


def _has_new(kind: str, sentence: str, question_words: set[str]) -> bool:
    """Whether the sentence holds a thing of that kind that the question does not already say."""
    for match in _PATTERNS[kind].finditer(sentence):
        if not set(words(match.group())) <= question_words:
            return True
    return False


def candidate_sentences(passages: list[Passage], texts: dict[str, str]) -> list[tuple[Passage, int, int, int]]:
    """(passage, rank, start, end) for every sentence of the passages, each span once."""
    seen: set[tuple[str, int, int]] = set()
    found = []
    for rank, passage in enumerate(passages):
        text = texts[passage.doc_id]
        for start, end in sentence_spans(text, passage.start, passage.end):
            key = (passage.doc_id, start, end)
            if key not in seen and len(words(text[start:end])) >= 3:
                seen.add(key)
                found.append((passage, rank, start, end))
    return found


def score_sentences(
    question: str,
    question_vector: np.ndarray,
    passages: list[Passage],
    texts: dict[str, str],
    embed,
) -> list[ScoredSentence]:
    """Every candidate sentence, best first."""
    candidates = candidate_sentences(passages, texts)
    if not candidates:
        return []
    sentences = [texts[p.doc_id][s:e] for p, _, s, e in candidates]
    terms = [set(content_terms(s)) for s in sentences]
    question_terms = set(content_terms(question))
    idf = {t: math.log(1 + len(terms) / (1 + sum(t in ts for ts in terms))) + 0.5 for t in question_terms}
    total_idf = sum(idf.values()) or 1.0
    dense = embed(sentences) @ question_vector
    kind = question_kind(question)
    question_words = set(words(question))

    scored = []
    for (passage, rank, start, end), text, ts, cosine in zip(candidates, sentences, terms, dense):
        lexical = sum(idf[t] for t in question_terms & ts) / total_idf
        kind_match = 1.0 if kind and _has_new(kind, text, question_words) else 0.0
        score = (
            WEIGHTS["lexical"] * lexical
            + WEIGHTS["dense"] * max(0.0, float(cosine))
            + WEIGHTS["kind"] * kind_match
            + WEIGHTS["rank"] / (1 + rank)
        )
        support = 0.5 * lexical + 0.5 * max(0.0, float(cosine))
        scored.append(ScoredSentence(passage.doc_id, passage.title, start, end, text, score, support))
    scored.sort(key=lambda s: -s.score)
    return scored


def pick(scored: list[ScoredSentence], most: int = 2) -> list[ScoredSentence]:
    """The best sentence, and the next ones that score nearly as well, in reading order per doc."""
    if not scored:
        return []
    chosen = [scored[0]]
    for sentence in scored[1:most]:
        if sentence.score >= SECOND_SENTENCE_RATIO * scored[0].score:
            chosen.append(sentence)
    return chosen
