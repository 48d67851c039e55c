"""The small value types that travel between the write side and the read side."""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass


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

    @property
    def content_hash(self) -> str:
        digest = hashlib.sha256(self.text.encode("utf-8"))
        digest.update(b"\0" + self.title.encode("utf-8") + b"\0" + (self.date or "").encode("utf-8"))
        if self.pages:  # a PDF indexed before pages were kept is indexed again, to learn them
            digest.update(b"\0" + ",".join(map(str, self.pages)).encode("ascii"))
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
class Chunk:
    """A span of a document's text: `document.text[start:end]` is the chunk."""

    doc_id: str
    start: int
    end: int

    @property
    def id(self) -> str:
        return f"{self.doc_id}:{self.start}-{self.end}"


@dataclass(frozen=True)
class LoadError:
    """A file (or one line of a JSONL file) that could not be read, and why."""

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path} line {self.line}"
        return f"{where}: {self.message}"
