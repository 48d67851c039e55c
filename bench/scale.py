"""How the product behaves as the corpus grows: ingest, disk, memory, latency, an incremental update.

    python bench/scale.py ../shared --chunks 10000 [--chroma-server] [--work DIR]

The corpus is made for speed and memory, not for quality: sentences of the public texts under the
given folder (SQuAD paragraphs and questions' articles, RAGTruth sources, the sample news) are
recombined, with a fixed seed, into new JSONL documents of about three chunks each, until the
estimated chunk count is reached. Then, in one run:
- ingest from scratch, with a progress bar (seconds, chunks/s);
- the index on disk (catalog, Chroma, the lexical index);
- the lexical index built again whole from the catalog (what moving an older index to it costs;
  an ingest replaces only the entries of the documents it changes);
- a serving process (a fresh interpreter that opens the index as the server does): its resident
  memory after warm `search` and `ask` calls, and their p50/p95 over SQuAD questions;
- an incremental ingest after 1% of the documents changed, then one after 10 documents changed,
  each by a sentence added at its end (or, with --edit-at start, at its start, which moves every
  chunk after it), with the number of chunks the model had to read;
- with --chroma-server, the same ingest and searches against `chroma run` on 127.0.0.1; its
  ingest reuses the vectors the first one made (the model's share is the same either way), so
  its time is the rest of an ingest: chunking, the catalog, Chroma's writes over HTTP, the lexical index.

With --stand-in-vectors the ingest from scratch gives each chunk a unit vector drawn from a hash of
its text instead of the model's (minutes instead of most of an hour at 100k chunks). The index then
has its full size everywhere, and the updates and the queries use the model, so the update, search
and ask figures stand; the ingest's own speed and what the dense leg finds do not.
"""

from __future__ import annotations

import argparse
import atexit
import hashlib
import json
import os
import random
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index import IndexSettings, ingest  # noqa: E402
from index.catalog import Catalog  # noqa: E402
from index.embedding import load_embedder  # noqa: E402
from index.ingest import rebuild_lexical  # noqa: E402
from index.sentences import sentence_spans  # noqa: E402

CHUNK_WORDS = 110  # about 192 tiktoken tokens of news English, less the overlap
SENTENCES_PER_DOCUMENT = (12, 40)


def sentences(shared: Path) -> list[str]:
    """Every sentence of the public texts under `shared`, in a fixed order."""
    texts = []
    for path in sorted(shared.rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                text = record.get("text") or record.get("source") or ""
                if isinstance(text, str):
                    texts.append(text)
    texts += [p.read_text(encoding="utf-8") for p in sorted((shared / "corpus").glob("*.txt"))]
    found = []
    for text in texts:
        found += [text[a:b] for a, b in sentence_spans(text) if len(text[a:b].split()) >= 4]
    return list(dict.fromkeys(found))


def make_corpus(shared: Path, chunks: int, target: Path, seed: int = 7) -> int:
    """Write about `chunks` chunks' worth of recombined documents; returns the number of documents."""
    pool = sentences(shared)
    rng = random.Random(seed)
    words, count = 0, 0
    with target.open("w", encoding="utf-8") as out:
        while words < chunks * CHUNK_WORDS:
            body = [rng.choice(pool) for _ in range(rng.randint(*SENTENCES_PER_DOCUMENT))]
            text = " ".join(body)
            day = f"{rng.randint(2015, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            out.write(json.dumps({"_id": f"s{count:07d}", "title": " ".join(body[0].split()[:8]), "date": day,
                                  "text": text}) + "\n")
            words += len(text.split())
            count += 1
    return count


def change_documents(corpus: Path, count: int, seed: int = 11, at: str = "end") -> int:
    """Add a sentence to `count` documents, at their end or at their start (`at`): an ingest keeps
    the vectors of chunks whose text is unchanged, so an edit at the start, which moves every chunk
    after it, is the costlier update."""
    lines = corpus.read_text(encoding="utf-8").splitlines()
    rng = random.Random(seed)
    chosen = rng.sample(range(len(lines)), max(1, count))
    for i in chosen:
        record = json.loads(lines[i])
        added = f"This paragraph was added in update {seed}."
        record["text"] = f"{added} {record['text']}" if at == "start" else f"{record['text']} {added}"
        lines[i] = json.dumps(record)
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(chosen)


class Remembering:
    """The embedder, remembering each text's vector, so that a second index of the same corpus
    (the Chroma server's) pays for everything but the model; its figures say so."""

    def __init__(self, embedder):
        self._embedder = embedder
        self.name, self.dimension = embedder.name, embedder.dimension
        self._seen: dict[str, np.ndarray] = {}
        self.reused = 0

    def embed(self, texts):
        missing = list(dict.fromkeys(t for t in texts if t not in self._seen))
        if missing:
            self._seen.update(zip(missing, self._embedder.embed(missing)))
        self.reused += len(texts) - len(missing)
        return np.stack([self._seen[t] for t in texts]) if texts else self._embedder.embed(texts)


class Counting:
    """The embedder, counting the texts the model reads and the time it takes."""

    def __init__(self, embedder):
        self._embedder = embedder
        self.name, self.dimension = embedder.name, embedder.dimension
        self.texts, self.seconds = 0, 0.0

    def embed(self, texts):
        began = time.perf_counter()
        self.texts += len(texts)
        vectors = self._embedder.embed(texts)
        self.seconds += time.perf_counter() - began
        return vectors


class StandIn:
    """Vectors without the model: a unit vector from a hash of each text, under the model's name."""

    def __init__(self, embedder):
        self.name, self.dimension = embedder.name, embedder.dimension

    def embed(self, texts):
        rows = [np.random.default_rng(int.from_bytes(hashlib.sha1(t.encode("utf-8")).digest()[:8], "big"))
                .standard_normal(self.dimension) for t in texts]
        vectors = np.array(rows, dtype=np.float32).reshape(len(texts), self.dimension)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)


def size_mb(path: Path) -> float:
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20, 1) if path.exists() else 0.0


SERVE = r"""
import json, os, resource, sys, time
from pathlib import Path
from qa.config import Config
from qa.eval import metrics
from qa.service import Assistant
config, questions = Config.from_env(), json.loads(sys.argv[1])
began = time.perf_counter()
assistant = Assistant(config)
assistant.reader  # opened as the server opens it
opened = time.perf_counter() - began
def timed(call, items):
    call(items[0])  # warm
    out = []
    for item in items:
        t = time.perf_counter(); call(item); out.append(1000 * (time.perf_counter() - t))
    return {"p50": round(metrics.percentile(out, 50), 1), "p95": round(metrics.percentile(out, 95), 1)}
figures = {"open_s": round(opened, 1), "search_ms": timed(assistant.search, questions)}
if "--no-ask" not in sys.argv:
    figures["ask_ms"] = timed(lambda q: assistant.ask(q, mode="extractive"), questions[: max(5, len(questions) // 2)])
status = Path("/proc/self/status").read_text()
figures["rss_mb"] = round(int(status.split("VmRSS:")[1].split()[0]) / 1024, 1)
figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
print(json.dumps(figures))
"""


def serve(index_dir: Path, questions: list[str], env: dict, ask: bool = True) -> dict:
    """A fresh process that opens the index as the server does and answers; its own figures."""
    result = subprocess.run([sys.executable, "-c", SERVE, json.dumps(questions)] + ([] if ask else ["--no-ask"]),
                            cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, **env, "QA_INDEX_DIR": str(index_dir)})
    if result.returncode:
        raise SystemExit(f"the serving process failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def chroma_server(path: Path) -> tuple[subprocess.Popen, int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    chroma = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    server = subprocess.Popen([chroma, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1)
            return server, port
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise SystemExit("the Chroma server did not start")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("shared", type=Path, help="the folder of public texts (bench/, corpus/)")
    parser.add_argument("--chunks", type=int, default=10_000, help="about this many chunks (default 10,000)")
    parser.add_argument("--questions", type=int, default=40, help="timed searches (half as many asks)")
    parser.add_argument("--chroma-server", action="store_true", help="also ingest and search through `chroma run`")
    parser.add_argument("--work", type=Path, help="where the corpus and indexes go (default: a temporary folder)")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    parser.add_argument("--edit-at", choices=("end", "start"), default="end",
                        help="where the updates add their sentence to each changed document (default: the end)")
    parser.add_argument("--stand-in-vectors", action="store_true",
                        help="build the index from scratch with hashed vectors, not the model (see above)")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="scale-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.work is None:  # hundreds of MB at 100k chunks: kept only where --work asks for it
        atexit.register(shutil.rmtree, work, True)
    load_before = os.getloadavg()
    figures: dict = {"command": "python bench/scale.py " + shlex.join(sys.argv[1:] if argv is None else argv)}

    corpus = work / "corpus.jsonl"
    figures["documents"] = make_corpus(args.shared, args.chunks, corpus)
    queries = args.shared / "bench" / "squad-v1.1-dev" / "queries.jsonl"
    lines = queries.read_text(encoding="utf-8").splitlines()
    questions = [json.loads(lines[i * len(lines) // args.questions])["text"] for i in range(args.questions)]

    model = load_embedder()
    embedder = Remembering(StandIn(model) if args.stand_in_vectors else model)  # the updates use the model itself
    settings = IndexSettings(index_dir=work / "index")
    report = ingest([corpus], settings, embedder=embedder, rebuild=True, progress=True)
    figures["ingest"] = {"chunks": report.chunks, "seconds": report.seconds, "stand_in_vectors": args.stand_in_vectors,
                         "chunks_per_s": round(report.chunks / report.seconds, 1)}
    figures["disk_mb"] = {part: size_mb(settings.index_dir / part) for part in ("chroma", "lexical")}
    figures["disk_mb"]["catalog"] = round(sum(p.stat().st_size for p in settings.index_dir.glob("catalog.sqlite3*"))
                                          / 2**20, 1)
    catalog = Catalog(settings.index_dir)
    began = time.perf_counter()
    rebuild_lexical(catalog, settings.index_dir)
    figures["lexical_rebuild_s"] = round(time.perf_counter() - began, 2)
    catalog.close()
    figures["serving"] = serve(settings.index_dir, questions, {})

    for name, count, seed in (("update_1pct", figures["documents"] // 100, 11), ("update_10_documents", 10, 12)):
        changed = change_documents(corpus, count, seed=seed, at=args.edit_at)
        counting = Counting(model)
        report = ingest([corpus], settings, embedder=counting)
        figures[name] = {"documents_changed": changed, "updated": report.updated, "edit_at": args.edit_at,
                         "chunks_embedded": counting.texts, "embed_seconds": round(counting.seconds, 2),
                         "seconds": report.seconds}

    if args.chroma_server:
        server, port = chroma_server(work / "chroma-server")
        try:
            remote = IndexSettings(index_dir=work / "index-remote", chroma_host="127.0.0.1", chroma_port=port)
            reused = embedder.reused
            report = ingest([corpus], remote, embedder=embedder, rebuild=True, progress=True)
            figures["chroma_server"] = {
                "ingest_seconds_without_the_model": report.seconds,
                "vectors_reused": embedder.reused - reused,
                "serving": serve(remote.index_dir, questions,
                                 {"QA_CHROMA_HOST": "127.0.0.1", "QA_CHROMA_PORT": str(port)}, ask=False)}
        finally:
            server.terminate()
            server.wait(timeout=30)
    figures["load"] = {"before": [round(x, 2) for x in load_before],
                       "after": [round(x, 2) for x in os.getloadavg()]}
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
