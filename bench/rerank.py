"""Does reranking the fused passages with the support model find the answering passage sooner?

    python bench/rerank.py ../shared/bench [--questions 300] [--depth 10]

Questions of the held-out SQuAD 1.1 development articles (not in `train_articles.txt`), evenly
spread, each searched over all 2,067 development passages as the product searches (`search`,
dense and lexical legs fused). The gold is the question's own paragraph. Then the same top
`--depth` reordered by the support model: a passage scores the highest probability the model gives
any of its sentences for the question ("judge"), or that score fused with the search's own rank
by reciprocal rank ("judge + rank"). Reported: hit@1, hit@5, MRR@10, and the time the model takes
per question on top of the search.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from index import IndexSettings, ingest  # noqa: E402
from index.sentences import sentence_spans  # noqa: E402
from qa.config import Config  # noqa: E402
from qa.eval.squad import spread  # noqa: E402
from qa.service import Assistant  # noqa: E402
from qa.support import SupportModel  # noqa: E402
from training.support_data import train_articles  # noqa: E402

RRF_K = 60  # the usual constant of reciprocal rank fusion


def held_out_queries(bench: Path, count: int) -> list[dict]:
    trained = set(train_articles(bench))
    lines = (bench / "squad-v1.1-dev" / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    return spread([q for q in map(json.loads, lines) if q["gold_passage"].split("#")[0] not in trained], count)


def judged(model: SupportModel, question: str, passages) -> list[float]:
    """Each passage's best sentence probability for the question."""
    pairs, owner = [], []
    for i, passage in enumerate(passages):
        for start, end in sentence_spans(passage.text):
            pairs.append((question, passage.text[start:end]))
            owner.append(i)
    best = [0.0] * len(passages)
    for i, probability in zip(owner, model.probabilities(pairs)):
        best[i] = max(best[i], float(probability))
    return best


def scores(orders: list[list[bool]]) -> dict:
    """hit@1, hit@5 and MRR@10 of ranked gold flags, one list per question."""
    first = [order.index(True) if True in order else None for order in orders]
    return {"hit@1": sum(f == 0 for f in first) / len(first),
            "hit@5": sum(f is not None and f < 5 for f in first) / len(first),
            "MRR@10": sum(1 / (f + 1) for f in first if f is not None and f < 10) / len(first)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bench", type=Path)
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--depth", type=int, default=10, help="how many fused passages the model reorders")
    parser.add_argument("--index-dir", type=Path, help="an index of squad-v1.1-dev/corpus.jsonl (made if absent)")
    args = parser.parse_args()

    index_dir = args.index_dir
    if index_dir is None:
        index_dir = Path(tempfile.mkdtemp(prefix="rerank-"))
        atexit.register(shutil.rmtree, index_dir, True)
    if not (index_dir / "catalog.sqlite3").exists():
        ingest([args.bench / "squad-v1.1-dev" / "corpus.jsonl"], IndexSettings(index_dir=index_dir), progress=True)
    assistant = Assistant(Config(index_dir=index_dir, mode="extractive"))
    model = SupportModel.shipped()
    queries = held_out_queries(args.bench, args.questions)
    orders = {"search": [], "judge": [], "judge + rank": []}
    seconds = []
    for q in queries:
        passages = assistant.search(q["text"], top_k=args.depth)
        gold = [p.doc_id == q["gold_passage"] for p in passages]
        began = time.perf_counter()
        best = judged(model, q["text"], passages)
        seconds.append(time.perf_counter() - began)
        by_judge = sorted(range(len(passages)), key=lambda i: -best[i])
        judge_rank = {i: r for r, i in enumerate(by_judge)}
        fused = sorted(range(len(passages)), key=lambda i: -(1 / (RRF_K + i) + 1 / (RRF_K + judge_rank[i])))
        orders["search"].append(gold)
        orders["judge"].append([gold[i] for i in by_judge])
        orders["judge + rank"].append([gold[i] for i in fused])

    print(f"{len(queries)} held-out SQuAD 1.1 questions over 2,067 passages; the top {args.depth} reordered; "
          f"load average {os.getloadavg()[0]:.2f}")
    print("| order | hit@1 | hit@5 | MRR@10 |\n| --- | ---: | ---: | ---: |")
    for name, found in orders.items():
        s = scores(found)
        print(f"| {name} | {s['hit@1']:.3f} | {s['hit@5']:.3f} | {s['MRR@10']:.3f} |")
    print(f"the model's time per question: median {statistics.median(seconds) * 1000:.0f} ms, "
          f"p95 {sorted(seconds)[int(0.95 * (len(seconds) - 1))] * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
