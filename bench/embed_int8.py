"""The int8 embedder beside the fp32 one: speed, and retrieval on SQuAD, from one run.

    python bench/embed_int8.py ../shared/bench/squad-v1.1-dev --queries 1500 --texts 512

Speed: the same corpus passages embedded by each model in turns (A B A B, so that a change of
load on the machine falls on both), as a batch on every core and one query at a time on one
thread, as ingest and a question do. Ingest: the whole corpus indexed from scratch by each.

Accuracy: paragraph-level hit@5 and nDCG@10 (as `qa eval --beir`) for questions spread evenly over
the set, split into the articles that may be tuned on (`train_articles.txt`) and the held-out rest.
The int8 recipe is chosen on the first split only. Three pairings: fp32 vectors and queries, int8
vectors and queries, and int8 queries over an index built with fp32 vectors (an index built before
the switch).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index import IndexSettings, ingest  # noqa: E402
from index.embedding import SentenceTransformerEmbedder  # noqa: E402
from index.onnx_embedding import OnnxEmbedder  # noqa: E402
from qa.config import Config  # noqa: E402
from qa.eval import metrics  # noqa: E402
from qa.eval.beir import CANDIDATES, BeirSet, load_beir, score_beir  # noqa: E402
from qa.service import Assistant  # noqa: E402

TRAIN_ARTICLES = "squad-v2.0-dev-train/train_articles.txt"


def tune_articles(bench: Path) -> set[str]:
    path = bench.parent / TRAIN_ARTICLES
    return {line.strip() for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")}


def article(doc_id: str) -> str:
    return doc_id.split("#", 1)[0]


def spread(items: list, n: int) -> list:
    return list(items) if n <= 0 or n >= len(items) else [items[i * len(items) // n] for i in range(n)]


def retrieval(index_dir: Path, embedder, beir: BeirSet, tune: set[str], method: str = "hybrid") -> dict:
    """hit@5 and nDCG@10 on the tuning split, the held-out split and both."""
    assistant = Assistant(Config(index_dir=index_dir, candidates=CANDIDATES), embedder=embedder)
    retriever = assistant.retriever(method)
    results = score_beir(lambda query, k: retriever.search(query, 2 * k), beir)
    out = {}
    for split, keep in (("tune", lambda r: r), ("held-out", lambda r: not r), ("all", None)):
        chosen = [r for r in results if keep is None or keep(article(r.relevant[0]) in tune)]
        out[split] = {"n": len(chosen), "hit@5": metrics.mean(r.hit_at_5 for r in chosen),
                      "ndcg@10": metrics.mean(r.ndcg_at_10 for r in chosen)}
    return out


def timed(call) -> float:
    began = time.perf_counter()
    call()
    return time.perf_counter() - began


def speed(models: dict, texts: list[str], queries: list[str], rounds: int) -> dict:
    """Batch texts/s and one-query latency per model, measured in turns."""
    batch = {name: [] for name in models}
    single = {name: [] for name in models}
    for model in models.values():
        model.embed(texts[:16])  # load and warm
    for _ in range(rounds):
        for name, model in models.items():
            batch[name].append(len(texts) / timed(lambda m=model: m.embed(texts)))
            single[name].extend(1000 * timed(lambda m=model, q=q: m.embed([q])) for q in queries)
    return {name: {"batch_texts_per_s": round(max(batch[name]), 1),
                   "query_ms_p50": round(metrics.percentile(single[name], 50), 2),
                   "query_ms_p95": round(metrics.percentile(single[name], 95), 2)} for name in models}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bench", type=Path, help="the SQuAD folder (corpus.jsonl, queries.jsonl, qrels/)")
    parser.add_argument("--queries", type=int, default=1500, help="questions, evenly spread (0: all)")
    parser.add_argument("--texts", type=int, default=512, help="passages for the speed measurement")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--work", type=Path, help="where the two indexes go (default: a temporary folder)")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="embed-int8-"))
    load_before = os.getloadavg()

    beir = load_beir(args.bench)
    wanted = spread(list(beir.queries), args.queries)
    beir = replace(beir, queries={q: beir.queries[q] for q in wanted})
    tune = tune_articles(args.bench)
    records = [json.loads(line) for line in beir.corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [r["text"] for r in records][: args.texts]
    queries = list(beir.queries.values())[:200]

    models = {"fp32": SentenceTransformerEmbedder(), "int8": OnnxEmbedder(cache_dir=work / "models")}
    began = time.perf_counter()
    models["int8"].embed(["first use makes the int8 model"])
    made = time.perf_counter() - began
    print(f"int8 model made (or found) in {made:.1f}s", file=sys.stderr)

    figures = {"speed": speed(models, texts, queries, args.rounds), "ingest": {}, "retrieval": {}}
    print(json.dumps(figures["speed"]), file=sys.stderr)
    for name, model in models.items():
        settings = IndexSettings(index_dir=work / name)
        report = ingest([beir.corpus], settings, embedder=model, rebuild=True)
        figures["ingest"][name] = {"chunks": report.chunks, "seconds": report.seconds,
                                   "chunks_per_s": round(report.chunks / report.seconds, 1)}
        print(name, figures["ingest"][name], file=sys.stderr)
    for label, index, model in (("fp32", "fp32", "fp32"), ("int8", "int8", "int8"),
                                ("int8 queries, fp32 index", "fp32", "int8")):
        figures["retrieval"][label] = retrieval(work / index, models[model], beir, tune)
        print(label, json.dumps(figures["retrieval"][label]), file=sys.stderr)
    figures["load"] = {"before": [round(x, 2) for x in load_before],
                       "after": [round(x, 2) for x in os.getloadavg()]}
    figures["command"] = "python bench/embed_int8.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    figures["code"] = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True,
                                     text=True).stdout.strip()
    print(table(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def table(f: dict) -> str:
    s, i = f["speed"], f["ingest"]
    lines = ["| | fp32 (torch) | int8 (ONNX Runtime) | ratio |", "| --- | ---: | ---: | ---: |",
             f"| batch embedding, texts/s | {s['fp32']['batch_texts_per_s']} | {s['int8']['batch_texts_per_s']} | "
             f"{s['int8']['batch_texts_per_s'] / s['fp32']['batch_texts_per_s']:.2f}x |",
             f"| one query, p50 ms | {s['fp32']['query_ms_p50']} | {s['int8']['query_ms_p50']} | "
             f"{s['fp32']['query_ms_p50'] / s['int8']['query_ms_p50']:.2f}x faster |",
             f"| one query, p95 ms | {s['fp32']['query_ms_p95']} | {s['int8']['query_ms_p95']} | |",
             f"| ingest from scratch, chunks/s | {i['fp32']['chunks_per_s']} | {i['int8']['chunks_per_s']} | "
             f"{i['int8']['chunks_per_s'] / i['fp32']['chunks_per_s']:.2f}x |", "",
             "| vectors / queries | split | questions | hit@5 | nDCG@10 | hit@5 - fp32 | nDCG@10 - fp32 |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    base = f["retrieval"]["fp32"]
    for label, splits in f["retrieval"].items():
        for split, r in splits.items():
            lines.append(f"| {label} | {split} | {r['n']} | {r['hit@5']:.4f} | {r['ndcg@10']:.4f} | "
                         f"{r['hit@5'] - base[split]['hit@5']:+.4f} | {r['ndcg@10'] - base[split]['ndcg@10']:+.4f} |")
    lines.append(f"\nload average before {f['load']['before']}, after {f['load']['after']}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
