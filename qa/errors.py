"""Errors the user can act on; the CLI and the API turn them into one clear line or a 4xx.

The whole tree, index errors included, is drawn in `index.errors`.
"""

from __future__ import annotations

from collections.abc import Sequence

from index.errors import CorpusError
from index.settings import IndexStoreError

MISSING_SHOWN = 5  # documents a NotFoundError names; the rest it counts


class QAError(CorpusError):
    """Base of the read side's own errors."""


class BadInputError(QAError, ValueError):
    """The request itself is wrong: an empty question, a malformed citation id."""


class NotFoundError(QAError, LookupError):
    """A citation or a document that the index does not hold.

    `doc_ids` names the documents that are not there (none when the document is, but not the span
    asked of it), so that each front end can add how its users list the ones that are.
    """

    def __init__(self, message: str, doc_ids: Sequence[str] = ()):
        super().__init__(message)
        self.doc_ids = tuple(doc_ids)

    @classmethod
    def documents(cls, doc_ids: Sequence[str]) -> NotFoundError:
        """The error for documents the index does not hold ("no indexed document 'x.txt'"),
        naming the first few of `doc_ids`."""
        shown = ", ".join(repr(d) for d in doc_ids[:MISSING_SHOWN])
        more = f" and {len(doc_ids) - MISSING_SHOWN} more" if len(doc_ids) > MISSING_SHOWN else ""
        return cls(f"no indexed document{'s' if len(doc_ids) > 1 else ''} {shown}{more}", doc_ids)


class ReadOnlyError(QAError):
    """A change to the index asked of a server that serves it read-only (QA_READ_ONLY)."""


class LLMError(QAError):
    """The configured LLM endpoint failed or answered nonsense."""


class SupportModelError(QAError):
    """The support model's files are missing, unreadable, or do not fit the bundled weights."""


class StoppingError(QAError):
    """The server is shutting down: an upload being indexed stops at its next part."""


# What a client reads of an `index.ingest.IngestBusyError`, whose own text names the index folder.
INDEX_BUSY = "another ingest is writing to the index; retry when it ends"


__all__ = ["INDEX_BUSY", "BadInputError", "CorpusError", "IndexStoreError", "LLMError", "NotFoundError", "QAError",
           "ReadOnlyError", "StoppingError", "SupportModelError"]
