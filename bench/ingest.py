"""Ingest throughput and peak memory: this project's pipeline beside plain LlamaIndex.

Both run in this one process on the same documents and the same model, one after the other, so
the ratio between them is meaningful on a shared, noisy machine even when the absolute figures
are not. The baseline is LlamaIndex's default path: `VectorStoreIndex.from_documents` over a
`ChromaVectorStore` with `HuggingFaceEmbedding`.

    python bench/ingest.py ../shared/bench/squad-v1.1-dev/corpus.jsonl [--limit N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path, help="a BEIR-style corpus.jsonl")
    parser.add_argument("--limit", type=int, help="only the first N documents")
    parser.add_argument("--precision", choices=PRECISIONS, default="int8",
                        help="this project's embedder (default: int8, as the product runs; the baseline is fp32)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from index.embedding import bundled_model_path, load_embedder

    records = load_records(args.corpus, args.limit)
    with tempfile.TemporaryDirectory(prefix="qa-bench-") as tmp:
        workdir = Path(tmp)
        subset = workdir / "corpus.jsonl"
        subset.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        embedder = load_embedder(precision=args.precision)
        embedder.embed(["warm up"])
        import torch

        # Our embedder leaves torch on one thread between calls; the baseline gets every core.
        torch.set_num_threads(max(1, os.cpu_count() or 1))
        baseline = run_baseline(records, workdir, bundled_model_path())
        ours = run_ours(subset, workdir, embedder)

    for result in (baseline, ours):
        result["chunks_per_second"] = result["chunks"] / result["seconds"]
        result["documents_per_second"] = result["documents"] / result["seconds"]
    summary = {
        "corpus": args.corpus.name, "documents": len(records), "precision": args.precision,
        "baseline": baseline, "ours": ours,
        "speedup_chunks_per_second": ours["chunks_per_second"] / baseline["chunks_per_second"],
        "speedup_documents_per_second": ours["documents_per_second"] / baseline["documents_per_second"],
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"{len(records)} documents from {args.corpus.name}; this project's embedder in {args.precision}")
    print(f"{'pipeline':<22}{'chunks':>8}{'seconds':>10}{'chunks/s':>10}{'docs/s':>9}{'peak MiB':>10}")
    for name, r in (("LlamaIndex baseline", baseline), ("this project", ours)):
        print(f"{name:<22}{r['chunks']:>8}{r['seconds']:>10.1f}{r['chunks_per_second']:>10.1f}"
              f"{r['documents_per_second']:>9.1f}{r['peak_rss_growth_mib']:>10.0f}")
    print(f"speed-up: {summary['speedup_chunks_per_second']:.2f}x chunks/s, "
          f"{summary['speedup_documents_per_second']:.2f}x documents/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
