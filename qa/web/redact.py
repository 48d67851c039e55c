"""What the server may tell a client about a failure: what to do, never where files live.

Index and LLM errors name folders and endpoints, which help whoever runs the server and tell a
visitor too much; the server logs them whole and replies with these instead.
"""

from __future__ import annotations

import logging

from index.ingest import IngestBusyError
from index.settings import IndexMismatchError, IndexNotFoundError, IndexStoreError
from qa.errors import INDEX_BUSY

log = logging.getLogger(__name__)


def index_error(exc: IndexStoreError) -> str:
    if isinstance(exc, IngestBusyError):  # not a fault: the client may retry
        return INDEX_BUSY
    log.warning("index unavailable: %s", exc)
    if isinstance(exc, IndexNotFoundError):
        return "no index yet: build one with 'qa ingest' first"
    if isinstance(exc, IndexMismatchError):
        return "the index was built with another embedding model; rebuild it with 'qa ingest --rebuild'"
    return "the index cannot be read; the server log says why"


def llm_error(exc: Exception) -> str:
    log.warning("LLM failed: %s", exc)
    return "the LLM endpoint failed; the server log says why"


def text(value: str) -> str:
    """Client text echoed back, without the NUL characters that some clients choke on."""
    return value.replace("\x00", "")
