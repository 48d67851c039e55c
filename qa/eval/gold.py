"""Gold question sets: read and check the JSONL, and find each evidence quote in its document.

One question a line (qa/eval/README.md):
    {"id": "q1", "question": "...", "answers": ["..."],
     "evidence": [{"doc_id": "...", "quote": "exact text", "start": 10, "end": 20}],
     "history": ["an earlier question", ...]}
`start`/`end` are optional; without them the quote is looked up in the document. Empty `answers`
and `evidence` mark a question that the corpus cannot answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from index.documents import Span

from qa.errors import BadInputError


class GoldError(BadInputError):
    """A gold set that cannot be used as it is; the message names the file and the line."""


@dataclass(frozen=True)
class Evidence:
    doc_id: str
    quote: str
    start: int | None = None  # given in the file, or filled in by `locate`
    end: int | None = None


@dataclass(frozen=True)
class GoldQuestion:
    id: str
    question: str
    answers: list[str]
    evidence: list[Evidence]
    history: list[str] = field(default_factory=list)
    where: str = ""  # "gold.jsonl line 7", for messages
    spans: tuple[Span, ...] = ()  # every place the evidence quotes occur, after `locate`

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def read_gold(path: Path) -> list[GoldQuestion]:
    """Every question of a gold file, checked; a GoldError names the first bad line."""
    try:
        content = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GoldError(f"{path}: no such gold file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GoldError(f"{path}: cannot read the gold file: {exc}") from None
    questions: list[GoldQuestion] = []
    seen: dict[str, str] = {}
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path} line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise GoldError(f"{where}: not valid JSON ({exc.msg})") from None
        question = _parse(record, where)
        if question.id in seen:
            raise GoldError(f"{where}: id {question.id!r} is already used on {seen[question.id]}")
        seen[question.id] = where
        questions.append(question)
    if not questions:
        raise GoldError(f"{path}: the gold file holds no questions")
    return questions


def _parse(record, where: str) -> GoldQuestion:
    def fail(message: str):
        raise GoldError(f"{where}: {message}")

    if not isinstance(record, dict):
        fail("expected a JSON object")
    qid = record.get("id")
    if isinstance(qid, bool) or not isinstance(qid, (str, int)) or str(qid).strip() == "":
        fail('needs an "id" (a string)')
    question = record.get("question")
    if not isinstance(question, str) or not question.strip():
        fail('needs a non-empty "question"')
    answers = record.get("answers", [])
    if not isinstance(answers, list) or not all(isinstance(a, str) and a.strip() for a in answers):
        fail('"answers" must be a list of non-empty strings')
    history = record.get("history", [])
    if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
        fail('"history" must be a list of earlier questions (strings), oldest first')
    raw_evidence = record.get("evidence", [])
    if not isinstance(raw_evidence, list):
        fail('"evidence" must be a list of {"doc_id", "quote"} objects')
    evidence = [_evidence(item, i, fail) for i, item in enumerate(raw_evidence, start=1)]
    if evidence and not answers:
        fail('evidence without "answers"; an unanswerable question has neither')
    return GoldQuestion(str(qid), question, answers, evidence, history, where)


def _evidence(item, i: int, fail) -> Evidence:
    if not isinstance(item, dict):
        fail(f"evidence {i} must be an object with a doc_id and a quote")
    doc_id, quote = item.get("doc_id"), item.get("quote")
    if not isinstance(doc_id, str) or not doc_id:
        fail(f'evidence {i} needs a "doc_id"')
    if not isinstance(quote, str) or not quote.strip():
        fail(f'evidence {i} needs a non-empty "quote"')
    start, end = item.get("start"), item.get("end")
    if (start is None) != (end is None):
        fail(f"evidence {i} gives only one of start and end")
    if start is not None and not (
        all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)) and 0 <= start < end
    ):
        fail(f"evidence {i}: start and end must be whole numbers with 0 <= start < end")
    return Evidence(doc_id, quote, start, end)


def locate(questions: list[GoldQuestion], text_of: Callable[[str], str | None]) -> list[GoldQuestion]:
    """The questions with `spans` filled in from their documents' text (as the index holds it).

    A quote with start/end must be the text at that span. A quote without them counts at every
    place it occurs: any of them is evidence. White space and curly quotes may differ from the
    document, since people type gold sets by hand; anything else is an error.
    """
    located = []
    for q in questions:
        spans: list[Span] = []
        evidence = []
        for i, ev in enumerate(q.evidence, start=1):
            text = text_of(ev.doc_id)
            if text is None:
                raise GoldError(f"{q.where}: evidence {i} names {ev.doc_id!r}, which the index does not hold")
            if ev.start is not None:
                if text[ev.start : ev.end] != ev.quote:
                    raise GoldError(
                        f"{q.where}: evidence {i}: the text of {ev.doc_id!r} at {ev.start}-{ev.end} is "
                        f"{text[ev.start:ev.end][:80]!r}, not the quote {ev.quote[:80]!r}"
                    )
                found = [(ev.start, ev.end)]
            else:
                found = find_quote(text, ev.quote)
                if not found:
                    raise GoldError(f"{q.where}: evidence {i}: quote {ev.quote[:80]!r} is not in {ev.doc_id!r}")
            spans.extend(Span(ev.doc_id, s, e) for s, e in found)
            evidence.append(replace(ev, start=found[0][0], end=found[0][1]))
        located.append(replace(q, evidence=evidence, spans=tuple(spans)))
    return located


_SINGLE, _DOUBLE = "['‘’]", '["“”]'
_QUOTE_CLASSES = {"'": _SINGLE, "‘": _SINGLE, "’": _SINGLE, '"': _DOUBLE, "“": _DOUBLE, "”": _DOUBLE}


def find_quote(text: str, quote: str) -> list[tuple[int, int]]:
    """Every (start, end) where `quote` occurs in `text`, exactly or up to white space and quote marks."""
    exact = [(m.start(), m.start() + len(quote)) for m in re.finditer(re.escape(quote), text)]
    if exact:
        return exact
    pattern = r"\s+".join(
        "".join(_QUOTE_CLASSES.get(ch, re.escape(ch)) for ch in word) for word in quote.split()
    )
    return [(m.start(), m.end()) for m in re.finditer(pattern, text)] if pattern else []
