"""Crash check: `kill -9` an ingest at a random moment, then see that the next ingest repairs all.

Each trial takes one of three ingests in turn, run as `qa ingest CORPUS` in its own process:
- fresh: an empty index dir;
- update: an index of the corpus, then half of the documents edited;
- delete: an index of the corpus, then half of the documents deleted.
The process gets SIGKILL at a random moment after its first touch of the index dir (before that it
only starts Python and loads the model), within the time that the same ingest, left alone, went on
changing the index dir (after that it only closes).
The state it left is recorded (what the kill interrupted), then a clean `qa ingest CORPUS` runs and
the index is checked:
- the ids in Chroma, in the catalog and in BM25 are the same set, and none appears twice;
- every document of the corpus folder is indexed once, with its current text, and nothing else.

The corpus is made from the sample articles in docs_corpus/ (variants with their own first line and
paragraph order), so the script needs nothing else.

    python bench/crash.py                 # 20 trials, seed 8, 90 documents
    python bench/crash.py --trials 5 --documents 30
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "docs_corpus"
SCENARIOS = ("fresh", "update", "delete")


# --- the corpus -------------------------------------------------------------------------------------
def make_corpus(target: Path, documents: int) -> None:
    """`documents` distinct articles: each a sample article with its own first line and its
    paragraphs rotated, so that every document has its own text and chunks."""
    articles = [p.read_text(encoding="utf-8") for p in sorted(SAMPLES.glob("*.txt"))]
    target.mkdir(parents=True)
    for i in range(documents):
        paragraphs = [p for p in articles[i % len(articles)].split("\n\n") if p.strip()]
        turn = i % len(paragraphs)
        body = "\n\n".join(paragraphs[turn:] + paragraphs[:turn])
        (target / f"doc_{i:03d}.txt").write_text(f"Dispatch {i} of the crash check\n\n{body}\n", encoding="utf-8")


def mutate(corpus: Path, scenario: str, rng: random.Random) -> None:
    """Edit or delete half of the documents (enough chunks for more than one batch)."""
    files = sorted(corpus.glob("*.txt"))
    for path in rng.sample(files, len(files) // 2):
        if scenario == "update":
            path.write_text(path.read_text(encoding="utf-8") + f"\nAn added line, {rng.random():.6f}.\n",
                            encoding="utf-8")
        elif scenario == "delete":
            path.unlink()


# --- running and inspecting ---------------------------------------------------------------------------
def environment(index_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update(HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", QA_INDEX_DIR=str(index_dir))
    return env


def ingest_command(corpus: Path) -> list[str]:
    return [sys.executable, "-m", "qa.cli", "ingest", str(corpus), "--json"]


def run_ingest(corpus: Path, index_dir: Path) -> float:
    began = time.monotonic()
    subprocess.run(ingest_command(corpus), env=environment(index_dir), cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - began


def timed_ingest(corpus: Path, index_dir: Path) -> tuple[float, float]:
    """An undisturbed ingest: when it first and last changed the index dir (s from its start)."""
    seen = snapshot(index_dir)
    began = time.monotonic()
    process = subprocess.Popen(ingest_command(corpus), env=environment(index_dir), cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = last = None
    while process.poll() is None:
        now = snapshot(index_dir)
        if now != seen:
            last = time.monotonic() - began
            first = last if first is None else first
            seen = now
        time.sleep(0.02)
    if process.returncode != 0 or first is None:
        raise SystemExit(f"the ingest failed (exit status {process.returncode}) or wrote nothing")
    return first, last


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    found = {}
    for path in folder.rglob("*") if folder.exists() else ():
        try:
            stat = path.stat()
        except OSError:  # removed while we looked
            continue
        found[str(path)] = (stat.st_mtime_ns, stat.st_size)
    return found


def killed_ingest(corpus: Path, index_dir: Path, delay: float) -> tuple[bool, float]:
    """Run an ingest and SIGKILL it `delay` s after it first touches the index dir.

    Timed from that touch rather than from the start, because how long Python and the model take
    to load varies more on a busy machine than the ingest itself. Returns whether the kill came
    before the ingest ended, and when it came (s from the start)."""
    before = snapshot(index_dir)
    began = time.monotonic()
    process = subprocess.Popen(ingest_command(corpus), env=environment(index_dir), cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while process.poll() is None and snapshot(index_dir) == before:
        time.sleep(0.02)
    try:
        process.wait(timeout=delay)
        return False, time.monotonic() - began
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        return True, time.monotonic() - began


def inspect(index_dir: Path, corpus: Path) -> dict:
    """The index's state, read in a fresh process (no client caches): see `state`."""
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--inspect", str(index_dir), str(corpus)],
                          env=environment(index_dir), cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def state(index_dir: Path, corpus: Path) -> dict:
    """Counts and problems of an index against the corpus folder it should mirror."""
    import sqlite3

    from index.catalog import FILENAME, Catalog
    from index.lexical import LexicalIndex
    from index.settings import IndexSettings
    from index.vectors import ChromaVectors

    if not (index_dir / FILENAME).is_file():
        return {"catalog": False, "documents": 0, "chunks": 0, "orphans": 0, "bm25_current": False,
                "current_documents": 0, "problems": []}
    catalog = Catalog(index_dir, read_only=True)
    try:
        documents = catalog.texts()
        listed = catalog.chunks()
        fingerprint = catalog.fingerprint()
    finally:
        catalog.close()
    with sqlite3.connect(f"file:{index_dir / FILENAME}?mode=ro", uri=True) as db:
        spans = db.execute("""SELECT count(*), count(DISTINCT doc_id || ':' || start || '-' || "end") FROM chunks""").fetchone()
    vectors = ChromaVectors(IndexSettings(index_dir=index_dir))
    in_chroma = vectors.ids()
    chroma_count = vectors.count()
    lexical = LexicalIndex.load(index_dir)
    bm25_ids = lexical.ids if lexical is not None else []

    problems = []
    if set(listed) != in_chroma:
        problems.append(f"Chroma and the catalog differ: {len(in_chroma - set(listed))} unlisted vectors, "
                        f"{len(set(listed) - in_chroma)} listed chunks without a vector")
    if chroma_count != len(in_chroma):
        problems.append(f"Chroma counts {chroma_count} vectors but has {len(in_chroma)} distinct ids")
    if lexical is None or set(bm25_ids) != set(listed) or lexical.fingerprint != fingerprint:
        problems.append("BM25 is missing or differs from the catalog")
    if len(bm25_ids) != len(set(bm25_ids)):
        problems.append("BM25 lists an id twice")
    if spans[0] != spans[1]:
        problems.append(f"the catalog lists {spans[0] - spans[1]} chunk spans twice")
    expected = {p.relative_to(corpus).as_posix(): p.read_text(encoding="utf-8") for p in corpus.rglob("*.txt")}
    missing = expected.keys() - documents.keys()
    extra = documents.keys() - expected.keys()
    stale = [d for d in expected.keys() & documents.keys() if documents[d] != expected[d]]
    if missing or extra or stale:
        problems.append(f"documents: {len(missing)} missing, {len(extra)} not in the corpus, {len(stale)} with old text")
    without_chunks = [d for d in documents if not any(c.doc_id == d for c in listed.values())]
    if without_chunks:
        problems.append(f"{len(without_chunks)} documents without chunks")
    return {"catalog": True, "documents": len(documents), "chunks": len(listed),
            "orphans": len(in_chroma - set(listed)), "bm25_current": lexical is not None and lexical.fingerprint == fingerprint,
            "current_documents": len(expected.keys() & documents.keys()) - len(stale), "problems": problems}


def interrupted(before: dict, after: dict, expected_documents: int, killed: bool) -> str:
    """Where the kill landed, read from the state it left."""
    if not killed:
        return "after the ingest ended"
    if not after["catalog"]:
        return "before the catalog existed"
    if after["orphans"]:
        return "while writing vectors"  # listed in Chroma, not (or no longer) in the catalog
    progressed = (after["documents"], after["current_documents"]) != (before["documents"], before["current_documents"])
    if not progressed:
        return "before the first write"  # checking, loading, chunking, embedding the first batch
    if after["current_documents"] < expected_documents or after["documents"] != expected_documents:
        return "between batches"
    if not after["bm25_current"]:
        return "after the catalog, before BM25"
    return "after the last write"


# --- the trials ---------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--documents", type=int, default=90)
    parser.add_argument("--inspect", nargs=2, type=Path, metavar=("INDEX", "CORPUS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inspect:
        sys.path.insert(0, str(ROOT))
        print(json.dumps(state(*args.inspect)))
        return 0

    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="qa-crash-"))
    pristine, corpus, base, index_dir = work / "pristine", work / "corpus", work / "base-index", work / "index"
    make_corpus(pristine, args.documents)
    shutil.copytree(pristine, corpus)
    print(f"corpus: {args.documents} documents; building the base index ...", file=sys.stderr, flush=True)
    run_ingest(corpus, base)
    base_state = inspect(base, corpus)
    assert not base_state["problems"], base_state

    # When each ingest, left alone, first and last changes the index dir: the kills fall in between.
    windows = {}
    for scenario in SCENARIOS:
        prepare(scenario, pristine, corpus, base, index_dir, random.Random(args.seed))
        windows[scenario] = timed_ingest(corpus, index_dir)
    print("alone: " + ", ".join(f"{s} changes the index from {a:.1f} s to {b:.1f} s" for s, (a, b) in windows.items()),
          file=sys.stderr, flush=True)

    rows = []
    for trial in range(args.trials):
        scenario = SCENARIOS[trial % len(SCENARIOS)]
        prepare(scenario, pristine, corpus, base, index_dir, rng)
        before = inspect(index_dir, corpus)
        touched, end = windows[scenario]
        delay = rng.uniform(0, end - touched)
        killed, killed_at = killed_ingest(corpus, index_dir, delay)
        left = inspect(index_dir, corpus)
        where = interrupted(before, left, len(list(corpus.glob("*.txt"))), killed)
        repair_seconds = run_ingest(corpus, index_dir)
        after = inspect(index_dir, corpus)
        rows.append({"trial": trial + 1, "scenario": scenario, "kill_s": round(delay, 2), "interrupted": where,
                     "left_orphans": left["orphans"], "repair_s": round(repair_seconds, 1),
                     "consistent": not after["problems"], "problems": after["problems"]})
        print(f"{trial + 1:2d} {scenario:6s} kill {delay:5.1f} s into the ingest, {killed_at:5.1f} s from the start "
              f"({where}); repaired in {repair_seconds:.1f} s: "
              f"{'consistent' if not after['problems'] else after['problems']}", file=sys.stderr, flush=True)

    passed = sum(row["consistent"] for row in rows)
    print(report(rows, windows, args, passed))
    shutil.rmtree(work, ignore_errors=True)
    return 0 if passed == len(rows) else 1


def prepare(scenario: str, pristine: Path, corpus: Path, base: Path, index_dir: Path, rng: random.Random) -> None:
    """The corpus folder (always at the same path, which the catalog records) and the index to start from."""
    shutil.rmtree(corpus, ignore_errors=True)
    shutil.copytree(pristine, corpus)
    shutil.rmtree(index_dir, ignore_errors=True)
    if scenario != "fresh":
        shutil.copytree(base, index_dir)
        mutate(corpus, scenario, rng)


def report(rows: list[dict], windows: dict, args, passed: int) -> str:
    lines = [f"**{passed}/{len(rows)}** trials left a consistent index after the next ingest "
             f"({args.documents} documents, half of them edited or deleted, seed {args.seed}; left alone, the ingests "
             "changed the index dir for " + ", ".join(f"{b - a:.1f} s ({s})" for s, (a, b) in windows.items())
             + ").", "",
             "| trial | ingest | killed (s into the ingest) | the kill landed | unlisted vectors left | repair (s) | consistent |",
             "| ---: | --- | ---: | --- | ---: | ---: | --- |"]
    for row in rows:
        lines.append(f"| {row['trial']} | {row['scenario']} | {row['kill_s']} | {row['interrupted']} | "
                     f"{row['left_orphans']} | {row['repair_s']} | {'yes' if row['consistent'] else '; '.join(row['problems'])} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
