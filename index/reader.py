"""A read-only snapshot of the index for the query side."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from index.catalog import FILENAME, Catalog, StoredDocument
from index.documents import Chunk
from index.embedding import Embedder
from index.ingest import build_lexical
from index.lexical import LexicalIndex
from index.settings import IndexNotFoundError, IndexSettings
from index.vectors import ChromaVectors

log = logging.getLogger(__name__)


class IndexReader:
    """Documents, chunks, and the two searches over them, as the catalog lists them."""

    def __init__(self, settings: IndexSettings, embedder: Embedder):
        if not (settings.index_dir / FILENAME).is_file():
            raise IndexNotFoundError(
                f"no index in {settings.index_dir}; build one with 'qa ingest' first"
            )
        catalog = Catalog(settings.index_dir, read_only=True)
        try:
            catalog.check_model(embedder.name, embedder.dimension, record=False)
            self.documents: dict[str, StoredDocument] = catalog.documents()
            self._texts = catalog.texts()
            self._chunks = catalog.chunks()
            fingerprint = catalog.fingerprint()
            lexical = LexicalIndex.load(settings.index_dir)
            if lexical is None or lexical.fingerprint != fingerprint:
                # An ingest was stopped before it rebuilt BM25; search what the catalog lists.
                log.warning("the BM25 index is out of date; using a fresh one in memory")
                lexical = build_lexical(catalog, fingerprint)
        finally:
            catalog.close()
        self._by_doc: dict[str, list[Chunk]] = {}
        for chunk in sorted(self._chunks.values(), key=lambda c: (c.doc_id, c.start)):
            self._by_doc.setdefault(chunk.doc_id, []).append(chunk)
        self._lexical = lexical
        self._vectors = ChromaVectors(settings)
        self.embedder = embedder
        self.index_dir: Path = settings.index_dir

    def text(self, doc_id: str) -> str | None:
        return self._texts.get(doc_id)

    def chunk_text(self, chunk: Chunk) -> str:
        return self._texts[chunk.doc_id][chunk.start : chunk.end]

    @property
    def chunk_count(self) -> int:
        return len(self._chunks)

    def chunks_of(self, doc_id: str) -> list[Chunk]:
        return list(self._by_doc.get(doc_id, ()))

    def dense(self, vector: np.ndarray, k: int, doc_ids: set[str] | None = None) -> list[tuple[Chunk, float]]:
        """Nearest chunks by cosine similarity, of `doc_ids` only when given; vectors the catalog
        does not list are ignored."""
        hits = self._vectors.query(vector, k, None if doc_ids is None else sorted(doc_ids))
        return [(self._chunks[i], score) for i, score in hits if i in self._chunks]

    def lexical(self, query: str, k: int, doc_ids: set[str] | None = None) -> list[tuple[Chunk, float]]:
        """The best chunks by BM25, of `doc_ids` only when given."""
        keep = None
        if doc_ids is not None:
            keep = np.fromiter((i in self._chunks and self._chunks[i].doc_id in doc_ids for i in self._lexical.ids),
                               dtype=bool, count=len(self._lexical.ids))
        hits = self._lexical.search(query, k, keep)
        return [(self._chunks[i], score) for i, score in hits if i in self._chunks]


def open_index(settings: IndexSettings, embedder: Embedder) -> IndexReader:
    return IndexReader(settings, embedder)
