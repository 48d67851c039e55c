"""A read-only snapshot of the index for the query side.

A reader holds one generation of the index: the catalog pinned by a read transaction, the lexical
index as committed when it opened, and the vectors. Both searches return ids, so a vector or a
lexical entry that its catalog does not list is ignored. Document texts stay in the catalog and are
read when asked for, through a cache of bounded size. An ingest in another process advances the catalog's
generation when it has finished; `is_current` sees that, and the owner opens a new reader.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from index.catalog import FILENAME, Catalog, StoredDocument
from index.documents import Chunk
from index.embedding import Embedder
from index.ingest import LOCK_WAIT, IngestBusyError, _exclusive, settle_lexical
from index.lexical import LexicalIndex
from index.settings import CorruptIndexError, IndexMismatchError, IndexNotFoundError, IndexSettings
from index.vectors import ChromaVectors

log = logging.getLogger(__name__)

TEXT_CACHE_CHARACTERS = 32_000_000  # document text kept in memory by one reader, at most


class _TextCache:
    """Least recently used document texts, up to a number of characters in all."""

    def __init__(self, limit: int):
        self.limit = limit
        self.size = 0
        self._texts: OrderedDict[str, str] = OrderedDict()

    def get(self, doc_id: str) -> str | None:
        text = self._texts.get(doc_id)
        if text is not None:
            self._texts.move_to_end(doc_id)
        return text

    def put(self, doc_id: str, text: str) -> None:
        self._texts[doc_id] = text
        self.size += len(text)
        while self.size > self.limit and len(self._texts) > 1:
            _, dropped = self._texts.popitem(last=False)
            self.size -= len(dropped)


class IndexReader:
    """Documents, chunks, and the two searches over them, as one generation of the catalog lists them."""

    def __init__(self, settings: IndexSettings, embedder: Embedder,
                 text_cache_characters: int = TEXT_CACHE_CHARACTERS):
        if not (settings.index_dir / FILENAME).is_file():
            raise IndexNotFoundError(
                f"no index in {settings.index_dir}; build one with 'qa ingest' first"
            )
        catalog = Catalog(settings.index_dir, read_only=True)
        try:
            # By name only: a reader that lists documents or resolves citations never loads the
            # model. The first dense search checks the dimension (`dense`).
            catalog.check_model(embedder.name, None, record=False)
            self._dimension = int(catalog.get_meta("embed_dimension") or 0)
            self._identity = catalog.identity()
            catalog.pin()
            self.generation = catalog.generation()
            self.documents: dict[str, StoredDocument] = catalog.documents()
            self._chunks = catalog.chunks()
            lexical = _open_lexical(settings.index_dir, bool(catalog.lexical_pending()))
            self._probe = Catalog(settings.index_dir, read_only=True)  # sees the latest commit
        except BaseException:
            catalog.close()
            raise
        self._catalog = catalog
        self._lock = threading.Lock()  # one sqlite3 connection is not for two threads at once
        self._texts = _TextCache(text_cache_characters)
        self._by_doc: dict[str, list[Chunk]] = {}
        for chunk in sorted(self._chunks.values(), key=lambda c: (c.doc_id, c.start)):
            self._by_doc.setdefault(chunk.doc_id, []).append(chunk)
        self._lexical = lexical
        self._vectors = ChromaVectors(settings, reload=True)  # what other processes wrote, too
        self.embedder = embedder
        self.index_dir: Path = settings.index_dir

    def is_current(self) -> bool:
        """False once a finished ingest or removal (in any process) has made a newer generation.

        Cheap enough to ask before every request: a stat and one indexed read. While the catalog
        file is missing (a rebuild is starting), this snapshot stays in use.
        """
        try:
            if self._probe.path.stat().st_ino != self._identity:
                return False
            with self._lock:
                return self._probe.generation() == self.generation
        except OSError:
            return True

    def close(self) -> None:
        with self._lock:
            self._catalog.close()
            self._probe.close()

    def text(self, doc_id: str) -> str | None:
        if doc_id not in self.documents:
            return None
        with self._lock:
            text = self._texts.get(doc_id)
            if text is None:
                text = self._catalog.document_text(doc_id)
                if text is not None:
                    self._texts.put(doc_id, text)
        return text

    def chunk_text(self, chunk: Chunk) -> str:
        text = self.text(chunk.doc_id)
        if text is None:
            raise KeyError(chunk.doc_id)
        return text[chunk.start : chunk.end]

    @property
    def chunk_count(self) -> int:
        return len(self._chunks)

    def chunks_of(self, doc_id: str) -> list[Chunk]:
        return list(self._by_doc.get(doc_id, ()))

    def dense(self, vector: np.ndarray, k: int, doc_ids: set[str] | None = None) -> list[tuple[Chunk, float]]:
        """Nearest chunks by cosine similarity, of `doc_ids` only when given; vectors the catalog
        does not list are ignored."""
        if self._dimension and vector.shape[-1] != self._dimension:
            raise IndexMismatchError(f"the index holds {self._dimension}-dimension vectors but the embedding model "
                                     f"gives {vector.shape[-1]}; re-ingest with 'qa ingest --rebuild'")
        hits = self._vectors.query(vector, k, None if doc_ids is None else sorted(doc_ids))
        return [(self._chunks[i], score) for i, score in hits if i in self._chunks]

    def knows(self, word: str) -> bool:
        """Whether the corpus holds `word` (stemmed as BM25 reads it; a stopword never counts)."""
        return self._lexical.knows(word)

    def lexical(self, query: str, k: int, doc_ids: set[str] | None = None) -> list[tuple[Chunk, float]]:
        """The best chunks by BM25, of `doc_ids` only when given."""
        hits = self._lexical.search(query, k, doc_ids)
        return [(self._chunks[i], score) for i, score in hits if i in self._chunks]


def open_index(settings: IndexSettings, embedder: Embedder) -> IndexReader:
    return IndexReader(settings, embedder)


def _open_lexical(index_dir: Path, pending: bool) -> LexicalIndex:
    """The committed lexical index. Missing (an index made before it, when BM25 was a bm25s file),
    it is built from the catalog once, which waits for an ingest under way. With documents left
    marked by a writer that was killed, they are done first when no writer is at work."""
    lexical = LexicalIndex.open(index_dir)
    if lexical is None or pending:
        try:
            with _exclusive(index_dir, wait=LOCK_WAIT if lexical is None else 0.0):
                catalog = Catalog(index_dir)
                try:
                    settle_lexical(catalog, index_dir)
                finally:
                    catalog.close()
        except IngestBusyError:
            if lexical is None:
                raise
            # an ingest is writing; its documents join the searches when it announces them
        lexical = LexicalIndex.open(index_dir)
    if lexical is None:
        raise CorruptIndexError(f"the lexical index in {index_dir} cannot be read; "
                                "rebuild it with 'qa ingest --rebuild'")
    return lexical
