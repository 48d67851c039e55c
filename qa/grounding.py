"""Check each sentence of a generated answer against the passages, and cite the exact span.

A sentence counts as supported by a source sentence when enough of its content words appear there
or their embeddings are close. Citations are re-pointed to the passage that supports the claim,
and claims that nothing supports are kept but marked unsupported, never passed off as grounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from index.sentences import sentence_spans

from qa.results import AnswerSentence, Citation, Passage
from qa.text import content_terms

MARKER = re.compile(r"\s*\[(\d{1,3})\]")
LEADING_MARKERS = re.compile(r"^(?:\s*\[\d{1,3}\])+")
SUPPORTED_AT = 0.55  # combined lexical/embedding score at which a span supports a claim
LEXICAL_ALONE = 0.8  # this share of a claim's content words found verbatim is support by itself


@dataclass(frozen=True)
class Span:
    passage: int  # index into the passages
    doc_id: str
    title: str
    start: int
    end: int
    text: str


def support_scores(claims: list[str], spans: list[str], embed) -> np.ndarray:
    """Support of each claim (rows) by each span (columns), 0..1."""
    if not claims or not spans:
        return np.zeros((len(claims), len(spans)))
    cosine = embed(claims) @ embed(spans).T
    span_terms = [set(content_terms(s)) for s in spans]
    lexical = np.zeros_like(cosine)
    for i, claim in enumerate(claims):
        terms = set(content_terms(claim))
        if terms:
            lexical[i] = [len(terms & st) / len(terms) for st in span_terms]
    combined = 0.5 * lexical + 0.5 * np.clip(cosine, 0, 1)
    return np.where(lexical >= LEXICAL_ALONE, np.maximum(combined, SUPPORTED_AT), combined)


def split_claims(answer: str) -> list[tuple[str, list[int]]]:
    """The answer's sentences without their markers, each with the source numbers it cites.

    Markers that open a sentence close the one before: in "Sentence. [1] Next. [2]", the [1]
    cites "Sentence." (the way `ground` writes answers, and many models do).
    """
    claims: list[tuple[str, list[int]]] = []
    for start, end in sentence_spans(answer):
        sentence = answer[start:end]
        leading = LEADING_MARKERS.match(sentence)
        if leading and claims:
            claims[-1][1].extend(int(n) for n in MARKER.findall(leading.group()))
            sentence = sentence[leading.end():]
        cited = [int(n) for n in MARKER.findall(sentence)]
        text = MARKER.sub("", sentence).strip()
        if not text.strip(".,;:!? "):  # a lone "[1]." left over after a sentence
            if claims:
                claims[-1][1].extend(cited)
            continue
        claims.append((text, cited))
    return claims


def source_spans(passages: list[Passage], texts: dict[str, str]) -> list[Span]:
    spans = []
    for i, p in enumerate(passages):
        for start, end in sentence_spans(texts[p.doc_id], p.start, p.end):
            spans.append(Span(i, p.doc_id, p.title, start, end, texts[p.doc_id][start:end]))
    return spans


def ground(
    answer: str, passages: list[Passage], texts: dict[str, str], embed
) -> tuple[str, list[AnswerSentence], list[Citation]]:
    """Verify and re-cite a generated answer; returns its rewritten text, sentences, citations."""
    claims = split_claims(answer)
    spans = source_spans(passages, texts)
    scores = support_scores([c for c, _ in claims], [s.text for s in spans], embed)
    citations: dict[tuple[str, int, int, bool], Citation] = {}
    sentences: list[AnswerSentence] = []
    parts: list[str] = []
    for row, (claim, cited) in enumerate(claims):
        cited_passages = {n - 1 for n in cited if 1 <= n <= len(passages)}
        best_any = int(np.argmax(scores[row])) if spans else -1
        in_cited = [j for j, s in enumerate(spans) if s.passage in cited_passages]
        best_cited = max(in_cited, key=lambda j: scores[row, j]) if in_cited else -1
        if best_cited >= 0 and scores[row, best_cited] >= SUPPORTED_AT:
            chosen, supported = best_cited, True
        elif best_any >= 0 and scores[row, best_any] >= SUPPORTED_AT:
            chosen, supported = best_any, True  # re-pointed to the passage that does support it
        else:
            chosen, supported = best_cited, False  # what it cited, shown as not supporting it
        numbers: tuple[int, ...] = ()
        if chosen >= 0:
            span = spans[chosen]
            # The same span cited as support and as non-support gets two numbers, so that
            # `supported` always describes the sentence that carries the number.
            key = (span.doc_id, span.start, span.end, supported)
            if key not in citations:
                citations[key] = Citation(
                    n=len(citations) + 1, doc_id=span.doc_id, title=span.title, start=span.start,
                    end=span.end, quote=span.text, supported=supported,
                    score=round(float(scores[row, chosen]), 4),
                )
            numbers = (citations[key].n,)
        sentences.append(AnswerSentence(claim, numbers, supported))
        parts.append(claim + "".join(f" [{n}]" for n in numbers))
    return " ".join(parts), sentences, sorted(citations.values(), key=lambda c: c.n)
