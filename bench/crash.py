"""Crash check: `kill -9` an ingest in each phase of its writes, then see that the next ingest repairs all.

Each trial takes one of three ingests in turn, run as `qa ingest CORPUS` in its own process:
- fresh: an empty index dir;
- update: an index of the corpus, then half of the documents edited;
- delete: an index of the corpus, then half of the documents deleted.
and aims its SIGKILL at one phase in turn: before any write (reading, chunking, embedding the first
batch), the vector writes (Chroma add or delete), the catalog transaction (SQLite), the lexical
write (the documents' entries replaced in Tantivy and committed, then unmarked in the catalog).
The ingest says where it is by the debug lines of `index.ingest` (`ingest phase: <name>`), which the
child process sends to stderr; the harness reads them as they come, and kills the child a random
time after the line that opens the phase, within the time the same phase took in an undisturbed
ingest of the same kind. The phase a kill landed in is that of the last line the child wrote before
it died.
The state it left is recorded, then a clean `qa ingest CORPUS` runs and the index is checked:
- the ids in Chroma, in the catalog and in the lexical index are the same set, none appears twice,
  and the catalog marks no document's lexical entries as still to be replaced;
- every document of the corpus folder is indexed once, with its current text, and nothing else;
and apart from that, whether the catalog's generation has advanced since before the killed ingest
(when the chunk set changed), which is what tells a reader that was open then (a server) to reopen.

The corpus is made from the sample articles in docs_corpus/ (variants with their own first line and
paragraph order), so the script needs nothing else.

    python bench/crash.py                 # 36 trials, seed 11, 60 documents
    python bench/crash.py --trials 12 --documents 30
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import re
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
TARGETS = ("before", "vectors", "catalog", "lexical")  # the phases kills are aimed at, in turn
PHASES = {  # where a kill can land, in the order of an ingest
    "start": "starting (Python, the model, checking the index)",
    "before": "before any write (reading, chunking, embedding)",
    "vectors": "vector writes (Chroma add, delete)",
    "catalog": "catalog transaction (SQLite)",
    "between": "embedding a later batch",
    "lexical": "lexical write (Tantivy entries replaced and committed, catalog marks cleared)",
    "announce": "announcing the generation (one small transaction)",
    "done": "after the last write (closing)",
    "ended": "after the ingest ended",
}
PHASE_LINE = re.compile(r"^(\d+\.\d+) ingest phase: (\w+)$")


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


def child(corpus: Path) -> int:
    """`qa ingest CORPUS --json`, with the phase lines of `index.ingest` on stderr (child process)."""
    sys.path.insert(0, str(ROOT))
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(created).6f %(message)s"))
    logger = logging.getLogger("index.ingest")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    logger.propagate = False
    from qa.cli import main as qa_main

    return qa_main(["ingest", str(corpus), "--json"])


def phase_of(name: str, written: bool) -> str:
    """The phase a line opens; an `embed` line opens a later batch once something was written."""
    if name in ("read", "embed"):
        return "between" if written else "before"
    return name


def traced_ingest(corpus: Path, index_dir: Path, aim: tuple[str, int, float] | None = None) -> dict:
    """Run an ingest, reading its phase lines; with `aim` (phase, k, delay), SIGKILL it `delay` s
    after the k-th line (from 0) that opens `phase`.

    Returns the phases in order as (phase, s from the start), whether it was killed, and where it was
    when it stopped: the phase of the last line it wrote, or "ended" when it finished first."""
    began = time.time()
    process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--child", str(corpus)],
                               env=environment(index_dir), cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    phases: list[tuple[str, float]] = []
    seen = {}  # lines seen so far of each phase
    killed = False
    for line in process.stderr:
        match = PHASE_LINE.match(line.strip())
        if not match:
            continue
        phase = phase_of(match[2], written=any(p in ("vectors", "catalog", "lexical") for p, _ in phases))
        phases.append((phase, float(match[1]) - began))
        seen[phase] = seen.get(phase, 0) + 1
        if aim is not None and not killed and phase == aim[0] and seen[phase] == aim[1] + 1:
            time.sleep(max(0.0, float(match[1]) + aim[2] - time.time()))
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
                killed = True
        # the lines that come after the kill are still read: the last one written is where it died
    process.wait()
    if not killed and process.returncode != 0:
        raise SystemExit(f"the ingest failed (exit status {process.returncode})")
    landed = "ended" if not killed else (phases[-1][0] if phases else "start")
    return {"phases": phases, "killed": killed, "landed": landed}


def durations(phases: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Each phase line with how long its phase lasted (until the next line; `done` lasts 0)."""
    return [(p, (phases[i + 1][1] if i + 1 < len(phases) else t) - t) for i, (p, t) in enumerate(phases)]


def aim_at(phase: str, timed: list[tuple[str, float]], rng: random.Random) -> tuple[str, int, float]:
    """A random moment in `phase` of an undisturbed ingest: the k-th line of that phase, and a delay
    after it shorter than that phase lasted."""
    spans = [d for p, d in durations(timed) if p == phase]
    if not spans:
        raise SystemExit(f"an undisturbed ingest has no {phase!r} phase")
    moment = rng.uniform(0, sum(spans))
    for k, span in enumerate(spans):
        if moment <= span or k == len(spans) - 1:
            return phase, k, min(moment, span)
        moment -= span
    raise AssertionError


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
        return {"catalog": False, "documents": 0, "chunks": 0, "orphans": 0, "lexical_current": False,
                "lexical_pending": 0, "current_documents": 0, "generation": 0, "fingerprint": None, "problems": []}
    catalog = Catalog(index_dir, read_only=True)
    try:
        documents = catalog.texts()
        listed = catalog.chunks()
        fingerprint = catalog.fingerprint()
        generation = catalog.generation()
        pending = catalog.lexical_pending()
    finally:
        catalog.close()
    with sqlite3.connect(f"file:{index_dir / FILENAME}?mode=ro", uri=True) as db:
        spans = db.execute("""SELECT count(*), count(DISTINCT doc_id || ':' || start || '-' || "end") FROM chunks""").fetchone()
    vectors = ChromaVectors(IndexSettings(index_dir=index_dir))
    in_chroma = vectors.ids()
    chroma_count = vectors.count()
    lexical = LexicalIndex.open(index_dir)
    lexical_ids = lexical.ids() if lexical is not None else []

    problems = []
    if set(listed) != in_chroma:
        problems.append(f"Chroma and the catalog differ: {len(in_chroma - set(listed))} unlisted vectors, "
                        f"{len(set(listed) - in_chroma)} listed chunks without a vector")
    if chroma_count != len(in_chroma):
        problems.append(f"Chroma counts {chroma_count} vectors but has {len(in_chroma)} distinct ids")
    lexical_current = lexical is not None and set(lexical_ids) == set(listed) and not pending
    if not lexical_current:
        problems.append(f"the lexical index is missing or differs from the catalog ({len(pending)} documents "
                        "marked to replace)")
    if len(lexical_ids) != len(set(lexical_ids)):
        problems.append("the lexical index holds an id twice")
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
            "orphans": len(in_chroma - set(listed)), "lexical_current": lexical_current,
            "lexical_pending": len(pending),
            "generation": generation, "fingerprint": fingerprint,
            "current_documents": len(expected.keys() & documents.keys()) - len(stale), "problems": problems}


def left_behind(before: dict, after: dict, expected_documents: int) -> str:
    """What a kill left, read from the index: a check on the phase it was seen to land in."""
    if not after["catalog"]:
        return "no catalog yet"
    parts = []
    if after["orphans"]:
        parts.append(f"{after['orphans']} unlisted vectors")  # in Chroma, not (or no longer) in the catalog
    progressed = (after["documents"], after["current_documents"]) != (before["documents"], before["current_documents"])
    if not progressed:
        parts.append("catalog as before")
    elif after["current_documents"] < expected_documents or after["documents"] != expected_documents:
        parts.append("catalog part switched")
    else:
        parts.append("catalog switched")
    if progressed or after["orphans"] or after["lexical_pending"]:
        parts.append("lexical current" if after["lexical_current"] else
                     f"lexical behind ({after['lexical_pending']} documents marked)" if after["lexical_pending"] else
                     "lexical differs, none marked")
    return ", ".join(parts)


# --- the trials ---------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=36)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--documents", type=int, default=60)
    parser.add_argument("--inspect", nargs=2, type=Path, metavar=("INDEX", "CORPUS"), help=argparse.SUPPRESS)
    parser.add_argument("--child", type=Path, metavar="CORPUS", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inspect:
        sys.path.insert(0, str(ROOT))
        print(json.dumps(state(*args.inspect)))
        return 0
    if args.child:
        return child(args.child)

    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="qa-crash-"))
    pristine, corpus, base, index_dir = work / "pristine", work / "corpus", work / "base-index", work / "index"
    make_corpus(pristine, args.documents)
    shutil.copytree(pristine, corpus)
    print(f"corpus: {args.documents} documents; building the base index ...", file=sys.stderr, flush=True)
    run_ingest(corpus, base)
    base_state = inspect(base, corpus)
    assert not base_state["problems"], base_state

    # Each ingest left alone: its phases and how long each lasted, within which the kills are aimed.
    timed = {}
    for scenario in SCENARIOS:
        prepare(scenario, pristine, corpus, base, index_dir, random.Random(args.seed))
        timed[scenario] = traced_ingest(corpus, index_dir)["phases"]
        print(f"alone, {scenario}: " + ", ".join(f"{p} {d:.2f} s" for p, d in durations(timed[scenario])),
              file=sys.stderr, flush=True)

    rows = []
    for trial in range(args.trials):
        scenario = SCENARIOS[trial % len(SCENARIOS)]
        target = TARGETS[trial // len(SCENARIOS) % len(TARGETS)]
        prepare(scenario, pristine, corpus, base, index_dir, rng)
        before = inspect(index_dir, corpus)
        aim = aim_at(target, timed[scenario], rng)
        run = traced_ingest(corpus, index_dir, aim)
        left = inspect(index_dir, corpus)
        repair_seconds = run_ingest(corpus, index_dir)
        after = inspect(index_dir, corpus)
        # A reader open before the ingest (a server) reopens when the generation advances: it must
        # have, once the listed chunk set is no longer the one it holds.
        told = after["generation"] > before["generation"] or after["fingerprint"] == before["fingerprint"]
        rows.append({"trial": trial + 1, "scenario": scenario, "target": target, "line": aim[1] + 1,
                     "delay": round(aim[2], 3), "landed": run["landed"],
                     "left": left_behind(before, left, len(list(corpus.glob("*.txt")))),
                     "repair_s": round(repair_seconds, 1), "consistent": not after["problems"],
                     "problems": after["problems"], "told": told})
        print(f"{trial + 1:2d} {scenario:6s} aimed at {target} (line {aim[1] + 1}, +{aim[2]:.3f} s), "
              f"landed in {run['landed']}; left {rows[-1]['left']}; repaired in {repair_seconds:.1f} s: "
              f"{'consistent' if not after['problems'] else after['problems']}"
              f"{'' if told else ', but the generation did not advance'}", file=sys.stderr, flush=True)

    passed = sum(row["consistent"] for row in rows)
    print(report(rows, timed, args, passed))
    shutil.rmtree(work, ignore_errors=True)
    return 0 if passed == len(rows) and all(row["told"] for row in rows) else 1


def prepare(scenario: str, pristine: Path, corpus: Path, base: Path, index_dir: Path, rng: random.Random) -> None:
    """The corpus folder (always at the same path, which the catalog records) and the index to start from."""
    shutil.rmtree(corpus, ignore_errors=True)
    shutil.copytree(pristine, corpus)
    shutil.rmtree(index_dir, ignore_errors=True)
    if scenario != "fresh":
        shutil.copytree(base, index_dir)
        mutate(corpus, scenario, rng)


def report(rows: list[dict], timed: dict, args, passed: int) -> str:
    def lasted(phases, phase):
        return sum(d for p, d in durations(phases) if p == phase)

    lines = [f"**{passed}/{len(rows)}** trials left a consistent index after the next ingest "
             f"({args.documents} documents, half of them edited or deleted, seed {args.seed}); in "
             f"**{sum(r['told'] for r in rows)}/{len(rows)}** the generation advanced. Left alone, "
             "the phases lasted (s, all lines of a phase together; fresh, update, delete): "
             + "; ".join(f"{t} " + ", ".join(f"{lasted(timed[s], t):.2f}" for s in SCENARIOS) for t in TARGETS) + ".",
             "", "By the phase the kill landed in:", "",
             "| the kill landed in | kills | fresh / update / delete | aimed there | consistent after the next ingest "
             "| generation advanced (open readers told) |",
             "| --- | ---: | --- | ---: | ---: | ---: |"]
    for phase, label in PHASES.items():
        landed = [r for r in rows if r["landed"] == phase]
        if not landed and phase not in TARGETS:
            continue
        kinds = " / ".join(str(sum(r["scenario"] == s for r in landed)) for s in SCENARIOS)
        lines.append(f"| {label} | {len(landed)} | {kinds} | {sum(r['target'] == phase for r in rows)} | "
                     f"{sum(r['consistent'] for r in landed)}/{len(landed)} | {sum(r['told'] for r in landed)}/{len(landed)} |")
    lines += ["", "Each trial:", "",
              "| trial | ingest | aimed at (line, delay s) | landed in | what it left | repair (s) | consistent "
              "| generation advanced |",
              "| ---: | --- | --- | --- | --- | ---: | --- | --- |"]
    for row in rows:
        lines.append(f"| {row['trial']} | {row['scenario']} | {row['target']} ({row['line']}, {row['delay']}) | "
                     f"{row['landed']} | {row['left']} | {row['repair_s']} | "
                     f"{'yes' if row['consistent'] else '; '.join(row['problems'])} | {'yes' if row['told'] else 'no'} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
