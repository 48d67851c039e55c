"""Which engine takes the lexical side: bm25s (rebuilt whole), SQLite FTS5 or Tantivy, each fed
the same tokens (index.lexical.tokenize: lower case, no stopwords, Snowball stems).

    python bench/lexical_engines.py ../shared/bench/squad-v1.1-dev --index INDEX_DIR [--chunks 100000]

- quality: the SQuAD 1.1 dev questions that `qa.eval.squad --sample 1000` asks (held out), over
  the chunks of an index of that corpus (INDEX_DIR: the one `qa.eval.squad` builds under
  <work>/beir/squad-v1.1-dev); span-level hit@5 and MRR@10 of each engine's ranking alone;
- scale: about `--chunks` chunks of recombined SQuAD sentences with titles (no embedding): the
  build from scratch, a 1% update, 10 changed documents, and search p50/p95 (50 candidates, as the
  retriever asks).

Tantivy is measured when it can be imported (it is not a dependency of the product).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.catalog import Catalog  # noqa: E402
from index.documents import Chunk, searchable_text  # noqa: E402
from index.lexical import tokenize  # noqa: E402
from qa.eval import metrics  # noqa: E402
from qa.eval.gold import locate, read_gold  # noqa: E402
from qa.eval.squad import corpus_titles, held_out, spread  # noqa: E402

CANDIDATES = 50
CHUNKS_PER_DOCUMENT = 4


class Bm25s:
    name = "bm25s (before)"

    def __init__(self, folder: Path):
        self.rows: dict[str, tuple[str, str]] = {}
        self.index = None

    def put(self, rows: list[tuple[str, str, str, str]]) -> None:  # (id, doc, title, body)
        for vec_id, doc, title, body in rows:
            self.rows[vec_id] = (doc, searchable_text(title, body))
        self._rebuild()

    def drop_documents(self, docs: set[str]) -> None:
        self.rows = {k: v for k, v in self.rows.items() if v[0] not in docs}

    def replace(self, docs: set[str], rows) -> None:
        self.drop_documents(docs)
        self.put(rows)

    def _rebuild(self) -> None:
        """As index/lexical.py built it before: the whole corpus at once, the ids as its corpus."""
        import bm25s

        self.ids = list(self.rows)
        self.index = bm25s.BM25(corpus=self.ids)
        self.index.index(tokenize([self.rows[i][1] for i in self.ids]), show_progress=False)

    def search(self, query: str, k: int) -> list[str]:
        known = [t for t in tokenize([query])[0] if t in self.index.vocab_dict]
        if not known:
            return []
        ids, scores = self.index.retrieve([known], k=min(k, len(self.ids)), show_progress=False)
        return [str(i) for i, s in zip(ids[0], scores[0]) if s > 0]


class Fts5:
    name = "SQLite FTS5"

    def __init__(self, folder: Path):
        self.db = sqlite3.connect(folder / "fts.sqlite3")
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE VIRTUAL TABLE t USING fts5(vec_id UNINDEXED, doc_id UNINDEXED, title, body, "
                        "tokenize = \"ascii tokenchars '_'\")")
        self.db.execute("CREATE TABLE rows (vec_id TEXT PRIMARY KEY, doc_id TEXT, row INTEGER)")
        self.db.execute("CREATE INDEX rows_doc ON rows(doc_id)")

    def put(self, rows) -> None:
        with self.db:
            self._insert(rows)

    def _insert(self, rows) -> None:
        titles = {}
        for vec_id, doc, title, body in rows:
            if title not in titles:
                titles[title] = " ".join(tokenize([title])[0])
            cursor = self.db.execute("INSERT INTO t (vec_id, doc_id, title, body) VALUES (?, ?, ?, ?)",
                                     (vec_id, doc, titles[title], " ".join(tokenize([body])[0])))
            self.db.execute("INSERT INTO rows VALUES (?, ?, ?)", (vec_id, doc, cursor.lastrowid))

    def replace(self, docs: set[str], rows) -> None:
        with self.db:
            for doc in docs:
                self.db.execute("DELETE FROM t WHERE rowid IN (SELECT row FROM rows WHERE doc_id = ?)", (doc,))
                self.db.execute("DELETE FROM rows WHERE doc_id = ?", (doc,))
            self._insert(rows)

    def search(self, query: str, k: int) -> list[str]:
        terms = tokenize([query])[0]
        if not terms:
            return []
        match = " OR ".join(f'"{t}"' for t in terms)
        return [r[0] for r in self.db.execute(
            "SELECT vec_id FROM t WHERE t MATCH ? ORDER BY bm25(t, 0, 0, 1, 1) LIMIT ?", (match, k))]


class Tantivy:
    name = "Tantivy"

    def __init__(self, folder: Path):
        import tantivy

        self.tantivy = tantivy
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("vec_id", stored=True, tokenizer_name="raw")
        builder.add_text_field("doc_id", stored=False, tokenizer_name="raw")
        # one field, title then chunk, as bm25s reads them today (a field of its own would have its
        # own length statistics and saturate on its own)
        builder.add_text_field("text", stored=False, tokenizer_name="whitespace")
        self.schema = builder.build()
        self.index = tantivy.Index(self.schema, path=str(folder))
        self.writer = self.index.writer(heap_size=100_000_000, num_threads=1)

    def put(self, rows) -> None:
        self._insert(rows)
        self._commit()

    def _insert(self, rows) -> None:
        for vec_id, doc, title, body in rows:
            self.writer.add_document(self.tantivy.Document(
                vec_id=vec_id, doc_id=doc, text=" ".join(tokenize([searchable_text(title, body)])[0])))

    def _commit(self) -> None:
        self.writer.commit()
        self.writer.wait_merging_threads()
        self.writer = self.index.writer(heap_size=100_000_000, num_threads=1)
        self.index.reload()

    def replace(self, docs: set[str], rows) -> None:
        for doc in docs:
            self.writer.delete_documents_by_term("doc_id", doc)
        self._insert(rows)
        self._commit()

    def search(self, query: str, k: int) -> list[str]:
        terms = tokenize([query])[0]
        if not terms:
            return []
        T = self.tantivy
        clauses = [(T.Occur.Should, T.Query.term_query(self.schema, "text", term)) for term in terms]
        searcher = self.index.searcher()
        hits = searcher.search(T.Query.boolean_query(clauses), k).hits
        return [searcher.doc(address)["vec_id"][0] for _, address in hits]


ENGINES = [Bm25s, Fts5, Tantivy]


def available() -> list[type]:
    try:
        import tantivy  # noqa: F401
        return ENGINES
    except ImportError:
        return ENGINES[:2]


def quality(bench: Path, index_dir: Path, engines: list[type], work: Path) -> dict:
    catalog = Catalog(index_dir, read_only=True)
    documents, chunks = catalog.documents(), catalog.chunks()
    texts = catalog.texts()
    catalog.close()
    rows = [(vec_id, c.doc_id, documents[c.doc_id].title, texts[c.doc_id][c.start:c.end])
            for vec_id, c in chunks.items()]
    titles = corpus_titles(bench / "corpus.jsonl")
    questions = spread(held_out(read_gold(bench / "gold.jsonl"), titles, 10), 1000)
    questions = locate(questions, texts.get)
    figures = {}
    for engine_type in engines:
        folder = Path(tempfile.mkdtemp(dir=work))
        engine = engine_type(folder)
        engine.put(rows)
        hits5, mrrs = [], []
        for q in questions:
            ranked: list[Chunk] = [chunks[i] for i in engine.search(q.question, 10)]
            hits = metrics.span_hits(ranked, q.spans)
            hits5.append(metrics.hit_at_k(hits, 5))
            mrrs.append(metrics.mrr_at_k(hits, 10))
        figures[engine.name] = {"questions": len(questions), "hit@5": round(sum(hits5) / len(hits5), 4),
                                "mrr@10": round(sum(mrrs) / len(mrrs), 4)}
        print(engine.name, figures[engine.name], file=sys.stderr, flush=True)
    return figures


def synthetic(bench: Path, chunks: int, seed: int = 7) -> list[tuple[str, str, str, str]]:
    """About `chunks` chunk rows of recombined SQuAD sentences, CHUNKS_PER_DOCUMENT to a document."""
    sentences = []
    for line in (bench / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            sentences += [s.strip() + "." for s in json.loads(line)["text"].split(". ") if len(s.split()) >= 4]
    rng = random.Random(seed)
    rows = []
    for n in range(chunks):
        doc = f"d{n // CHUNKS_PER_DOCUMENT:06d}"
        if n % CHUNKS_PER_DOCUMENT == 0:
            title = " ".join(rng.choice(sentences).split()[:8])
        body = " ".join(rng.choice(sentences) for _ in range(6))
        rows.append((f"{doc}:{n}", doc, title, body))
    return rows


def scale(bench: Path, chunks: int, engines: list[type], work: Path) -> dict:
    rows = synthetic(bench, chunks)
    documents = sorted({r[1] for r in rows})
    rng = random.Random(11)
    queries = [json.loads(line)["text"] for line in
               (bench / "queries.jsonl").read_text(encoding="utf-8").splitlines()[:: 50][:200]]
    figures = {}
    for engine_type in engines:
        folder = Path(tempfile.mkdtemp(dir=work))
        engine = engine_type(folder)
        began = time.perf_counter()
        engine.put(rows)
        built = time.perf_counter() - began
        out = {"build_s": round(built, 1)}
        for label, count in (("update_1pct_s", len(documents) // 100), ("update_10_documents_s", 10)):
            changed = set(rng.sample(documents, count))
            new = [(f"{vec_id}+{label}", doc, title, body + " updated") for vec_id, doc, title, body in rows
                   if doc in changed]
            began = time.perf_counter()
            engine.replace(changed, new)
            out[label] = round(time.perf_counter() - began, 2)
        engine.search(queries[0], CANDIDATES)
        times = []
        for q in queries:
            began = time.perf_counter()
            engine.search(q, CANDIDATES)
            times.append(1000 * (time.perf_counter() - began))
        out["search_ms_p50"] = round(metrics.percentile(times, 50), 1)
        out["search_ms_p95"] = round(metrics.percentile(times, 95), 1)
        out["disk_mb"] = round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20, 1)
        figures[engine.name] = out
        print(engine.name, out, file=sys.stderr, flush=True)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bench", type=Path, help="the SQuAD 1.1 dev folder")
    parser.add_argument("--index", type=Path, required=True, help="an index of that folder's corpus.jsonl")
    parser.add_argument("--chunks", type=int, default=100_000)
    args = parser.parse_args()
    engines = available()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="lexical-engines-") as work:
        figures = {"quality": quality(args.bench, args.index, engines, Path(work)),
                   "scale": scale(args.bench, args.chunks, engines, Path(work))}
    figures["load"] = {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in os.getloadavg()]}
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
