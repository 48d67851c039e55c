"""The small value types that travel between the write side and the read side."""

from __future__ import annotations

import bisect
import functools
import hashlib
import re
from dataclasses import dataclass

from index.sentences import wrap_width

_SPAN_ID = re.compile(r"(?P<doc>.+):(?P<start>\d{1,12})-(?P<end>\d{1,12})", re.S)


@dataclass(frozen=True)
class Document:
    """One document: its id, its text exactly as offsets refer to it, and its metadata."""

    doc_id: str
    text: str
    title: str
    date: str | None
    source: str  # the file it came from
    root: str  # the path that was scanned to find it; deletions are scoped to it
    pages: tuple[int, ...] = ()  # a PDF's: where each page starts in `text` (page n at pages[n - 1])

    @functools.cached_property  # asked for once per chunk when the document is written
    def content_hash(self) -> str:
        digest = hashlib.sha256(self.text.encode("utf-8"))
        digest.update(b"\0" + self.title.encode("utf-8") + b"\0" + (self.date or "").encode("utf-8"))
        if self.pages:  # a PDF indexed before pages were kept is indexed again, to learn them
            digest.update(b"\0" + ",".join(map(str, self.pages)).encode("ascii"))
        if wrap_width(self.text):  # hard-wrapped text indexed a line at a time is chunked again
            digest.update(b"\0wrapped")
        return digest.hexdigest()


def searchable_text(title: str, chunk: str) -> str:
    """What BM25 and the embedder see of a chunk: its document's title, then the chunk itself.

    Only the searches see the title; offsets, passages and quotes are the chunk's own text.
    """
    return f"{title}\n\n{chunk}" if title else chunk


def page_at(pages: tuple[int, ...], offset: int) -> int | None:
    """The page (from 1) that holds `offset`, given where each page starts; None without pages.

    A page with no text starts where the next one does, so an offset never falls on it."""
    if not pages:
        return None
    return max(1, bisect.bisect_right(pages, offset))


@dataclass(frozen=True)
class Span:
    """A stretch of one document's text, `text[start:end]`, named by its id `<doc_id>:<start>-<end>`.

    The one way the project says "this piece of this document": chunks, passages, citations and
    evaluation spans are all Spans, and an id that survives re-indexing while the document is
    unchanged.
    """

    doc_id: str
    start: int
    end: int

    @property
    def id(self) -> str:
        return f"{self.doc_id}:{self.start}-{self.end}"

    @classmethod
    def parse(cls, span_id: str) -> Span:
        """The span an id names. ValueError when it is not `<doc_id>:<start>-<end>` with start < end
        (the doc id may itself hold colons: the last one separates it)."""
        match = _SPAN_ID.fullmatch(span_id.strip()) if isinstance(span_id, str) else None
        if not match:
            raise ValueError(f"{str(span_id)[:200]!r} is not <doc_id>:<start>-<end>")
        start, end = int(match["start"]), int(match["end"])
        if start > end:
            raise ValueError(f"the span {start}-{end} is reversed: its start is after its end")
        if start == end:
            raise ValueError(f"the span {start}-{end} is empty: its start must be below its end")
        return cls(match["doc"], start, end)

    def overlaps(self, other: Span) -> bool:
        """Whether the two share at least one character of the same document."""
        return self.doc_id == other.doc_id and self.start < other.end and other.start < self.end


Chunk = Span  # what the index stores and searches as one piece


@dataclass(frozen=True)
class LoadError:
    """A file (or one line of a JSONL file) that could not be read, and why."""

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path} line {self.line}"
        return f"{where}: {self.message}"
