"""Hybrid retrieval: dense (Chroma) and BM25 rankings fused by reciprocal rank."""

from __future__ import annotations

import numpy as np

from index import Chunk, IndexReader

from qa.results import Passage

RRF_K = 60  # the constant of Cormack et al. (2009); it damps the head of each ranking


def fuse(rankings: list[list[Chunk]], k: int = RRF_K) -> list[tuple[Chunk, float]]:
    """Reciprocal rank fusion, scaled so a chunk ranked first by every retriever scores 1.0."""
    scores: dict[Chunk, float] = {}
    for ranking in rankings:
        for rank, chunk in enumerate(ranking, start=1):
            scores[chunk] = scores.get(chunk, 0.0) + 1.0 / (k + rank)
    best = len(rankings) / (k + 1)
    return sorted(((c, s / best) for c, s in scores.items()), key=lambda item: -item[1])


class HybridRetriever:
    def __init__(self, reader: IndexReader, candidates: int = 50, method: str = "hybrid"):
        self.reader = reader
        self.candidates = candidates
        self.method = method  # "hybrid", or "dense" / "bm25" alone for comparison

    def rankings(self, query: str, vector: np.ndarray | None = None) -> list[list[Chunk]]:
        found: list[list[Chunk]] = []
        if self.method in ("hybrid", "dense"):
            if vector is None:
                vector = self.reader.embedder.embed([query])[0]
            found.append([c for c, _ in self.reader.dense(vector, self.candidates)])
        if self.method in ("hybrid", "bm25"):
            found.append([c for c, _ in self.reader.lexical(query, self.candidates)])
        return found

    def search(self, query: str, top_k: int, vector: np.ndarray | None = None) -> list[Passage]:
        """The `top_k` best passages; `vector` is the query's embedding, when already made."""
        fused = fuse(self.rankings(query, vector))[:top_k]
        return [self.passage(chunk, score) for chunk, score in fused]

    def passage(self, chunk: Chunk, score: float) -> Passage:
        doc = self.reader.documents[chunk.doc_id]
        return Passage(
            doc_id=chunk.doc_id,
            title=doc.title,
            start=chunk.start,
            end=chunk.end,
            text=self.reader.chunk_text(chunk),
            score=round(score, 4),
        )
