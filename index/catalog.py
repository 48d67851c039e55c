"""The catalog: documents, their chunks and the index's own facts, in one SQLite file.

It is the index's source of truth. Chroma and the lexical index are derived from it: a chunk exists
when the catalog lists it, so an ingest killed half way leaves at worst unlisted vectors (swept on the
next ingest) and documents whose lexical entries are still to be replaced (`lexical_pending`, listed
in the same transaction as their chunks, and done by the next writer), never a listed chunk that
cannot be found.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from index.documents import Chunk, Document, searchable_text
from index.settings import CorruptIndexError, IndexMismatchError

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, root TEXT NOT NULL, source TEXT NOT NULL, title TEXT NOT NULL,
    date TEXT, hash TEXT NOT NULL, text TEXT NOT NULL, indexed_at REAL NOT NULL, pages TEXT
);
CREATE TABLE IF NOT EXISTS chunks (
    vec_id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks(doc_id);
CREATE TABLE IF NOT EXISTS lexical_pending (doc_id TEXT PRIMARY KEY);
"""
FILENAME = "catalog.sqlite3"
# What the searches were given for each chunk; an index without the key predates titles.
TITLE_AND_CHUNK, CHUNK_ONLY = "title+chunk", "chunk"


@dataclass(frozen=True)
class StoredDocument:
    doc_id: str
    root: str
    source: str
    title: str
    date: str | None
    hash: str
    pages: tuple[int, ...] = ()  # a PDF's page starts (`documents.page_at`)


def vector_id(chunk: Chunk, content_hash: str) -> str:
    """The chunk's id in the vector store: its span plus the document version it was cut from."""
    return f"{chunk.id}@{content_hash[:12]}"


class Catalog:
    def __init__(self, index_dir: Path, read_only: bool = False):
        self.path = index_dir / FILENAME
        try:
            if read_only:
                uri = f"file:{self.path}?mode=ro"
                # Autocommit: a read sees the latest commit, unless `pin` holds a snapshot.
                self._db = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
            else:
                index_dir.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(self.path, check_same_thread=False)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.executescript(SCHEMA)
                if "pages" not in self._columns("documents"):  # a catalog written before pages were kept
                    self._db.execute("ALTER TABLE documents ADD COLUMN pages TEXT")
            self._db.execute("SELECT count(*) FROM documents").fetchone()
        except sqlite3.DatabaseError as exc:
            raise CorruptIndexError(
                f"the index catalog {self.path} cannot be read ({exc}); "
                "rebuild it with 'qa ingest --rebuild'"
            ) from None

    def _columns(self, table: str) -> set[str]:
        return {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}

    def close(self) -> None:
        self._db.close()

    def pin(self) -> None:
        """Hold one snapshot of the catalog for every later read of this connection.

        A read transaction in WAL mode: writers go on, and this connection keeps seeing the catalog
        as it was, so that documents, chunks and texts read later all belong to one generation.
        """
        self._db.execute("BEGIN")
        self._db.execute("SELECT count(*) FROM meta").fetchone()  # the snapshot starts at a read

    def identity(self) -> int:
        """The catalog file's inode: a rebuild writes a new file, which a reader must notice."""
        return self.path.stat().st_ino

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._db:
            yield self._db

    # --- facts about the index -------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def generation(self) -> int:
        """How many times the listed chunk set has changed and its lexical index been brought in step."""
        return int(self.get_meta("generation") or 0)

    def advance_generation(self, fingerprint: str = "") -> None:
        """Tell readers that a new, complete state of the index is ready to open; `fingerprint`
        records which chunk set it is, in the same transaction, so that an ingest killed before
        this is seen by the next one (`announced`)."""
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (str(self.generation() + 1),))
            db.execute("INSERT OR REPLACE INTO meta VALUES ('generation_of', ?)", (fingerprint,))

    def vectors_settled(self) -> bool:
        """Whether the last write of vectors finished (`mark_vectors`); no mark: not known."""
        return self.get_meta("vectors_settled") == "1"

    def mark_vectors(self, settled: bool) -> None:
        """Say that vectors are about to be written (False) or that every one written is listed
        and every unlisted one deleted (True), so that the next writer sweeps only after a kill."""
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES ('vectors_settled', ?)", ("1" if settled else "0",))

    def document_count(self) -> int:
        return self._db.execute("SELECT count(*) FROM documents").fetchone()[0]

    def announced(self, fingerprint: str) -> bool:
        """Whether readers were told of the chunk set with this fingerprint."""
        return self.get_meta("generation_of") == fingerprint

    def searched_text(self) -> str:
        """TITLE_AND_CHUNK or CHUNK_ONLY: what the vectors and lexical index were made from."""
        return self.get_meta("searched_text") or CHUNK_ONLY

    def use_searched_text(self, recipe: str) -> bool:
        """Make `recipe` the index's; when it changes, every document is marked to be embedded
        again (in the same transaction, so a kill cannot leave old vectors under the new recipe).
        Returns whether it changed."""
        changed = self.searched_text() != recipe
        with self.transaction() as db:
            if changed:
                db.execute("UPDATE documents SET hash = ''")
            db.execute("INSERT OR REPLACE INTO meta VALUES ('searched_text', ?)", (recipe,))
        return changed

    def check_model(self, name: str, dimension: int | None, record: bool) -> None:
        """Refuse to mix vectors of two models; `record` claims an empty index for this one.

        Without a `dimension` (a reader that has not loaded its model yet) the names must match."""
        built_with = self.get_meta("embed_model")
        built_dim = self.get_meta("embed_dimension")
        if built_with is None:
            if record:
                with self.transaction() as db:
                    db.executemany(
                        "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                        [("embed_model", name), ("embed_dimension", str(dimension))],
                    )
            return
        if built_with != name or (dimension is not None and int(built_dim or 0) != dimension):
            raise IndexMismatchError(
                f"the index was built with embedding model {built_with!r} ({built_dim} dimensions) "
                f"but this run uses {name!r} ({dimension} dimensions); re-ingest with "
                "'qa ingest --rebuild' or point QA_INDEX_DIR at another folder"
            )

    # --- documents and chunks ----------------------------------------------------------------
    def documents(self) -> dict[str, StoredDocument]:
        pages = "pages" if "pages" in self._columns("documents") else "NULL"
        rows = self._db.execute(f"SELECT doc_id, root, source, title, date, hash, {pages} FROM documents")
        return {row[0]: StoredDocument(*row[:6], tuple(json.loads(row[6])) if row[6] else ()) for row in rows}

    def document_text(self, doc_id: str) -> str | None:
        row = self._db.execute("SELECT text FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        return row[0] if row else None

    def texts(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT doc_id, text FROM documents"))

    def chunk_texts(self, doc_ids: Iterable[str] | None = None) -> Iterator[tuple[str, list[tuple[str, str]]]]:
        """(doc id, [(vector id, what the searches see of it)]) for every listed document, or for
        each of `doc_ids` (an empty list for one not listed), one document's text in memory at a time."""
        titles = self.searched_text() == TITLE_AND_CHUNK
        if doc_ids is None:
            doc_ids = [row[0] for row in self._db.execute("SELECT doc_id FROM documents")]
        for doc_id in doc_ids:
            row = self._db.execute("SELECT title, text FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
            if row is None:
                yield doc_id, []
                continue
            title, text = row
            spans = self._db.execute('SELECT vec_id, start, "end" FROM chunks WHERE doc_id = ? ORDER BY start',
                                     (doc_id,))
            yield doc_id, [(vec_id, searchable_text(title, text[start:end]) if titles else text[start:end])
                           for vec_id, start, end in spans]

    def chunk_count(self) -> int:
        return self._db.execute("SELECT count(*) FROM chunks").fetchone()[0]

    def lexical_pending(self) -> list[str]:
        """Documents whose lexical entries are still to be replaced (by a writer under way, or
        left by one that was killed); none in a catalog older than the list."""
        try:
            return [row[0] for row in self._db.execute("SELECT doc_id FROM lexical_pending ORDER BY doc_id")]
        except sqlite3.OperationalError:  # a read-only view of a catalog made before the table
            return []

    def lexical_done(self, doc_ids: Iterable[str]) -> None:
        with self.transaction() as db:
            db.executemany("DELETE FROM lexical_pending WHERE doc_id = ?", [(d,) for d in doc_ids])

    def chunks(self) -> dict[str, Chunk]:
        """Every listed chunk, by vector id."""
        rows = self._db.execute('SELECT vec_id, doc_id, start, "end" FROM chunks')
        return {vec_id: Chunk(doc_id, start, end) for vec_id, doc_id, start, end in rows}

    def vector_ids(self, doc_ids: Iterable[str]) -> list[str]:
        ids: list[str] = []
        for doc_id in doc_ids:
            rows = self._db.execute("SELECT vec_id FROM chunks WHERE doc_id = ?", (doc_id,))
            ids.extend(row[0] for row in rows)
        return ids

    def fingerprint(self) -> str:
        """A digest of the listed chunk set and what the searches see of it: which state of the
        index the generation announced (`announced`)."""
        digest = hashlib.sha256(self.searched_text().encode("utf-8") + b"\n")
        for (vec_id,) in self._db.execute("SELECT vec_id FROM chunks ORDER BY vec_id"):
            digest.update(vec_id.encode("utf-8") + b"\n")
        return digest.hexdigest()

    def put_documents(self, batch: list[tuple[Document, list[Chunk]]], now: float) -> None:
        """List new versions of documents and their chunks, replacing the old, in one transaction
        that also marks their lexical entries to be replaced."""
        with self.transaction() as db:
            for doc, chunks in batch:
                db.execute("INSERT OR IGNORE INTO lexical_pending VALUES (?)", (doc.doc_id,))
                db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc.doc_id,))
                db.execute(
                    "INSERT OR REPLACE INTO documents (doc_id, root, source, title, date, hash, text, indexed_at, pages)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (doc.doc_id, doc.root, doc.source, doc.title, doc.date, doc.content_hash, doc.text, now,
                     json.dumps(list(doc.pages)) if doc.pages else None),
                )
                db.executemany(
                    "INSERT INTO chunks VALUES (?, ?, ?, ?)",
                    [(vector_id(c, doc.content_hash), c.doc_id, c.start, c.end) for c in chunks],
                )

    def relocate(self, docs: Iterable[Document]) -> None:
        """Record where unchanged documents are found now (a moved folder, a file now ingested with its folder)."""
        with self.transaction() as db:
            db.executemany("UPDATE documents SET root = ?, source = ? WHERE doc_id = ?",
                           [(d.root, d.source, d.doc_id) for d in docs])

    def remove_documents(self, doc_ids: Iterable[str]) -> None:
        with self.transaction() as db:
            for doc_id in doc_ids:
                db.execute("INSERT OR IGNORE INTO lexical_pending VALUES (?)", (doc_id,))
                db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
                db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))

    def forget_hashes(self, doc_ids: Iterable[str]) -> None:
        """Mark documents as needing a fresh embed (their vectors went missing)."""
        with self.transaction() as db:
            db.executemany("UPDATE documents SET hash = '' WHERE doc_id = ?", [(d,) for d in doc_ids])
