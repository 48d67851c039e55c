"""Bring the index up to date with a set of paths: add, replace and remove, safely.

Order of writes, chosen so that a kill at any point leaves a consistent index:
1. new vectors go into Chroma under ids no listed chunk uses (a chunk whose text the document's
   listed version already had takes that vector: only new text goes to the model);
2. one SQLite transaction lists the new chunks, unlists the old and marks the documents' lexical
   entries to be replaced (`Catalog.lexical_pending`);
3. the old vectors are deleted; 4. the documents' lexical entries are replaced in place and
   committed, and the mark taken off (`_apply_lexical`).
At the end the catalog's generation advances, which tells readers to reopen. A kill after 1 or 2
leaves unlisted vectors, which the next ingest sweeps away, and a kill before the end of 4 leaves
marked documents, whose entries the next writer replaces again (`_repair`).

One process writes at a time, and only while it writes: reading, chunking and embedding happen
with the lock free, and each batch takes it for steps 1-4 (then once more for the removals). So a
removal or another upload waits a batch's write, never a whole ingest; one that cannot have the
lock within LOCK_WAIT seconds is told the index is busy (`IngestBusyError`).

Each phase starts with a debug line, `ingest phase: <name>` (read, embed, vectors, catalog,
lexical, announce, done), so that a log shows where an ingest was when it stopped; `bench/crash.py`
aims its kills by them.
"""

from __future__ import annotations

import fcntl
import logging
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from index import lexical
from index.catalog import CHUNK_ONLY, FILENAME, TITLE_AND_CHUNK, Catalog, StoredDocument, vector_id
from index.chunking import TooManyChunks, chunk_text
from index.documents import Chunk, Document, LoadError, searchable_text
from index.embedding import Embedder, load_embedder
from index.loaders import load_paths
from index.settings import IndexSettings, IndexStoreError
from index.vectors import ChromaVectors

BATCH_CHUNKS = 256  # chunks embedded and committed together (and the progress bar step)
LOCK_WAIT = 3.0  # seconds a writer waits for another's write (a batch's) before it says busy
EMBED_PART = 32  # with a `pause`: chunks embedded at a time, between which questions go first

log = logging.getLogger(__name__)


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
def _exclusive(index_dir: Path, wait: float = LOCK_WAIT) -> Iterator[None]:
    """One writer at a time; the lock dies with its process, so a killed ingest leaves none."""
    index_dir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    with open(index_dir / ".lock", "w") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IngestBusyError(f"another ingest is writing to {index_dir}; "
                                          "try again when it ends") from None
                time.sleep(0.05)
        yield


@dataclass(frozen=True)
class IngestOptions:
    """How an ingest treats what it finds; the defaults are those of `qa ingest`.

    `namespace` prefixes every doc id found (a JSONL record's id also gets its file's name), and
    documents that another source created are then never replaced or removed: uploads use it.
    `all_or_nothing` writes nothing when any file or document is refused. `on_progress` hears
    (chunks embedded, chunks to embed); `pause` runs before each small part of the embedding, so
    that a server can let waiting questions go first.
    """

    namespace: str = ""
    all_or_nothing: bool = False
    on_progress: Callable[[int, int], None] | None = None
    pause: Callable[[], None] | None = None


def ingest(
    paths: list[Path],
    settings: IndexSettings,
    embedder: Embedder | None = None,
    rebuild: bool = False,
    progress: bool = False,
    options: IngestOptions | None = None,
) -> IngestReport:
    """Index the documents under `paths`; documents gone from a scanned path are removed."""
    began = time.perf_counter()
    options = options or IngestOptions()
    paths = [Path(p).expanduser().resolve() for p in paths]
    embedder = embedder or load_embedder(settings.embed_model, settings.embed_precision, settings.embed_batch_size)
    with _exclusive(settings.index_dir):
        if rebuild:
            _wipe(settings)
        catalog = Catalog(settings.index_dir)
        try:
            catalog.check_model(embedder.name, embedder.dimension, record=True)
            catalog.use_searched_text(TITLE_AND_CHUNK if settings.titles_in_chunks else CHUNK_ONLY)
            vectors = ChromaVectors(settings)
            _repair(catalog, vectors, settings.index_dir)
        except BaseException:
            catalog.close()
            raise
    try:
        report = _sync(paths, settings, catalog, vectors, embedder, progress, options)
        log.debug("ingest phase: done")
        report.documents = catalog.document_count()
        report.chunks = catalog.chunk_count()
    finally:
        catalog.close()
    report.seconds = round(time.perf_counter() - began, 3)
    return report


def remove(doc_ids: list[str], settings: IndexSettings) -> list[str]:
    """Take documents out of the index (catalog, vectors, lexical); returns those it held.

    The catalog forgets them in one transaction, so a reader sees them or not, never half; their
    vectors and lexical entries go next. Killed in between, the next ingest finishes the work.
    """
    with _exclusive(settings.index_dir):
        catalog = Catalog(settings.index_dir)
        try:
            listed = catalog.documents()
            held = [d for d in dict.fromkeys(doc_ids) if d in listed]
            if held:
                _unlist(catalog, held, lambda ids: ChromaVectors(settings).delete(ids))
                _settle(catalog, settings.index_dir)
        finally:
            catalog.close()
    return held


def _sync(paths, settings, catalog, vectors, embedder, progress, options: IngestOptions) -> IngestReport:
    log.debug("ingest phase: read")
    report = IngestReport()
    stored = catalog.documents()
    found: dict[str, Document] = {}
    for item in load_paths(paths):
        if isinstance(item, Document) and options.namespace:
            item = _in_namespace(item, options.namespace)
            owner = stored.get(item.doc_id)
            if owner is not None and owner.root != item.root:
                item = LoadError(item.source, f"the id {item.doc_id!r} belongs to another document; rename the file")
        if isinstance(item, Document):
            item = _unless_taken(item, stored.get(item.doc_id), found.get(item.doc_id))
        if isinstance(item, LoadError):
            report.errors.append(item)
        else:
            found[item.doc_id] = item
    changed = [doc for doc in found.values() if stored.get(doc.doc_id, None) is None
               or stored[doc.doc_id].hash != doc.content_hash]
    pending = []
    for doc in changed:
        if options.all_or_nothing and report.errors:
            break
        try:
            chunks = chunk_text(doc.doc_id, doc.text, settings.chunk_tokens, settings.chunk_overlap_tokens,
                                max_chunks=settings.max_document_chunks)
        except TooManyChunks as too_many:
            report.errors.append(LoadError(doc.source, f"{doc.doc_id!r} makes more than {too_many.limit:,} chunks; "
                                           f"the limit is {too_many.limit:,} a document"))
            continue
        pending.append((doc, chunks))
    if options.all_or_nothing and report.errors:
        return report
    report.unchanged = len(found) - len(changed)
    report.added = sum(1 for doc, _ in pending if doc.doc_id not in stored)
    report.updated = len(pending) - report.added

    # A listed version's vectors may be kept for its unchanged chunks, unless the document was
    # marked to be embedded again (no hash: its vectors went missing, or the searched text changed).
    reusable = {doc_id for doc_id, listed in stored.items() if listed.hash}
    _write(pending, catalog, vectors, embedder, progress, options, settings.index_dir, reusable)

    # A document is gone when a path that held it was scanned and it was not found there.
    # Files that failed to load keep what they had: a bad edit must not erase an indexed version.
    scanned = {str(p) for p in paths}
    failed = {e.path for e in report.errors}
    changed_ids = {doc.doc_id for doc in changed}
    with _exclusive(settings.index_dir):
        stored = catalog.documents()  # as it is now: another writer may have come and gone meanwhile
        log.debug("ingest phase: catalog")
        catalog.relocate([doc for doc in found.values() if doc.doc_id in stored and doc.doc_id not in changed_ids
                          and (stored[doc.doc_id].root, stored[doc.doc_id].source) != (doc.root, doc.source)])
        gone = [
            d.doc_id for d in stored.values()
            if d.root in scanned and d.doc_id not in found and d.source not in failed
            and d.doc_id.startswith(options.namespace)
        ]
        if gone:
            _unlist(catalog, gone, vectors.delete)
        _settle(catalog, settings.index_dir)
    report.removed = len(gone)
    return report


def _unlist(catalog: Catalog, doc_ids: list[str], delete_vectors: Callable[[list[str]], None]) -> None:
    """Take documents out of the catalog, then their vectors (their lexical entries are left marked
    for `_settle`). The caller holds the ingest lock."""
    old_ids = catalog.vector_ids(doc_ids)
    catalog.mark_vectors(False)
    log.debug("ingest phase: catalog")
    catalog.remove_documents(doc_ids)
    log.debug("ingest phase: vectors")
    delete_vectors(old_ids)
    catalog.mark_vectors(True)


def _unless_taken(doc: Document, stored: StoredDocument | None, found: Document | None) -> Document | LoadError:
    """Refuse a document whose id another file already has, so that neither replaces the other.

    Ids are paths relative to the folder scanned (or a JSONL record's id), so `a/good.txt` and
    `b/good.txt` both want `good.txt`. A file that has moved (its old source is gone) takes its id over.
    """
    if stored is not None and stored.source != doc.source and Path(stored.source).exists():
        return LoadError(doc.source, f"its id {doc.doc_id!r} is already taken by {stored.source}; rename one "
                         f"of them, or remove that document first (qa remove {doc.doc_id})")
    if found is not None and found.source != doc.source:
        return LoadError(doc.source, f"its id {doc.doc_id!r} is also that of {found.source} in this ingest; "
                         "rename one of them or ingest them into separate indexes")
    return doc


def _in_namespace(doc: Document, namespace: str) -> Document:
    """`uploads/notes.md`; a JSONL record `uploads/papers.jsonl/<id>`, so that two files' ids never meet."""
    source = Path(doc.source)
    inner = f"{source.name}/{doc.doc_id}" if source.suffix.lower() == ".jsonl" else doc.doc_id
    return replace(doc, doc_id=namespace + inner)


def _write(pending: list[tuple[Document, list[Chunk]]], catalog, vectors, embedder, progress,
           options: IngestOptions, index_dir: Path, reusable: set[str]) -> None:
    """Embed and list the documents in batches of about BATCH_CHUNKS chunks, each document whole."""
    from tqdm import tqdm

    total = sum(len(chunks) for _, chunks in pending)
    bar = tqdm(total=total, unit="chunk", desc="Indexing", disable=not progress or not pending)
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        bar.update(count)
        if options.on_progress is not None:
            options.on_progress(done, total)

    titles = catalog.searched_text() == TITLE_AND_CHUNK
    batch: list[tuple[Document, list[Chunk]]] = []
    size = 0
    for doc, chunks in pending:
        batch.append((doc, chunks))
        size += len(chunks)
        if size >= BATCH_CHUNKS:
            _write_batch(batch, catalog, vectors, embedder, titles, options.pause, advance, index_dir, reusable)
            batch, size = [], 0
    if batch:
        _write_batch(batch, catalog, vectors, embedder, titles, options.pause, advance, index_dir, reusable)
    bar.close()


def _write_batch(batch, catalog: Catalog, vectors: ChromaVectors, embedder: Embedder, titles: bool, pause,
                 advance, index_dir: Path, reusable: set[str]) -> None:
    ids, texts, doc_ids = [], [], []
    for doc, chunks in batch:
        for chunk in chunks:
            ids.append(vector_id(chunk, doc.content_hash))
            text = doc.text[chunk.start : chunk.end]
            texts.append(searchable_text(doc.title, text) if titles else text)
            doc_ids.append(doc.doc_id)
    log.debug("ingest phase: embed")
    stored = _stored_vectors(catalog, vectors, [doc.doc_id for doc, _ in batch if doc.doc_id in reusable], set(texts))
    new = [text for text in texts if text not in stored]
    advance(len(texts) - len(new))
    if stored:
        fresh = iter(_embed(embedder, new, pause, advance) if new else ())
        embedded = np.stack([stored[text] if text in stored else next(fresh) for text in texts])
    else:  # nothing kept (a new document, say): the model reads it all, as before
        embedded = _embed(embedder, texts, pause, advance)
    with _exclusive(index_dir):
        catalog.mark_vectors(False)
        log.debug("ingest phase: vectors")
        vectors.add(ids, embedded, doc_ids)
        old_ids = set(catalog.vector_ids(doc.doc_id for doc, _ in batch))
        log.debug("ingest phase: catalog")
        catalog.put_documents(batch, now=time.time())
        log.debug("ingest phase: vectors")
        vectors.delete(sorted(old_ids - set(ids)))
        catalog.mark_vectors(True)
        _apply_lexical(catalog, index_dir)


def _stored_vectors(catalog: Catalog, vectors: ChromaVectors, doc_ids: list[str], wanted: set[str]) -> dict[str, np.ndarray]:
    """The vectors already stored for the `wanted` texts among the listed chunks of `doc_ids`: the
    chunks of a changed document that did not change (a paragraph added at the end changes only
    the last) keep their vectors, and only the rest go to the model."""
    texts_by_id = {}
    for _, chunks in catalog.chunk_texts(doc_ids):
        texts_by_id.update((vec_id, text) for vec_id, text in chunks if text in wanted)
    if not texts_by_id:
        return {}
    return {texts_by_id[vec_id]: vector for vec_id, vector in vectors.get(list(texts_by_id)).items()}


def _embed(embedder: Embedder, texts: list[str], pause, advance) -> np.ndarray:
    """All at once for the CLI (fastest); in parts of EMBED_PART with `pause` between them for a
    server, where one part is the longest that a question waits for the model."""
    if pause is None:
        vectors = embedder.embed(texts)
        advance(len(texts))
        return vectors
    parts = []
    for i in range(0, len(texts), EMBED_PART):
        pause()
        parts.append(embedder.embed(texts[i : i + EMBED_PART]))
        advance(len(parts[-1]))
    return np.concatenate(parts) if parts else embedder.embed([])


def _repair(catalog: Catalog, vectors: ChromaVectors, index_dir: Path) -> None:
    """Undo what a killed ingest left half done, and make the lexical index of an older index.

    Every vector id is read (seconds at 100k chunks) only when a write of vectors did not finish
    or the counts differ."""
    if not catalog.vectors_settled() or vectors.count() != catalog.chunk_count():
        listed = catalog.chunks()
        present = vectors.ids()
        orphans = present - listed.keys()
        if orphans:
            vectors.delete(sorted(orphans))
        missing = {listed[i].doc_id for i in listed.keys() - present}
        if missing:  # only a lost or foreign vector store does this; embed those documents again
            catalog.forget_hashes(missing)
        catalog.mark_vectors(True)
    settle_lexical(catalog, index_dir)


def settle_lexical(catalog: Catalog, index_dir: Path) -> None:
    """Replace the entries a killed writer left marked; build the lexical index whole from the
    catalog when it is missing (an index made when BM25 was a bm25s file, or a lost folder) or
    does not hold as many chunks as the catalog lists. The caller holds the ingest lock."""
    listed = catalog.chunk_count()
    if lexical.LexicalIndex.open(index_dir) is not None:
        _apply_lexical(catalog, index_dir)
        current = lexical.LexicalIndex.open(index_dir)
        if current is not None and current.count == listed:
            if (index_dir / lexical.OLD_DIRNAME).exists():
                shutil.rmtree(index_dir / lexical.OLD_DIRNAME, ignore_errors=True)
            return
    rebuild_lexical(catalog, index_dir, announce=listed > 0)


def rebuild_lexical(catalog: Catalog, index_dir: Path, announce: bool = False) -> None:
    """The lexical index made again from every chunk the catalog lists, in one commit (a reader
    sees the old one or the new one). `announce` says so on stderr, for it takes a while at scale."""
    began = time.perf_counter()
    count = catalog.chunk_count()
    if announce:
        log.warning("building the lexical index from the catalog's %s chunks, once ...", f"{count:,}")
    if lexical.LexicalIndex.open(index_dir) is None:
        shutil.rmtree(index_dir / lexical.DIRNAME, ignore_errors=True)  # unreadable: start afresh
    if count:  # making an empty index is no write a crash check aims at
        log.debug("ingest phase: lexical")
    pending = catalog.lexical_pending()
    with lexical.LexicalWriter(index_dir) as writer:
        writer.clear()
        for doc_id, chunks in catalog.chunk_texts():
            writer.replace(doc_id, chunks)
        writer.commit()
    catalog.lexical_done(pending)
    shutil.rmtree(index_dir / lexical.OLD_DIRNAME, ignore_errors=True)
    if announce:
        log.warning("built the lexical index in %.1f s", time.perf_counter() - began)


def _apply_lexical(catalog: Catalog, index_dir: Path) -> None:
    """Replace the lexical entries of the documents the catalog marks, commit, then unmark them."""
    pending = catalog.lexical_pending()
    if not pending:
        return
    log.debug("ingest phase: lexical")
    with lexical.LexicalWriter(index_dir) as writer:
        for doc_id, chunks in catalog.chunk_texts(pending):
            writer.replace(doc_id, chunks)
        writer.commit()
    catalog.lexical_done(pending)


def _settle(catalog: Catalog, index_dir: Path) -> None:
    """Finish the lexical work, then tell readers when the chunk set changed (last, so that a
    reader that reopens finds the catalog and the lexical index of one generation)."""
    _apply_lexical(catalog, index_dir)
    log.debug("ingest phase: announce")
    fingerprint = catalog.fingerprint()
    if not catalog.announced(fingerprint):  # also when a killed ingest finished its writes but told no reader
        catalog.advance_generation(fingerprint)


def _wipe(settings: IndexSettings) -> None:
    """Forget everything indexed, for a rebuild (say, with another embedding model)."""
    index_dir = settings.index_dir
    for name in (FILENAME, FILENAME + "-wal", FILENAME + "-shm"):
        (index_dir / name).unlink(missing_ok=True)
    lexical.drop(index_dir)
    ChromaVectors.drop(settings)
