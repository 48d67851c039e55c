"""Citation ids (`<doc_id>:<start>-<end>`) and what they resolve to."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from index import IndexReader
from index.documents import Span, page_at
from index.sentences import sentence_spans

from qa.errors import BadInputError, NotFoundError

CONTEXT_SENTENCES = 2


@dataclass(frozen=True)
class ResolvedCitation(Span):
    """A citation id looked up: its quote, a few sentences either side, and its document's metadata."""

    title: str
    date: str | None
    quote: str
    context_before: str
    context_after: str
    context_start: int
    context_end: int
    document_length: int
    page: int | None = None  # the PDF page the quote starts on

    def to_dict(self) -> dict:
        data = asdict(self)
        return {"id": self.id, "doc_id": data.pop("doc_id"), "title": data.pop("title"), "date": data.pop("date"),
                **data}


def parse_citation_id(citation_id: str) -> Span:
    """The span a citation id names; BadInputError when it names none."""
    try:
        return Span.parse(citation_id)
    except ValueError as exc:
        raise BadInputError(f"not a citation id: {exc} (e.g. 000_3cdf5aa040d08496.txt:738-905)") from None


def resolve(reader: IndexReader, citation_id: str, context: int = CONTEXT_SENTENCES) -> ResolvedCitation:
    """The quoted span, a few sentences either side, and the document's metadata.

    Only documents listed in the index are read, so an id naming a path outside it finds nothing.
    """
    span = parse_citation_id(citation_id)
    doc_id, start, end = span.doc_id, span.start, span.end
    text = reader.text(doc_id)
    if text is None:
        raise NotFoundError.documents([doc_id])
    if end > len(text):
        raise NotFoundError(f"span {start}-{end} lies outside {doc_id!r}, which has {len(text)} characters")
    spans = sentence_spans(text)
    before = [s for s in spans if s[1] <= start][-context:] if context else []
    after = [s for s in spans if s[0] >= end][:context] if context else []
    context_start = before[0][0] if before else start
    context_end = after[-1][1] if after else end
    doc = reader.documents[doc_id]
    return ResolvedCitation(
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
