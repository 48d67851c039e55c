"""The values the read side hands out: passages, citations and answers, each with its span."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk: `document text[start:end] == text`."""

    doc_id: str
    title: str
    start: int
    end: int
    text: str
    score: float

    @property
    def id(self) -> str:
        return f"{self.doc_id}:{self.start}-{self.end}"

    def to_dict(self) -> dict:
        return {"id": self.id, **asdict(self)}


@dataclass(frozen=True)
class Citation:
    """A numbered citation of the exact sentence that backs a claim."""

    n: int
    doc_id: str
    title: str
    start: int
    end: int
    quote: str
    supported: bool
    score: float
    page: int | None = None  # the PDF page the quote starts on

    @property
    def id(self) -> str:
        return f"{self.doc_id}:{self.start}-{self.end}"

    def to_dict(self) -> dict:
        data = asdict(self)
        return {"n": data.pop("n"), "id": self.id, **data}


@dataclass(frozen=True)
class AnswerSentence:
    """One sentence of the answer, the citations it carries, and whether they support it."""

    text: str
    citations: tuple[int, ...]
    supported: bool


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
    support: float | None = None  # extractive: the probability that the best sentence answers (abstains below a threshold)
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "mode": self.mode,
            "citations": [c.to_dict() for c in self.citations],
            "passages": [p.to_dict() for p in self.passages],
            "sentences": [asdict(s) | {"citations": list(s.citations)} for s in self.sentences],
            "query": self.query,
            "support": self.support,
            "timings_ms": self.timings_ms,
        }
