"""Run gold questions through a pipeline, score each one, and sum the scores up.

The pipeline under test is the app's own (`Assistant.ask`, through `AssistantPipeline`); the
baselines in `qa.eval.baselines` implement the same small `Pipeline` interface, so that every
system is scored by the same code.
"""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from typing import Protocol

import numpy as np

from index.embedding import Embedder, load_embedder

from qa.config import Config
from qa.eval import metrics
from qa.eval.gold import GoldQuestion
from qa.eval.metrics import Support
from qa.eval.sentence_choice import first_sentence_hits
from qa.grounding import backs, claim_features, source_spans
from qa.results import Answer, Passage
from qa.service import Assistant
from qa.support import SupportModel
from qa.text import content_terms

RANKING_DEPTH = 10  # passages scored for retrieval: enough for MRR@10


class Pipeline(Protocol):
    """What the runner needs from a system under test."""

    name: str

    def ask(self, question: str, history: list[str]) -> Answer: ...

    def ranking(self, answer: Answer, k: int) -> list[Passage]:
        """The system's top `k` passages for the query it searched when it made `answer`."""
        ...

    def text(self, doc_id: str) -> str | None:
        """A document's text as its offsets refer to it."""
        ...

    # Optional: `embed(texts) -> unit vectors`, the embedder that the cosine baseline of
    # `first_sentence` uses; a pipeline without one has no baseline (null).


class RecordingEmbedder:
    """An embedder that remembers what it embedded while a question was being answered.

    While `answering`, every call computes (so latency is the app's own); afterwards the scoring
    code (ranking, grounding checks) reuses those vectors instead of paying for
    them again, which would otherwise about double the time of a long run.
    """

    def __init__(self, inner: Embedder):
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self._vectors: dict[str, np.ndarray] = {}
        self._answering = False

    @contextmanager
    def answering(self) -> Iterator[None]:
        self._vectors.clear()  # one question's worth; memory stays flat over a long run
        self._answering = True
        try:
            yield
        finally:
            self._answering = False

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return self.inner.embed(texts)
        if self._answering:
            vectors = self.inner.embed(texts)
            self._vectors.update(zip(texts, vectors))
            return vectors
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            self._vectors.update(zip(missing, self.inner.embed(missing)))
        return np.stack([self._vectors[t] for t in texts])


def recording_assistant(config: Config, cls: type[Assistant] = Assistant, **kwargs) -> Assistant:
    """An Assistant (or subclass) whose embedder records, for `AssistantPipeline`."""
    return cls(config, embedder=RecordingEmbedder(load_embedder(config.embed_model, config.embed_precision)), **kwargs)


class AssistantPipeline:
    """The app's pipeline: `Assistant.ask` with the given top_k and mode."""

    def __init__(self, assistant: Assistant, top_k: int | None = None, mode: str | None = None,
                 name: str = "ours (hybrid)"):
        self.assistant = assistant
        self.top_k = top_k
        self.mode = mode
        self.name = name
        self._answering_all: Assistant | None = None

    def warm_up(self) -> None:
        """Load the model and open the index, so the first question's latency is not theirs."""
        self.assistant.embedder.embed(["warm up"])
        self.assistant.retriever().search("warm up", 1)

    def ask(self, question: str, history: list[str]) -> Answer:
        embedder = self.assistant.embedder
        recording = embedder.answering() if isinstance(embedder, RecordingEmbedder) else nullcontext()
        with recording:
            return self.assistant.ask(question, history, top_k=self.top_k, mode=self.mode).result()

    def ranking(self, answer: Answer, k: int) -> list[Passage]:
        # The same retriever and query as `ask`; its top top_k are the passages `ask` answered from.
        return self.assistant.retriever().search(answer.query or answer.question, k)

    def text(self, doc_id: str) -> str | None:
        return self.assistant.reader.text(doc_id)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """The assistant's own embedder, for the nearest-sentence baseline."""
        return self.assistant.embedder.embed(texts)

    def unabstained(self, question: str, history: list[str]) -> str:
        """What an extractive answer that abstained would have said, for the abstention trade-off curve."""
        if self._answering_all is None:
            # The same assistant, index and models, with abstention off: a shallow copy, so that a
            # subclass's retriever is kept too.
            self._answering_all = copy.copy(self.assistant)
            self._answering_all.config = self.assistant.config.with_(abstain_below=0.0)
        return self._answering_all.ask(question, history, top_k=self.top_k, mode="extractive").answer


def model_support(model: SupportModel) -> Support:
    """Whether cited texts back a claim, decided as the claim check decides (`grounding.judge`):
    the support model reads the texts joined, and a text that all but quotes the claim backs it."""

    def supports(claim: str, texts: Sequence[str]) -> bool:
        if not texts:
            return False
        probability = float(model.probabilities([(claim, " ".join(texts))])[0])
        context = set().union(*(content_terms(t) for t in texts))
        return backs(claim, list(texts), claim_features(claim, list(texts), context, probability), model)

    return supports


@dataclass
class QuestionResult:
    """Everything measured for one question, so a failure can be traced to it."""

    id: str
    question: str
    history: list[str]
    answerable: bool
    gold_answers: list[str]
    gold_spans: list[str]
    query: str = ""
    mode: str = ""
    answer: str = ""
    abstained: bool = False
    retrieved: list[str] = field(default_factory=list)
    first_hit_rank: int | None = None
    hit_at_1: float | None = None
    hit_at_5: float | None = None
    rr_at_10: float | None = None
    first_sentence_hit: float | None = None  # the first citation overlaps the evidence
    cosine_sentence_hit: float | None = None  # so does the sentence nearest the query by cosine
    exact: float | None = None
    f1: float | None = None
    contains: float | None = None
    citations: list[dict] = field(default_factory=list)
    citation_recall: float | None = None
    citation_precision: float | None = None
    valid_offsets: float | None = None
    sentences: int = 0
    supported_sentences: int = 0
    support: float | None = None  # extractive: the answer's support, which abstains below a threshold
    unabstained_answer: str = ""  # what it would answer with abstention off
    latency_ms: float = 0.0
    error: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def evaluate(
    pipeline: Pipeline,
    questions: list[GoldQuestion],
    supports: Support,
    progress: bool = False,
) -> list[QuestionResult]:
    """Ask every question and score it; a question whose pipeline call fails is recorded, not fatal."""
    warm_up = getattr(pipeline, "warm_up", None)
    if warm_up:
        warm_up()
    results = []
    for i, q in enumerate(questions, start=1):
        results.append(score_question(pipeline, q, supports))
        if progress and (i % 25 == 0 or i == len(questions)):
            print(f"  {pipeline.name}: {i}/{len(questions)} questions", file=sys.stderr, flush=True)
    return results


def score_question(pipeline: Pipeline, q: GoldQuestion, supports: Support) -> QuestionResult:
    result = QuestionResult(
        q.id, q.question, list(q.history), q.answerable, list(q.answers),
        [s.id for s in q.spans],
    )
    began = time.perf_counter()
    try:
        answer = pipeline.ask(q.question, list(q.history))
    except Exception as exc:  # one failing question must not hide the scores of the others
        result.error = f"{type(exc).__name__}: {exc}"
        result.abstained = True  # it gave no answer
        result.latency_ms = round((time.perf_counter() - began) * 1000, 1)
        _score_answer_text(result, "", q)
        return result
    result.latency_ms = round((time.perf_counter() - began) * 1000, 1)
    result.query, result.answer, result.abstained = answer.query, answer.answer, answer.abstained
    result.mode = answer.mode

    ranking = pipeline.ranking(answer, RANKING_DEPTH)
    result.retrieved = [p.id for p in ranking]
    if q.spans:
        hits = metrics.span_hits(ranking, q.spans)
        result.first_hit_rank = metrics.first_hit_rank(hits)
        result.hit_at_1 = metrics.hit_at_k(hits, 1)
        result.hit_at_5 = metrics.hit_at_k(hits, 5)
        result.rr_at_10 = metrics.mrr_at_k(hits, 10)

    result.first_sentence_hit, result.cosine_sentence_hit = first_sentence_hits(
        answer, q.spans, pipeline.text, getattr(pipeline, "embed", None))
    _score_answer_text(result, "" if answer.abstained else answer.answer, q)
    if not answer.abstained:
        _score_citations(result, answer, q, pipeline, supports)

    result.support = answer.support
    if answer.support is not None:
        unabstained = getattr(pipeline, "unabstained", None)
        if not answer.abstained:
            result.unabstained_answer = answer.answer
        elif unabstained is not None:
            result.unabstained_answer = unabstained(q.question, list(q.history))
    return result


def _score_answer_text(result: QuestionResult, answer: str, q: GoldQuestion) -> None:
    prediction = metrics.strip_citations(answer)
    result.exact = metrics.exact_match(prediction, q.answers)
    result.f1 = metrics.token_f1(prediction, q.answers)
    result.contains = metrics.contains(prediction, q.answers)


def _score_citations(result: QuestionResult, answer: Answer, q: GoldQuestion,
                     pipeline: Pipeline, supports: Support) -> None:
    texts = {c.doc_id: pipeline.text(c.doc_id) for c in answer.citations}
    texts = {doc: text for doc, text in texts.items() if text is not None}
    # Our own parse of the answer as shown, not the app's: the evaluation must not share its bugs.
    claims = metrics.cited_sentences(answer.answer)
    scores = metrics.citation_scores(claims, {c.n: c.quote for c in answer.citations}, supports)
    result.citation_recall, result.citation_precision = scores
    result.valid_offsets = metrics.valid_offsets(
        [(c, c.quote) for c in answer.citations], texts
    )
    result.citations = [
        {"n": c.n, "id": c.id, "supported": c.supported, "score": c.score,
         "valid": metrics.valid_offsets([(c, c.quote)], texts) == 1.0,
         "hits_evidence": any(c.overlaps(s) for s in q.spans)}
        for c in answer.citations
    ]
    # Grounding, citations aside: does what the system retrieved support each claim? A claim
    # quoted verbatim from a passage does by definition (that saves the extractive answers an
    # embedding pass; white space aside, as an answer shows a wrapped quote on one line); the
    # others are checked against the passages' sentences together.
    passage_texts = {p.doc_id: pipeline.text(p.doc_id) for p in answer.passages}
    readable = [p for p in answer.passages if passage_texts[p.doc_id] is not None]
    spans: list[str] | None = None
    result.sentences = len(claims)
    folded = [" ".join(p.text.split()) for p in readable]
    for claim, _ in claims:
        if any(" ".join(claim.split()) in text for text in folded):
            result.supported_sentences += 1
            continue
        if spans is None:
            spans = [s.text for s in source_spans(readable, passage_texts)]
        result.supported_sentences += bool(spans) and supports(claim, spans)


def summarize(results: list[QuestionResult]) -> dict:
    """The `qa eval --json` summary (qa/eval/README.md); keys that do not apply are None."""
    answerable = [r for r in results if r.answerable]
    answered = [r for r in results if not r.abstained]
    sentences = sum(r.sentences for r in answered)
    abstention = metrics.abstention_scores(
        [r.abstained for r in results], [not r.answerable for r in results]
    )
    latencies = [r.latency_ms for r in results]
    return {
        "n": len(results),
        "retrieval": {
            "hit@1": metrics.mean(r.hit_at_1 for r in answerable),
            "hit@5": metrics.mean(r.hit_at_5 for r in answerable),
            "mrr@10": metrics.mean(r.rr_at_10 for r in answerable),
            "ndcg@10": None,  # graded relevance needs qrels: `qa eval --beir`
            "recall@100": None,
        },
        "first_sentence": {
            "accuracy": metrics.mean(r.first_sentence_hit for r in answerable),
            "cosine_baseline": metrics.mean(r.cosine_sentence_hit for r in answerable),
        },
        "answer": {
            "exact": metrics.mean(r.exact for r in answerable),
            "f1": metrics.mean(r.f1 for r in answerable),
            "contains": metrics.mean(r.contains for r in answerable),
        },
        "citations": {
            "precision": metrics.mean(r.citation_precision for r in answered),
            "recall": metrics.mean(r.citation_recall for r in answered),
            # Of all citations, not per answer: one broken offset is one too many wherever it is.
            "valid_offsets": metrics.mean(c["valid"] for r in answered for c in r.citations),
        },
        "grounding": {
            "supported_sentence_rate": (
                sum(r.supported_sentences for r in answered) / sentences if sentences else None
            ),
        },
        "abstention": {"precision": abstention.precision, "recall": abstention.recall},
        "latency_ms": {
            "p50": _round(metrics.percentile(latencies, 50)),
            "p95": _round(metrics.percentile(latencies, 95)),
        },
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
