"""Check any answer, from any system, sentence by sentence, against given passages or the index.

Each sentence of the answer (its `[n]` markers aside) is a claim; the support model and the
consistency checks judge it against the few source sentences most like it (`qa.grounding.judge`),
and the closest of those is reported as its source, with any conflict that the checks found.
`start`/`end` locate each sentence in the answer exactly as it was sent.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from index.sentences import sentence_spans

from qa.errors import BadInputError
from qa.grounding import MARKER, Span, judge, similarity
from qa.support import SupportModel
from qa.text import clean_question

MAX_ANSWER_CHARS = 20_000
MAX_SENTENCES = 100
MAX_PASSAGES = 20
MAX_PASSAGE_CHARS = 40_000
MAX_PASSAGES_CHARS = 100_000  # in all: every sentence of them is embedded for each request


@dataclass(frozen=True)
class CheckedSentence:
    text: str
    start: int
    end: int
    supported: bool
    probability: float
    source: dict | None  # the best supporting span: a citation id, or a passage index, with its quote
    conflicts: list[dict] = field(default_factory=list)  # {"kind", "claim", "evidence"}: what contradicts it


@dataclass(frozen=True)
class Verification:
    sentences: list[CheckedSentence]

    @property
    def supported(self) -> bool:
        return all(s.supported for s in self.sentences)

    def to_dict(self) -> dict:
        return {"supported": self.supported, "sentences": [asdict(s) for s in self.sentences]}


def check_request(answer, question=None, passages=None) -> None:
    """Raise BadInputError, with the reason, for anything `verify` cannot take."""
    if answer is None:
        raise BadInputError("answer is missing")
    if not isinstance(answer, str):
        raise BadInputError("answer must be text")
    if not answer.strip():
        raise BadInputError("answer is empty")
    if len(answer) > MAX_ANSWER_CHARS:
        raise BadInputError(f"answer is {len(answer):,} characters long; the limit is {MAX_ANSWER_CHARS:,}")
    if question is not None and not isinstance(question, str):
        raise BadInputError("question must be text")
    if passages is None:
        return
    if not isinstance(passages, list) or not all(isinstance(p, str) for p in passages):
        raise BadInputError("passages must be a list of texts")
    if not passages or not any(p.strip() for p in passages):
        raise BadInputError("passages is empty; leave it out to check against the index")
    if len(passages) > MAX_PASSAGES:
        raise BadInputError(f"{len(passages)} passages; the limit is {MAX_PASSAGES}")
    longest = max(len(p) for p in passages)
    if longest > MAX_PASSAGE_CHARS:
        raise BadInputError(f"a passage is {longest:,} characters long; the limit is {MAX_PASSAGE_CHARS:,}")
    if sum(len(p) for p in passages) > MAX_PASSAGES_CHARS:
        raise BadInputError(f"the passages are over {MAX_PASSAGES_CHARS:,} characters in all")


def claims_of(answer: str) -> list[tuple[int, int, str]]:
    """(start, end, claim) for each sentence of the answer that says something."""
    found = []
    for start, end in sentence_spans(answer):
        claim = clean_question(MARKER.sub("", answer[start:end]))
        if any(ch.isalnum() for ch in claim):
            found.append((start, end, claim))
    if not found:
        raise BadInputError("the answer has no sentence to check")
    if len(found) > MAX_SENTENCES:
        raise BadInputError(f"the answer has {len(found)} sentences; the limit is {MAX_SENTENCES}")
    return found


def passage_spans(passages: list[str]) -> list[Span]:
    """The sentences of inline passages; `doc_id` is empty, `passage` says which one."""
    return [Span(i, "", "", start, end, text[start:end])
            for i, text in enumerate(passages) for start, end in sentence_spans(text)]


def verify(answer: str, found: list[tuple[int, int, str]], spans: list[Span], embed, model: SupportModel
           ) -> Verification:
    """Judge every sentence of `answer` (`found` by `claims_of`) against `spans`."""
    claims = [claim for _, _, claim in found]
    verdicts = judge(claims, spans, similarity(claims, [s.text for s in spans], embed), model)
    checked = []
    for (start, end, _), verdict in zip(found, verdicts):
        source = _source(spans[verdict.best]) if verdict.best >= 0 else None
        checked.append(CheckedSentence(answer[start:end], start, end, verdict.supported,
                                       round(verdict.probability, 4), source,
                                       [c.to_dict() for c in verdict.conflicts]))
    return Verification(checked)


def _source(span: Span) -> dict:
    if span.doc_id:
        return {"id": f"{span.doc_id}:{span.start}-{span.end}", "doc_id": span.doc_id, "title": span.title,
                "start": span.start, "end": span.end, "quote": span.text}
    return {"passage": span.passage, "start": span.start, "end": span.end, "quote": span.text}
