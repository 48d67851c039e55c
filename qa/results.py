"""The values the read side hands out: passages, citations and answers, each a `Span` of a document."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from index.documents import Span

from qa.consistency import Conflict


@dataclass(frozen=True)
class Passage(Span):
    """A retrieved chunk: `document text[start:end] == text`."""

    title: str
    text: str
    score: float

    def to_dict(self) -> dict:
        return {"id": self.id, "doc_id": self.doc_id, "title": self.title, "start": self.start, "end": self.end,
                "text": self.text, "score": self.score}


@dataclass(frozen=True)
class Citation(Span):
    """A numbered citation of the exact sentence that backs a claim: `document text[start:end] == quote`."""

    n: int
    title: str
    quote: str
    supported: bool
    score: float
    page: int | None = None  # the PDF page the quote starts on

    def to_dict(self) -> dict:
        return {"n": self.n, "id": self.id, "doc_id": self.doc_id, "title": self.title, "start": self.start,
                "end": self.end, "quote": self.quote, "supported": self.supported, "score": self.score,
                "page": self.page}


@dataclass(frozen=True)
class AnswerSentence:
    """One sentence of the answer, the citations it carries, and whether they support it."""

    text: str
    citations: tuple[int, ...]
    supported: bool
    conflicts: tuple[Conflict, ...] = ()  # why it is not supported, where the evidence says otherwise


@dataclass
class Answer:
    question: str
    answer: str
    abstained: bool
    mode: str
    citations: list[Citation] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    sentences: list[AnswerSentence] = field(default_factory=list)
    query: str = ""  # what was searched: the question made standalone
    support: float | None = None  # extractive: the answer rule's probability that the first sentence answers (abstains below a threshold)
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "mode": self.mode,
            "citations": [c.to_dict() for c in self.citations],
            "passages": [p.to_dict() for p in self.passages],
            "sentences": [asdict(s) | {"citations": list(s.citations), "conflicts": [c.to_dict() for c in s.conflicts]}
                          for s in self.sentences],
            "query": self.query,
            "support": self.support,
            "timings_ms": self.timings_ms,
        }
