"""Check each sentence of a generated answer against the passages, and cite the exact span.

For each claim, shared words and embedding closeness shortlist the source sentences most like it;
the support model reads the claim with those sentences together and says how likely they back it.
The claim rule (`support.Rule`, fitted in training) weighs that with what the words show: how
much of the claim the evidence holds, whether its numbers are there, and how much of it the
passages never mention. The consistency checks (`qa.consistency`) then look for a figure, a name
or a polarity that the evidence contradicts; `decide` is the one place where the three meet. A
claim is supported at or above the claim threshold and with no conflict; its citation points
at the closest of those sentences, preferring one in the passage the claim cited. Claims that
nothing supports are kept but marked unsupported, never passed off as grounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from index.sentences import sentence_spans

from qa.consistency import Conflict, Context, conflicts
from qa.results import AnswerSentence, Citation, Passage
from qa.support import SupportModel, claim_evidence
from qa.text import content_terms

MARKER = re.compile(r"\s*\[(\d{1,3})\]")
NUMBER = re.compile(r"\d[\d,.]*\d|\d")
QUOTED = 0.8  # this share of a claim's content words, and all its numbers, in one sentence: it says so
CONFLICTED = 0.05  # the most probability a claim gets when its evidence contradicts it
LEADING_MARKERS = re.compile(r"^(?:\s*\[\d{1,3}\])+")


@dataclass(frozen=True)
class Span:
    passage: int  # index into the passages
    doc_id: str
    title: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Verdict:
    """What the support model made of one claim."""

    probability: float  # that the evidence backs the claim: the claim rule's, or the model's without one
    supported: bool
    evidence: tuple[int, ...]  # the spans it read, in reading order
    best: int  # the span to cite: the evidence sentence most like the claim; -1 without spans
    features: dict[str, float] | None = None  # what the claim rule weighed
    conflicts: tuple[Conflict, ...] = ()  # what in the evidence contradicts the claim


def similarity(claims: list[str], spans: list[str], embed) -> np.ndarray:
    """How alike each claim (rows) and each span (columns) are, 0..1: shared content words and
    embedding closeness, half each. Cheap; it only shortlists what the support model reads."""
    if not claims or not spans:
        return np.zeros((len(claims), len(spans)))
    cosine = embed(claims) @ embed(spans).T
    span_terms = [set(content_terms(s)) for s in spans]
    lexical = np.zeros_like(cosine)
    for i, claim in enumerate(claims):
        terms = set(content_terms(claim))
        if terms:
            lexical[i] = [len(terms & st) / len(terms) for st in span_terms]
    return 0.5 * lexical + 0.5 * np.clip(cosine, 0, 1)


def judge(claims: list[str], spans: list[Span], alike: np.ndarray, model: SupportModel) -> list[Verdict]:
    """A verdict for each claim, from the few spans most like it (`alike`, from `similarity`).

    The model decides, except that a claim one evidence sentence all but quotes (`quoted`) is
    supported whatever the model says: the model errs on the side of doubt, and a quote needs none.
    """
    if not spans:
        return [Verdict(0.0, False, (), -1) for _ in claims]
    order = [(s.passage, s.start) for s in spans]
    shown = [claim_evidence(row, order, model.settings.evidence_sentences) for row in alike]
    probabilities = model.probabilities(
        [(claim, " ".join(spans[j].text for j in evidence)) for claim, evidence in zip(claims, shown)])
    everything = Context.of([s.text for s in spans])
    context = set().union(*(terms for _, terms in everything.sentences))
    verdicts = []
    for row, (claim, p, evidence) in enumerate(zip(claims, probabilities, shown)):
        closest = sorted(evidence, key=lambda j: -alike[row, j])
        texts = [spans[j].text for j in closest]
        features = claim_features(claim, texts, context, float(p))
        found = tuple(conflicts(claim, texts, everything))
        probability, supported = decide(claim, texts, features, found, model)
        verdicts.append(Verdict(probability, supported, tuple(evidence), closest[0], features, found))
    return verdicts


def decide(claim: str, texts: list[str], features: dict[str, float], found: tuple[Conflict, ...],
           model: SupportModel) -> tuple[float, bool]:
    """The probability that the evidence backs the claim, and the verdict: the claim rule's (or the
    model's) probability reaches the claim threshold, or an evidence text all but quotes the claim;
    and in either case nothing in the evidence contradicts it. A contradicted claim's probability
    is at most CONFLICTED, so that no reader takes it for a near miss."""
    probability = backing(features, model)
    if found:
        return min(probability, CONFLICTED), False
    return probability, backs(claim, texts, features, model)


def claim_features(claim: str, evidence: list[str], context: set[str], probability: float) -> dict[str, float]:
    """What the claim rule weighs: the model's `probability` for the evidence joined; the share of
    the claim's content words that the best evidence sentence has (`best`) and that the evidence
    has together (`covered`); the share of its numbers that the evidence has; and the share of
    its content words that no passage (`context`, their words) mentions at all (`novel`)."""
    terms = set(content_terms(claim))
    numbers = set(NUMBER.findall(claim))
    held = [set(content_terms(text)) for text in evidence]
    said = set().union(*(NUMBER.findall(text) for text in evidence))
    share = (lambda part: len(part) / len(terms)) if terms else (lambda part: 1.0)
    return {
        "probability": probability,
        "best": max((share(terms & h) for h in held), default=0.0),
        "covered": share(terms & set().union(*held)),
        "numbers": len(numbers & said) / len(numbers) if numbers else 1.0,
        "novel": share(terms - context) if terms else 0.0,
    }


def backing(features: dict[str, float], model: SupportModel) -> float:
    """The probability that the evidence backs the claim: the claim rule's, else the model's."""
    rule = model.settings.claim_rule
    return rule.probability(features) if rule else features["probability"]


def backs(claim: str, texts: list[str], features: dict[str, float], model: SupportModel) -> bool:
    """The claim check's decision: `backing` reaches the claim threshold, or one of the evidence
    texts all but quotes the claim."""
    return backing(features, model) >= model.settings.claim_threshold or any(quoted(claim, t) for t in texts)


def quoted(claim: str, sentence: str) -> bool:
    """Whether `sentence` holds nearly every content word of `claim` and every number in it."""
    terms = set(content_terms(claim))
    if not terms or not set(NUMBER.findall(claim)) <= set(NUMBER.findall(sentence)):
        return False
    return len(terms & set(content_terms(sentence))) / len(terms) >= QUOTED


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
    """Every sentence of the passages, once: chunks overlap, and a sentence shown twice would
    crowd the evidence the support model reads."""
    spans: dict[tuple[str, int, int], Span] = {}
    for i, p in enumerate(passages):
        for start, end in sentence_spans(texts[p.doc_id], p.start, p.end):
            spans.setdefault((p.doc_id, start, end), Span(i, p.doc_id, p.title, start, end, texts[p.doc_id][start:end]))
    return list(spans.values())


def ground(
    answer: str, passages: list[Passage], texts: dict[str, str], embed, model: SupportModel
) -> tuple[str, list[AnswerSentence], list[Citation]]:
    """Verify and re-cite a generated answer; returns its rewritten text, sentences, citations."""
    claims = split_claims(answer)
    spans = source_spans(passages, texts)
    alike = similarity([c for c, _ in claims], [s.text for s in spans], embed)
    verdicts = judge([c for c, _ in claims], spans, alike, model)
    citations: dict[tuple[str, int, int, bool], Citation] = {}
    sentences: list[AnswerSentence] = []
    parts: list[str] = []
    for row, ((claim, cited), verdict) in enumerate(zip(claims, verdicts)):
        cited_passages = {n - 1 for n in cited if 1 <= n <= len(passages)}
        in_cited = [j for j, s in enumerate(spans) if s.passage in cited_passages]
        if verdict.supported:
            # the claim's own source when the model read it, else the passage that does support it
            own = [j for j in verdict.evidence if j in in_cited]
            chosen = max(own, key=lambda j: alike[row, j]) if own else verdict.best
        else:  # the closest sentence of what it cited, shown as not supporting it; none if it cited none
            chosen = max(in_cited, key=lambda j: alike[row, j]) if in_cited else -1
        numbers: tuple[int, ...] = ()
        if chosen >= 0:
            span = spans[chosen]
            # The same span cited as support and as non-support gets two numbers, so that
            # `supported` always describes the sentence that carries the number.
            key = (span.doc_id, span.start, span.end, verdict.supported)
            if key not in citations:
                citations[key] = Citation(
                    n=len(citations) + 1, doc_id=span.doc_id, title=span.title, start=span.start,
                    end=span.end, quote=span.text, supported=verdict.supported,
                    score=round(verdict.probability, 4),
                )
            numbers = (citations[key].n,)
        sentences.append(AnswerSentence(claim, numbers, verdict.supported, verdict.conflicts))
        parts.append(claim + "".join(f" [{n}]" for n in numbers))
    return " ".join(parts), sentences, sorted(citations.values(), key=lambda c: c.n)
