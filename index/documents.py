"""The small value types that travel between the write side and the read side."""

from __future__ import annotations

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

    @property
    def content_hash(self) -> str:
        digest = hashlib.sha256(self.text.encode("utf-8"))
        digest.update(b"\0" + self.title.encode("utf-8") + b"\0" + (self.date or "").encode("utf-8"))
        return digest.hexdigest()


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
