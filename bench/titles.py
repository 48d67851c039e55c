"""Titles in ranking, before and after: the same corpus indexed without and with each chunk's title
in front of what BM25 and the embedder see, scored on the same questions in one run.

    python bench/titles.py ../shared/bench/squad-v1.1-dev --queries 1500

Paragraph-level hit@5 and nDCG@10 (as `qa eval --beir`), split into the articles that may be
tuned on and the held-out rest (see bench/embed_int8.py), for the hybrid retrieval the product uses
and for each of its two halves alone.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from embed_int8 import ROOT, retrieval, spread, tune_articles  # noqa: E402

from index import IndexSettings, ingest  # noqa: E402
from index.embedding import load_embedder  # noqa: E402
from qa.eval.beir import load_beir  # noqa: E402

METHODS = ("hybrid", "bm25", "dense")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bench", type=Path, help="the SQuAD folder (corpus.jsonl, queries.jsonl, qrels/)")
    parser.add_argument("--queries", type=int, default=1500, help="questions, evenly spread (0: all)")
    parser.add_argument("--precision", default="int8", help="the embedder's (default int8, the product's)")
    parser.add_argument("--work", type=Path, help="where the two indexes go (default: a temporary folder)")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="titles-"))
    load_before = os.getloadavg()

    beir = load_beir(args.bench)
    beir = replace(beir, queries={q: beir.queries[q] for q in spread(list(beir.queries), args.queries)})
    tune = tune_articles(args.bench)
    embedder = load_embedder(precision=args.precision)
    figures: dict = {"retrieval": {}}
    for label, titles in (("without titles", False), ("with titles", True)):
        settings = IndexSettings(index_dir=work / label.replace(" ", "-"), titles_in_chunks=titles)
        report = ingest([beir.corpus], settings, embedder=embedder, rebuild=True)
        print(f"{label}: {report.chunks} chunks in {report.seconds:.0f}s", file=sys.stderr)
        for method in METHODS:
            figures["retrieval"][f"{label}, {method}"] = result = retrieval(
                settings.index_dir, embedder, beir, tune, method)
            print(label, method, json.dumps(result), file=sys.stderr)
    figures["load"] = {"before": [round(x, 2) for x in load_before],
                       "after": [round(x, 2) for x in os.getloadavg()]}
    figures["command"] = "python bench/titles.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    figures["code"] = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True,
                                     text=True).stdout.strip()
    print(table(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def table(f: dict) -> str:
    lines = ["| retrieval | split | questions | hit@5 before | hit@5 after | nDCG@10 before | nDCG@10 after |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    r = f["retrieval"]
    for method in METHODS:
        before, after = r[f"without titles, {method}"], r[f"with titles, {method}"]
        for split in before:
            b, a = before[split], after[split]
            lines.append(f"| {method} | {split} | {b['n']} | {b['hit@5']:.4f} | {a['hit@5']:.4f} "
                         f"({a['hit@5'] - b['hit@5']:+.4f}) | {b['ndcg@10']:.4f} | {a['ndcg@10']:.4f} "
                         f"({a['ndcg@10'] - b['ndcg@10']:+.4f}) |")
    lines.append(f"\nload average before {f['load']['before']}, after {f['load']['after']}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
