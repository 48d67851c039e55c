"""The BM25 index (bm25s), stored beside Chroma with the catalog fingerprint it was built from.

bm25s keeps the chunk ids as its corpus: it saves them with the index and returns them from a
search, so that the ids and the scores cannot drift apart.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

DIRNAME = "bm25"
META = "fingerprint.json"


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    import bm25s

    return bm25s.tokenize(
        list(texts), stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False
    )


class LexicalIndex:
    def __init__(self, retriever, fingerprint: str):
        self._retriever = retriever
        self.fingerprint = fingerprint

    @property
    def ids(self) -> list[str]:
        """The chunk ids, in the order of the index's rows (a `keep` mask follows it)."""
        return self._retriever.corpus or []

    @classmethod
    def build(cls, ids: Sequence[str], texts: Sequence[str], fingerprint: str) -> LexicalIndex:
        import bm25s

        retriever = bm25s.BM25(corpus=list(ids))
        if ids:
            retriever.index(tokenize(texts), show_progress=False)
        return cls(retriever, fingerprint)

    def knows(self, text: str) -> bool:
        """Whether any word of `text` is in the index (as BM25 reads words: stemmed, no stopwords)."""
        return any(t in self._retriever.vocab_dict for t in tokenize([text])[0])

    def search(self, query: str, k: int, keep: np.ndarray | None = None) -> list[tuple[str, float]]:
        """Up to `k` (id, BM25 score) pairs with a positive score, best first; with `keep` (a
        boolean per id), only ids it marks, chosen before the top `k` are cut."""
        size = len(self.ids)
        if not size or k <= 0:
            return []
        known = [t for t in tokenize([query])[0] if t in self._retriever.vocab_dict]
        if not known:
            return []
        mask = None if keep is None else keep.astype(self._retriever.dtype)
        ids, scores = self._retriever.retrieve([known], k=min(k, size), weight_mask=mask, show_progress=False)
        return [(str(i), float(s)) for i, s in zip(ids[0], scores[0]) if s > 0]

    def save(self, index_dir: Path) -> None:
        """Write beside the old copy, then swap, so a reader never sees half a file."""
        target = index_dir / DIRNAME
        staging = Path(tempfile.mkdtemp(prefix=".bm25-", dir=index_dir))
        if self._retriever.corpus:
            self._retriever.save(str(staging / "model"), show_progress=False)
        (staging / META).write_text(json.dumps({"fingerprint": self.fingerprint}), encoding="utf-8")
        retired = index_dir / f".bm25-old-{staging.name}"
        if target.exists():
            target.rename(retired)
        staging.rename(target)
        shutil.rmtree(retired, ignore_errors=True)

    @classmethod
    def load(cls, index_dir: Path) -> LexicalIndex | None:
        """The stored index, or None when it is missing, unreadable or of an older layout."""
        import bm25s

        folder = index_dir / DIRNAME
        try:
            fingerprint = str(json.loads((folder / META).read_text(encoding="utf-8"))["fingerprint"])
            if (folder / "model").is_dir():
                retriever = bm25s.BM25.load(str(folder / "model"), load_corpus=True, show_progress=False)
                # bm25s stores each string of its corpus as {"id": row, "text": string}
                retriever.corpus = [row["text"] for row in retriever.corpus]
            else:
                retriever = bm25s.BM25(corpus=[])
            return cls(retriever, fingerprint)
        except (OSError, ValueError, KeyError, TypeError):
            return None
