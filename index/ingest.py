"""Bring the index up to date with a set of paths: add, replace and remove, safely.

Order of writes, chosen so that a kill at any point leaves a consistent index:
1. new vectors go into Chroma under ids no listed chunk uses;
2. one SQLite transaction lists the new chunks and unlists the old;
3. the old vectors are deleted; 4. BM25 is rebuilt from the catalog and swapped in.
A kill after 1 or 2 leaves unlisted vectors, which the next ingest sweeps away (`_repair`).
"""

from __future__ import annotations

import fcntl
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from index.catalog import FILENAME, Catalog, vector_id
from index.chunking import chunk_text
from index.documents import Chunk, Document, LoadError
from index.embedding import Embedder, SentenceTransformerEmbedder
from index.lexical import DIRNAME as BM25_DIRNAME
from index.lexical import LexicalIndex
from index.loaders import load_paths
from index.settings import IndexSettings, IndexStoreError
from index.vectors import ChromaVectors

BATCH_CHUNKS = 256  # chunks embedded and committed together (and the progress bar step)


@dataclass
class IngestReport:
    documents: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    chunks: int = 0
    seconds: float = 0.0
    errors: list[LoadError] = field(default_factory=list)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["errors"] = [{"path": e.path, "line": e.line, "error": e.message} for e in self.errors]
        return data


class IngestBusyError(IndexStoreError):
    pass


@contextmanager
def _exclusive(index_dir: Path) -> Iterator[None]:
    """One writer at a time; the lock dies with its process, so a killed ingest leaves none."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IngestBusyError(f"another ingest is writing to {index_dir}; try again when it ends") from None
        yield


def ingest(
    paths: list[Path],
    settings: IndexSettings,
    embedder: Embedder | None = None,
    rebuild: bool = False,
    progress: bool = False,
) -> IngestReport:
    """Index the documents under `paths`; documents gone from a scanned path are removed."""
    began = time.perf_counter()
    paths = [Path(p).expanduser().resolve() for p in paths]
    with _exclusive(settings.index_dir):
        if rebuild:
            _wipe(settings)
        embedder = embedder or SentenceTransformerEmbedder(settings.embed_model, settings.embed_batch_size)
        catalog = Catalog(settings.index_dir)
        try:
            catalog.check_model(embedder.name, embedder.dimension, record=True)
            vectors = ChromaVectors(settings)
            _repair(catalog, vectors)
            report = _sync(paths, settings, catalog, vectors, embedder, progress)
            _refresh_lexical(catalog, settings.index_dir)
            report.documents = len(catalog.documents())
            report.chunks = len(catalog.chunks())
        finally:
            catalog.close()
    report.seconds = round(time.perf_counter() - began, 3)
    return report


def _sync(paths, settings, catalog, vectors, embedder, progress) -> IngestReport:
    report = IngestReport()
    stored = catalog.documents()
    found: dict[str, Document] = {}
    for item in load_paths(paths):
        if isinstance(item, LoadError):
            report.errors.append(item)
        else:
            found[item.doc_id] = item
    pending = [doc for doc in found.values() if stored.get(doc.doc_id, None) is None
               or stored[doc.doc_id].hash != doc.content_hash]
    report.unchanged = len(found) - len(pending)
    report.added = sum(1 for doc in pending if doc.doc_id not in stored)
    report.updated = len(pending) - report.added

    _write(pending, settings, catalog, vectors, embedder, progress)

    # A document is gone when a path that held it was scanned and it was not found there.
    # Files that failed to load keep what they had: a bad edit must not erase an indexed version.
    scanned = {str(p) for p in paths}
    failed = {e.path for e in report.errors}
    gone = [
        d.doc_id for d in stored.values()
        if d.root in scanned and d.doc_id not in found and d.source not in failed
    ]
    if gone:
        old_ids = catalog.vector_ids(gone)
        catalog.remove_documents(gone)
        vectors.delete(old_ids)
    report.removed = len(gone)
    return report


def _write(pending, settings, catalog, vectors, embedder, progress) -> None:
    from tqdm import tqdm

    bar = tqdm(total=len(pending), unit="doc", desc="Indexing", disable=not progress or not pending)
    batch: list[tuple[Document, list[Chunk]]] = []
    size = 0
    for doc in pending:
        chunks = chunk_text(doc.doc_id, doc.text, settings.chunk_tokens, settings.chunk_overlap_tokens)
        batch.append((doc, chunks))
        size += len(chunks)
        if size >= BATCH_CHUNKS:
            _write_batch(batch, catalog, vectors, embedder)
            bar.update(len(batch))
            batch, size = [], 0
    if batch:
        _write_batch(batch, catalog, vectors, embedder)
        bar.update(len(batch))
    bar.close()


def _write_batch(batch, catalog: Catalog, vectors: ChromaVectors, embedder: Embedder) -> None:
    ids, texts, doc_ids = [], [], []
    for doc, chunks in batch:
        for chunk in chunks:
            ids.append(vector_id(chunk, doc.content_hash))
            texts.append(doc.text[chunk.start : chunk.end])
            doc_ids.append(doc.doc_id)
    vectors.add(ids, embedder.embed(texts), doc_ids)
    old_ids = set(catalog.vector_ids(doc.doc_id for doc, _ in batch))
    catalog.put_documents(batch, now=time.time())
    vectors.delete(sorted(old_ids - set(ids)))


def _repair(catalog: Catalog, vectors: ChromaVectors) -> None:
    """Undo what a killed ingest left half done."""
    listed = catalog.chunks()
    present = vectors.ids()
    orphans = present - listed.keys()
    if orphans:
        vectors.delete(sorted(orphans))
    missing = {listed[i].doc_id for i in listed.keys() - present}
    if missing:  # only a lost or foreign vector store does this; embed those documents again
        catalog.forget_hashes(missing)


def _refresh_lexical(catalog: Catalog, index_dir: Path) -> None:
    for stale in index_dir.glob(".bm25-*"):
        shutil.rmtree(stale, ignore_errors=True)
    fingerprint = catalog.fingerprint()
    current = LexicalIndex.load(index_dir)
    if current is not None and current.fingerprint == fingerprint:
        return
    build_lexical(catalog, fingerprint).save(index_dir)


def build_lexical(catalog: Catalog, fingerprint: str) -> LexicalIndex:
    texts = catalog.texts()
    chunks = sorted(catalog.chunks().items())
    return LexicalIndex.build(
        [vec_id for vec_id, _ in chunks],
        [texts[c.doc_id][c.start : c.end] for _, c in chunks],
        fingerprint,
    )


def _wipe(settings: IndexSettings) -> None:
    """Forget everything indexed, for a rebuild (say, with another embedding model)."""
    index_dir = settings.index_dir
    for name in (FILENAME, FILENAME + "-wal", FILENAME + "-shm"):
        (index_dir / name).unlink(missing_ok=True)
    shutil.rmtree(index_dir / BM25_DIRNAME, ignore_errors=True)
    ChromaVectors.drop(settings)
