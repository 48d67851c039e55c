"""The BM25 index (bm25s), stored beside Chroma with the catalog fingerprint it was built from."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

DIRNAME = "bm25"


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
    def __init__(self, retriever, ids: list[str], fingerprint: str):
        self._retriever = retriever
        self.ids = ids
        self.fingerprint = fingerprint

    @classmethod
    def build(cls, ids: list[str], texts: Sequence[str], fingerprint: str) -> LexicalIndex:
        import bm25s

        retriever = bm25s.BM25()
        if ids:
            retriever.index(tokenize(texts), show_progress=False)
        return cls(retriever, list(ids), fingerprint)

    def search(self, query: str, k: int, keep: np.ndarray | None = None) -> list[tuple[str, float]]:
        """Up to `k` (id, BM25 score) pairs with a positive score, best first; with `keep` (a
        boolean per id), only ids it marks, chosen before the top `k` are cut."""
        if not self.ids or k <= 0:
            return []
        tokens = tokenize([query])[0]
        known = [t for t in tokens if t in self._retriever.vocab_dict]
        if not known:
            return []
        scores = self._retriever.get_scores(known)
        if keep is not None:
            scores = np.where(keep, scores, 0.0)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def save(self, index_dir: Path) -> None:
        """Write beside the old copy, then swap, so a reader never sees half a file."""
        target = index_dir / DIRNAME
        staging = Path(tempfile.mkdtemp(prefix=".bm25-", dir=index_dir))
        if self.ids:
            self._retriever.save(str(staging / "model"))
        (staging / "ids.json").write_text(
            json.dumps({"fingerprint": self.fingerprint, "ids": self.ids}), encoding="utf-8"
        )
        retired = index_dir / f".bm25-old-{staging.name}"
        if target.exists():
            target.rename(retired)
        staging.rename(target)
        shutil.rmtree(retired, ignore_errors=True)

    @classmethod
    def load(cls, index_dir: Path) -> LexicalIndex | None:
        """The stored index, or None when it is missing or unreadable."""
        import bm25s

        folder = index_dir / DIRNAME
        try:
            meta = json.loads((folder / "ids.json").read_text(encoding="utf-8"))
            ids = list(meta["ids"])
            if ids:
                retriever = bm25s.BM25.load(str(folder / "model"))
            else:
                retriever = bm25s.BM25()
            return cls(retriever, ids, str(meta["fingerprint"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None
