"""What the write side needs to know, passed in explicitly; the environment is read in qa.config."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from index.errors import CorpusError

PRECISIONS = ("int8", "fp32")  # how the models run: int8 on ONNX Runtime, or fp32 in torch


class IndexStoreError(CorpusError):
    """Base of the index's own errors; the message is meant for the user (tree: index.errors)."""


class IndexNotFoundError(IndexStoreError):
    pass


class IndexMismatchError(IndexStoreError):
    pass


class CorruptIndexError(IndexStoreError):
    pass


class EmbeddingModelError(IndexStoreError):
    pass


@dataclass(frozen=True)
class IndexSettings:
    index_dir: Path
    embed_model: str = ""  # empty: the bundled all-MiniLM-L6-v2
    embed_precision: str = "int8"  # or "fp32" (index.embedding.load_embedder)
    chunk_tokens: int = 192
    chunk_overlap_tokens: int = 32
    chroma_host: str | None = None
    chroma_port: int = 8000
    collection: str = "qa_chunks"
    # Texts per call of the model, shortest first. 16 embeds SQuAD passages faster than 64 on two
    # cores: 11% in int8 (400 passages), 21% in fp32 (200): less padding, and the batch stays in cache.
    embed_batch_size: int = 16
    max_document_chunks: int = 0  # a document cut into more chunks is refused whole; 0: no limit
    titles_in_chunks: bool = True  # searches see each chunk with its document's title before it
