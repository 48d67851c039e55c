"""Errors the user can act on; the CLI and the API turn them into one clear line or a 4xx.

The whole tree, index errors included, is drawn in `index.errors`.
"""

from index.errors import CorpusError
from index.settings import IndexStoreError


class QAError(CorpusError):
    """Base of the read side's own errors."""


class BadInputError(QAError, ValueError):
    """The request itself is wrong: an empty question, a malformed citation id."""


class NotFoundError(QAError, LookupError):
    """A citation or a document that the index does not hold."""


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
