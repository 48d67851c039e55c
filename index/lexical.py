"""The lexical index: BM25 in Tantivy, in `lexical/` beside Chroma, updated in place a document at a time.

Why Tantivy and not SQLite FTS5 inside the catalog (bench/lexical_engines.py, bench/RESULTS-scale.md):
both update in place in milliseconds and rank SQuAD as well as bm25s did, but FTS5's bm25() scores
every row that matches any query word, and at 100k chunks a question's words match about half of
them: a search took 55 ms at the median and 142 ms at p95 against Tantivy's 0.7 and 1.2 ms in the
same run (Tantivy skips what cannot reach the top k, block by block). The aim for a whole search,
dense leg included, is 50 ms.

The terms are those bm25s read before (`tokenize`: lower case, English stopwords out, Snowball
stems), given to Tantivy as words separated by spaces, which its whitespace tokenizer keeps as
they are. A chunk is one field, its document's title then its text (`searchable_text`), so a title
word weighs what it did. Tantivy's BM25 differs from bm25s's in k1 (1.2 against 1.5) and in
keeping lengths in one byte; on SQuAD it ranks a little better (hit@5 0.936 -> 0.942).

The catalog stays the source of truth. The transaction that lists or unlists a document's chunks
also lists the document in `lexical_pending`; then its entries here are replaced (deleted by
document id, added again from the catalog), committed, and the document taken off that list. A
kill at any point leaves the document listed, and the next writer replaces its entries again
(`index.ingest._apply_lexical`), which gives the same result however often it runs.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Collection, Iterable, Sequence
from functools import lru_cache
from pathlib import Path

DIRNAME = "lexical"
OLD_DIRNAME = "bm25"  # the bm25s files of an index made before; built again from the catalog, once
ID, DOC, TERMS = "id", "doc", "terms"
WRITER_HEAP = 50_000_000  # bytes Tantivy buffers before it writes a segment
MAX_TERM = 1_000  # characters; Tantivy refuses a term past 64 KB, and no word is near this
# Lucene's English stop set, which bm25s's tokenizer used with "en".
STOPWORDS = frozenset("a an and are as at be but by for if in into is it no not of on or such that the their "
                      "then there these they this to was will with".split())
_WORD = re.compile(r"(?u)\b\w\w+\b")
OPEN_TRIES = 3  # a reader that opens as a writer commits can find a file just merged away: try again


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """The lexical terms of each text: words of two or more word characters, lower-cased, English
    stopwords out, Snowball stems. These are the terms bm25s's tokenizer gave (the index has always
    had them; tests/test_lexical.py holds the two equal), made here without importing bm25s, whose
    numba and scipy cost every process 0.4 s."""
    stem = _stemmer().stemWords
    return [stem([w for w in _WORD.findall(text.lower()) if w not in STOPWORDS]) for text in texts]


@lru_cache(maxsize=1)
def _schema():
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field(ID, stored=True, tokenizer_name="raw", index_option="basic")
    builder.add_text_field(DOC, stored=False, tokenizer_name="raw", index_option="basic")
    builder.add_text_field(TERMS, stored=False, tokenizer_name="whitespace", index_option="freq")
    return builder.build()


def exists(index_dir: Path) -> bool:
    import tantivy

    folder = index_dir / DIRNAME
    return folder.is_dir() and tantivy.Index.exists(str(folder))


class LexicalIndex:
    """One snapshot of the lexical index, as it was committed when opened."""

    def __init__(self, index):
        self._index = index
        self._searcher = index.searcher()

    @classmethod
    def open(cls, index_dir: Path) -> LexicalIndex | None:
        """The committed index, or None when there is none (or it cannot be read)."""
        import tantivy

        if not exists(index_dir):
            return None
        for attempt in range(OPEN_TRIES):
            try:
                index = tantivy.Index.open(str(index_dir / DIRNAME))
                index.config_reader("manual")  # a snapshot: the reader is replaced, never reloaded
                return cls(index)
            except (ValueError, OSError):
                time.sleep(0.05 * (attempt + 1))
        return None

    @property
    def count(self) -> int:
        return self._searcher.num_docs

    def ids(self) -> list[str]:
        """Every chunk id held (for checks; a search never needs them all)."""
        import tantivy

        if not self.count:
            return []
        hits = self._searcher.search(tantivy.Query.all_query(), limit=self.count, count=False).hits
        return [self._searcher.doc(address).get_first(ID) for _, address in hits]

    def knows(self, text: str) -> bool:
        """Whether any word of `text` is in the index (as BM25 reads words: stemmed, no stopwords)."""
        return any(len(t) <= MAX_TERM and self._searcher.doc_freq(TERMS, t) for t in tokenize([text])[0])

    def search(self, query: str, k: int, doc_ids: Collection[str] | None = None) -> list[tuple[str, float]]:
        """Up to `k` (id, BM25 score) pairs, best first; with `doc_ids`, only chunks of those
        documents, chosen before the top `k` are cut."""
        import tantivy

        if k <= 0 or not self.count or (doc_ids is not None and not doc_ids):
            return []
        known = [t for t in tokenize([query])[0] if len(t) <= MAX_TERM and self._searcher.doc_freq(TERMS, t)]
        if not known:
            return []
        schema, Query, Occur = _schema(), tantivy.Query, tantivy.Occur
        # A word that the query repeats counts again, as it did in bm25s.
        query_ = Query.boolean_query([(Occur.Should, Query.term_query(schema, TERMS, t)) for t in known])
        if doc_ids is not None:
            only = Query.const_score_query(Query.term_set_query(schema, DOC, sorted(doc_ids)), 0.0)
            query_ = Query.boolean_query([(Occur.Must, query_), (Occur.Must, only)])
        hits = self._searcher.search(query_, limit=k, count=False).hits
        return [(self._searcher.doc(address).get_first(ID), float(score)) for score, address in hits]


class LexicalWriter:
    """Replaces documents' entries and commits; one at a time (Tantivy locks its folder, and the
    ingest lock is held around it). Use as a context manager: it waits for Tantivy's merges."""

    def __init__(self, index_dir: Path):
        import tantivy

        folder = index_dir / DIRNAME
        folder.mkdir(parents=True, exist_ok=True)
        self._index = tantivy.Index(_schema(), path=str(folder), reuse=True)
        self._writer = self._index.writer(heap_size=WRITER_HEAP, num_threads=1)

    def __enter__(self) -> LexicalWriter:
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is not None:
            self._writer.rollback()
        self._writer.wait_merging_threads()

    def clear(self) -> None:
        self._writer.delete_all_documents()

    def replace(self, doc_id: str, chunks: Iterable[tuple[str, str]]) -> None:
        """Make (chunk id, searched text) pairs the document's entries; none removes it."""
        import tantivy

        self._writer.delete_documents_by_term(DOC, doc_id)
        chunks = list(chunks)
        for (vec_id, _), terms in zip(chunks, tokenize([text for _, text in chunks])):
            words = " ".join(t for t in terms if len(t) <= MAX_TERM)
            self._writer.add_document(tantivy.Document(**{ID: vec_id, DOC: doc_id, TERMS: words}))

    def commit(self) -> None:
        self._writer.commit()


def drop(index_dir: Path) -> None:
    """Forget the lexical index (and the bm25s files of an older index)."""
    for name in (DIRNAME, OLD_DIRNAME):
        shutil.rmtree(index_dir / name, ignore_errors=True)
