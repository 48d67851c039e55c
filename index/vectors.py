"""The Chroma seam: an embedded PersistentClient by default, a Chroma server when configured."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from index.settings import CorruptIndexError, IndexSettings


def _client(settings: IndexSettings, reload: bool = False):
    import chromadb
    from chromadb.config import Settings

    chroma_settings = Settings(anonymized_telemetry=False)
    if settings.chroma_host:
        return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings)
    path = settings.index_dir / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    if reload:
        _forget_cached_store(str(path))
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


def _forget_cached_store(path: str) -> None:
    """Make the next client of `path` load the store from disk.

    chromadb keeps one store per path and process, and that store's nearest-neighbour index does not
    see vectors that another process added later (counts do; queries miss them). A reader of a new
    generation therefore starts a store of its own; clients already open keep theirs, and it goes
    when they do. chromadb has no public call for this, hence its private registry.
    """
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient._identifier_to_system.pop(path, None)


def _where(settings: IndexSettings) -> str:
    if settings.chroma_host:
        return f"the Chroma server at {settings.chroma_host}:{settings.chroma_port}"
    return f"the vector store under {settings.index_dir / 'chroma'}"


class ChromaVectors:
    def __init__(self, settings: IndexSettings, reload: bool = False):
        try:
            self._client = _client(settings, reload)
            self._collection = self._client.get_or_create_collection(
                settings.collection, metadata={"hnsw:space": "cosine"}, embedding_function=None
            )
        except Exception as exc:  # chromadb raises many unrelated types for one cause
            raise CorruptIndexError(f"cannot open {_where(settings)}: {exc}") from None
        self._batch = max(1, min(5000, self._client.get_max_batch_size()))

    @staticmethod
    def drop(settings: IndexSettings) -> None:
        """Delete the collection (through the client: it caches open stores per path)."""
        try:
            client = _client(settings)
            if settings.collection in [c.name for c in client.list_collections()]:
                client.delete_collection(settings.collection)
        except Exception as exc:
            raise CorruptIndexError(f"cannot reset {_where(settings)}: {exc}") from None

    def add(self, ids: Sequence[str], vectors: np.ndarray, doc_ids: Sequence[str]) -> None:
        for i in range(0, len(ids), self._batch):
            part = slice(i, i + self._batch)
            self._collection.upsert(
                ids=list(ids[part]),
                embeddings=vectors[part],
                metadatas=[{"doc_id": d} for d in doc_ids[part]],
            )

    def get(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of those `ids` that are stored."""
        found: dict[str, np.ndarray] = {}
        ids = list(ids)
        for i in range(0, len(ids), self._batch):
            page = self._collection.get(ids=ids[i : i + self._batch], include=["embeddings"])
            found.update(zip(page["ids"], np.asarray(page["embeddings"], dtype=np.float32)))
        return found

    def delete(self, ids: Sequence[str]) -> None:
        ids = list(ids)
        for i in range(0, len(ids), self._batch):
            self._collection.delete(ids=ids[i : i + self._batch])

    def ids(self) -> set[str]:
        found: set[str] = set()
        offset = 0
        while True:
            page = self._collection.get(include=[], limit=self._batch, offset=offset)["ids"]
            found.update(page)
            if len(page) < self._batch:
                return found
            offset += len(page)

    def count(self) -> int:
        return self._collection.count()

    def query(self, vector: np.ndarray, k: int, doc_ids: Sequence[str] | None = None) -> list[tuple[str, float]]:
        """The `k` nearest vectors as (id, cosine similarity), best first; only those of `doc_ids`
        when given (Chroma filters inside its search, so `k` counts vectors that pass)."""
        if k <= 0 or self.count() == 0 or (doc_ids is not None and not doc_ids):
            return []
        where = None if doc_ids is None else {"doc_id": {"$in": list(doc_ids)}}
        result = self._collection.query(
            query_embeddings=[vector], n_results=k, where=where, include=["distances"]
        )
        return [(i, 1.0 - d) for i, d in zip(result["ids"][0], result["distances"][0])]
