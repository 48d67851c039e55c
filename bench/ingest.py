"""Ingest throughput and peak memory: this project's pipeline beside plain LlamaIndex.

Runs alternate, baseline and ours (which goes first swaps each round), each in a fresh process on the same documents and the same
model: one pipeline never warms the other's imports or caches, and load that comes and goes hits
both. The figure is the median of the runs (`--runs`, default 3), with the load average before and
after. Each process loads and warms its model, and imports what LlamaIndex's path needs, before its
clock starts; the imports the pipeline makes itself are timed. The baseline is LlamaIndex's
default path: `VectorStoreIndex.from_documents` over a `ChromaVectorStore` with
`HuggingFaceEmbedding`.

    python bench/ingest.py ../shared/bench/squad-v1.1-dev/corpus.jsonl --limit 400 [--runs 3] [--profile]

`--profile` runs this project's pipeline once more under cProfile and says where its time went:
the model, its tokenizer, chunking, the catalog, the vector and the lexical writes, and imports.
A stage's time is cumulative, so stages can overlap (an import made inside the lexical write
counts in both) and need not add up to the whole.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from index.settings import PRECISIONS  # noqa: E402


class PeakRSS:
    """Samples this process's resident memory; reports the peak above the level at start."""

    def __init__(self, interval: float = 0.05):
        self.interval = interval

    @staticmethod
    def rss_mib() -> float:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def __enter__(self):
        self.start = self.peak = self.rss_mib()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self.rss_mib())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss_mib())

    @property
    def grew_mib(self) -> float:
        return self.peak - self.start


def load_records(path: Path, limit: int | None) -> list[dict]:
    records = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                records.append(json.loads(line))
            if limit and len(records) >= limit:
                break
    return records


def run_ours(corpus: Path, workdir: Path, embedder) -> dict:
    from index import IndexSettings, ingest

    settings = IndexSettings(index_dir=workdir / "ours")
    with PeakRSS() as memory:
        began = time.perf_counter()
        report = ingest([corpus], settings, embedder=embedder)
        seconds = time.perf_counter() - began
    return {"documents": report.documents, "chunks": report.chunks, "seconds": seconds,
            "peak_rss_growth_mib": memory.grew_mib}


def run_baseline(records: list[dict], workdir: Path, model_path: str) -> dict:
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from llama_index.core import Document, Settings, StorageContext, VectorStoreIndex
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.chroma import ChromaVectorStore

    Settings.llm = None
    embed_model = HuggingFaceEmbedding(model_name=model_path, device="cpu")
    embed_model.get_text_embedding("warm up")
    client = chromadb.PersistentClient(str(workdir / "baseline"), settings=ChromaSettings(anonymized_telemetry=False))
    store = ChromaVectorStore(chroma_collection=client.get_or_create_collection("baseline"))
    documents = [Document(text=r["text"], id_=str(r["_id"]), metadata={"title": r.get("title", "")})
                 for r in records]
    with PeakRSS() as memory:
        began = time.perf_counter()
        VectorStoreIndex.from_documents(
            documents, storage_context=StorageContext.from_defaults(vector_store=store),
            embed_model=embed_model,
        )
        seconds = time.perf_counter() - began
    return {"documents": len(documents), "chunks": store._collection.count(), "seconds": seconds,
            "peak_rss_growth_mib": memory.grew_mib}


# Where ours spends its time: a stage is the cumulative time of the functions named for it.
STAGES = {
    "model (ONNX Runtime)": [("onnxruntime_inference_collection.py", "run")],
    "model (torch)": [("module.py", "_call_impl")],
    "embedding tokenizer": [("~", "encode_batch"), ("tokenization_utils_base.py", "__call__")],
    "chunking (tiktoken included)": [("chunking.py", "chunk_text")],
    "reading files": [("loaders.py", "load_paths")],
    "vector writes and reads (Chroma)": [("vectors.py", "add"), ("vectors.py", "delete"), ("vectors.py", "get")],
    "catalog": [("catalog.py", "put_documents"), ("catalog.py", "mark_vectors"), ("catalog.py", "vector_ids"),
                ("catalog.py", "documents"), ("catalog.py", "chunk_texts")],
    "lexical writes (Tantivy)": [("ingest.py", "_apply_lexical"), ("ingest.py", "_settle")],
    "imports": [("<frozen importlib._bootstrap>", "_find_and_load")],
}


def one_run(side: str, corpus: Path, limit: int | None, precision: str, profile: bool) -> dict:
    """One pipeline, timed in this process (the driver starts a fresh one for each run)."""
    import chromadb  # noqa: F401  what both paths import before the clock starts
    import llama_index.core  # noqa: F401
    from index.embedding import bundled_model_path, load_embedder

    records = load_records(corpus, limit)
    with tempfile.TemporaryDirectory(prefix="qa-bench-") as tmp:
        workdir = Path(tmp)
        if side == "baseline":
            import torch

            torch.set_num_threads(max(1, os.cpu_count() or 1))
            return run_baseline(records, workdir, bundled_model_path())
        subset = workdir / "corpus.jsonl"
        subset.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        embedder = load_embedder(precision=precision)
        embedder.embed(["warm up"])
        if not profile:
            return run_ours(subset, workdir, embedder)
        import cProfile

        profiler = cProfile.Profile()
        result = profiler.runcall(run_ours, subset, workdir, embedder)
        result["stages"] = stage_seconds(profiler)
        return result


def stage_seconds(profiler) -> dict[str, float]:
    import pstats

    stats = pstats.Stats(profiler).stats  # (file, line, function) -> (calls, primitive, own, cumulative, callers)
    seconds = {}
    for stage, names in STAGES.items():
        total = sum(cumulative for (file, _, function), (_, _, _, cumulative, _) in stats.items()
                    if any(file.endswith(suffix) and (function == name or file == "~" and name in function)
                           for suffix, name in names))
        if total:
            seconds[stage] = total
    return seconds


def run_in_child(side: str, args, profile: bool = False) -> dict:
    command = [sys.executable, __file__, str(args.corpus), "--one", side, "--precision", args.precision]
    command += ["--limit", str(args.limit)] if args.limit else []
    command += ["--profile"] if profile else []
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode:
        raise SystemExit(f"the {side} run failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path, help="a BEIR-style corpus.jsonl")
    parser.add_argument("--limit", type=int, help="only the first N documents")
    parser.add_argument("--runs", type=int, default=3, help="runs of each pipeline, alternating (default 3)")
    parser.add_argument("--precision", choices=PRECISIONS, default="int8",
                        help="this project's embedder (default: int8, as the product runs; the baseline is fp32)")
    parser.add_argument("--profile", action="store_true", help="then one more run of ours, under cProfile")
    parser.add_argument("--one", choices=("baseline", "ours"), help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_run(args.one, args.corpus, args.limit, args.precision, args.profile)))
        return 0

    load_before = os.getloadavg()
    runs = {"baseline": [], "ours": []}
    for number in range(args.runs):
        for side in (("baseline", "ours") if number % 2 == 0 else ("ours", "baseline")):
            runs[side].append(result := run_in_child(side, args))
            print(f"run {number + 1} {side}: {result['documents']} documents, {result['chunks']} chunks "
                  f"in {result['seconds']:.1f} s", file=sys.stderr)
    load_after = os.getloadavg()
    median = {side: {key: statistics.median(r[key] for r in results)
                     for key in ("documents", "chunks", "seconds", "peak_rss_growth_mib")}
              for side, results in runs.items()}
    for result in median.values():
        result["chunks_per_second"] = result["chunks"] / result["seconds"]
        result["documents_per_second"] = result["documents"] / result["seconds"]
    baseline, ours = median["baseline"], median["ours"]
    summary = {
        "corpus": args.corpus.name, "documents": baseline["documents"], "precision": args.precision,
        "runs": runs, "median": median,
        "load_average_before": load_before[0], "load_average_after": load_after[0],
        "speedup_chunks_per_second": ours["chunks_per_second"] / baseline["chunks_per_second"],
        "speedup_documents_per_second": ours["documents_per_second"] / baseline["documents_per_second"],
    }
    if args.profile:
        summary["profile"] = run_in_child("ours", args, profile=True)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"{summary['documents']} documents from {args.corpus.name}; this project's embedder in {args.precision}; "
          f"median of {args.runs} alternating runs; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    print(f"{'pipeline':<22}{'chunks':>8}{'seconds':>10}{'chunks/s':>10}{'docs/s':>9}{'peak MiB':>10}  seconds of each run")
    for name, side in (("LlamaIndex baseline", "baseline"), ("this project", "ours")):
        r = median[side]
        each = ", ".join(f"{x['seconds']:.1f}" for x in runs[side])
        print(f"{name:<22}{r['chunks']:>8.0f}{r['seconds']:>10.1f}{r['chunks_per_second']:>10.1f}"
              f"{r['documents_per_second']:>9.1f}{r['peak_rss_growth_mib']:>10.0f}  {each}")
    print(f"speed-up: {summary['speedup_chunks_per_second']:.2f}x chunks/s, "
          f"{summary['speedup_documents_per_second']:.2f}x documents/s")
    if args.profile:
        profile = summary["profile"]
        print(f"\nwhere this project's time went (one more run, under cProfile: {profile['seconds']:.1f} s):")
        for stage, seconds in sorted(profile["stages"].items(), key=lambda kv: -kv[1]):
            print(f"  {stage:<34}{seconds:>7.2f} s {seconds / profile['seconds']:>6.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
