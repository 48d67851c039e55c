"""Citation ids (`<doc_id>:<start>-<end>`) and what they resolve to."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from index import IndexReader
from index.documents import page_at
from index.sentences import sentence_spans

from qa.errors import BadInputError, NotFoundError

_SPAN = re.compile(r"^(?P<doc>.+):(?P<start>\d{1,12})-(?P<end>\d{1,12})$", re.S)
CONTEXT_SENTENCES = 2


@dataclass(frozen=True)
class ResolvedCitation:
    id: str
    doc_id: str
    title: str
    date: str | None
    start: int
    end: int
    quote: str
    context_before: str
    context_after: str
    context_start: int
    context_end: int
    document_length: int
    page: int | None = None  # the PDF page the quote starts on

    def to_dict(self) -> dict:
        return asdict(self)


def parse_citation_id(citation_id: str) -> tuple[str, int, int]:
    match = _SPAN.match(citation_id.strip()) if citation_id else None
    if not match:
        raise BadInputError(
            f"malformed citation id {citation_id[:200]!r}; expected <doc_id>:<start>-<end>, "
            "e.g. 000_3cdf5aa040d08496.txt:738-905"
        )
    start, end = int(match["start"]), int(match["end"])
    if start >= end:
        raise BadInputError(f"citation span {start}-{end} is empty; start must be below end")
    return match["doc"], start, end


def resolve(reader: IndexReader, citation_id: str, context: int = CONTEXT_SENTENCES) -> ResolvedCitation:
    """The quoted span, a few sentences either side, and the document's metadata.

    Only documents listed in the index are read, so an id naming a path outside it finds nothing.
    """
    doc_id, start, end = parse_citation_id(citation_id)
    text = reader.text(doc_id)
    if text is None:
        raise NotFoundError(f"no indexed document {doc_id!r}; 'qa docs' lists them")
    if end > len(text):
        raise NotFoundError(f"span {start}-{end} lies outside {doc_id!r}, which has {len(text)} characters")
    spans = sentence_spans(text)
    before = [s for s in spans if s[1] <= start][-context:] if context else []
    after = [s for s in spans if s[0] >= end][:context] if context else []
    context_start = before[0][0] if before else start
    context_end = after[-1][1] if after else end
    doc = reader.documents[doc_id]
    return ResolvedCitation(
        id=f"{doc_id}:{start}-{end}",
        doc_id=doc_id,
        title=doc.title,
        date=doc.date,
        start=start,
        end=end,
        quote=text[start:end],
        context_before=text[context_start:start],
        context_after=text[end:context_end],
        context_start=context_start,
        context_end=context_end,
        document_length=len(text),
        page=page_at(doc.pages, start),
    )
