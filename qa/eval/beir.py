"""`qa eval --beir DIR`: retrieval scores on a BEIR-style set, indexed into an index of its own.

DIR holds `corpus.jsonl` (`_id`, `title`, `text`), `queries.jsonl` (`_id`, `text`) and
`qrels/test.tsv` (query-id, corpus-id, score, with a header line). A retrieved passage counts for
the document it comes from; a document retrieved twice counts once, at its best rank.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from qa.config import Config
from qa.errors import BadInputError
from qa.eval import metrics
from qa.results import Passage
from qa.service import Assistant

DEPTH = 100  # documents ranked per query: enough for recall@100
CANDIDATES = 150  # chunks per retriever before fusion, so ~DEPTH distinct documents survive


@dataclass(frozen=True)
class BeirSet:
    name: str
    corpus: Path
    queries: dict[str, str]  # id -> text, in file order
    qrels: dict[str, dict[str, float]]  # query id -> {doc id: relevance}


@dataclass
class BeirResult:
    id: str
    query: str
    relevant: list[str]
    retrieved: list[str] = field(default_factory=list)  # distinct doc ids, best first (top 10)
    first_hit_rank: int | None = None
    hit_at_1: float = 0.0
    hit_at_5: float = 0.0
    rr_at_10: float = 0.0
    ndcg_at_10: float | None = None
    recall_at_100: float | None = None
    latency_ms: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def load_beir(folder: Path, split: str = "test") -> BeirSet:
    folder = Path(folder)
    corpus, queries_path = folder / "corpus.jsonl", folder / "queries.jsonl"
    qrels_path = folder / "qrels" / f"{split}.tsv"
    for path in (corpus, queries_path, qrels_path):
        if not path.is_file():
            missing = path.relative_to(folder).as_posix()
            raise BadInputError(f"{folder} is not a BEIR folder: {missing} is missing")
    queries: dict[str, str] = {}
    for number, line in enumerate(queries_path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            queries[str(record["_id"])] = str(record["text"])
        except (json.JSONDecodeError, KeyError, TypeError):
            raise BadInputError(f'{queries_path} line {number}: expected {{"_id": ..., "text": ...}}') from None
    qrels: dict[str, dict[str, float]] = {}
    for number, line in enumerate(qrels_path.read_text(encoding="utf-8").splitlines(), start=1):
        parts = line.split("\t")
        if not line.strip() or (number == 1 and not _is_number(parts[-1])):
            continue  # the header
        if len(parts) != 3 or not _is_number(parts[2]):
            raise BadInputError(f"{qrels_path} line {number}: expected query-id<TAB>corpus-id<TAB>score")
        qrels.setdefault(parts[0], {})[parts[1]] = float(parts[2])
    unknown = [q for q in qrels if q not in queries]
    if unknown:
        raise BadInputError(
            f"{qrels_path}: query {unknown[0]!r} (and {len(unknown) - 1} more) is not in {queries_path.name}"
        )
    ordered = {q: queries[q] for q in queries if q in qrels}
    return BeirSet(folder.resolve().name, corpus, ordered, qrels)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def beir_config(config: Config, beir: BeirSet) -> Config:
    """The set's own index, and candidate lists deep enough for recall@100.

    The index lives inside the main index dir (`<index_dir>/beir/<name>`), so that it is as
    disposable, and as ignored by git, as the main one; on a Chroma server it gets a collection
    of its own.
    """
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", beir.name).strip("._-") or "set"
    return config.with_(
        index_dir=config.index_dir / "beir" / safe,
        candidates=max(config.candidates, CANDIDATES),
        collection=f"{config.collection}_beir_{safe}"[:200],
    )


def score_beir(
    search: Callable[[str, int], list[Passage]],
    beir: BeirSet,
    limit: int | None = None,
    progress: bool = False,
) -> list[BeirResult]:
    """Rank documents for every query with `search(query, k)` and score them against the qrels."""
    results = []
    for i, (qid, text) in enumerate(list(beir.queries.items())[:limit], start=1):
        relevance = beir.qrels[qid]
        began = time.perf_counter()
        passages = search(text, DEPTH)
        latency = (time.perf_counter() - began) * 1000
        ranked = list(dict.fromkeys(p.doc_id for p in passages))
        hits = [relevance.get(doc, 0) > 0 for doc in ranked]
        results.append(BeirResult(
            qid, text, [d for d, g in relevance.items() if g > 0], ranked[:10],
            metrics.first_hit_rank(hits), metrics.hit_at_k(hits, 1), metrics.hit_at_k(hits, 5),
            metrics.mrr_at_k(hits, 10), metrics.ndcg_at_k(ranked, relevance, 10),
            metrics.recall_at_k(ranked, relevance, DEPTH), round(latency, 1),
        ))
        if progress and i % 100 == 0:
            print(f"  {i} queries", file=sys.stderr, flush=True)
    return results


def run_beir(assistant: Assistant, beir: BeirSet, limit: int | None = None,
             progress: bool = False) -> list[BeirResult]:
    """Ingest the corpus (incremental: a second run embeds nothing) and score the queries."""
    report = assistant.ingest([beir.corpus], progress=progress)
    if report.errors:
        first = report.errors[0]
        print(f"qa: skipped {first} (and {len(report.errors) - 1} more)", file=sys.stderr)
    retriever = assistant.retriever()
    # Chunks beyond DEPTH are fetched so that DEPTH distinct documents remain after merging.
    return score_beir(lambda query, k: retriever.search(query, 2 * k), beir, limit, progress)


def summarize_beir(results: list[BeirResult]) -> dict:
    """The `qa eval --json` summary; a BEIR set has no answers, citations or abstention."""
    latencies = [r.latency_ms for r in results]
    p50, p95 = (metrics.percentile(latencies, q) for q in (50, 95))
    return {
        "n": len(results),
        "retrieval": {
            "hit@1": metrics.mean(r.hit_at_1 for r in results),
            "hit@5": metrics.mean(r.hit_at_5 for r in results),
            "mrr@10": metrics.mean(r.rr_at_10 for r in results),
            "ndcg@10": metrics.mean(r.ndcg_at_10 for r in results),
            "recall@100": metrics.mean(r.recall_at_100 for r in results),
        },
        "first_sentence": {"accuracy": None, "cosine_baseline": None},
        "answer": {"exact": None, "f1": None, "contains": None},
        "citations": {"precision": None, "recall": None, "valid_offsets": None},
        "grounding": {"supported_sentence_rate": None},
        "abstention": {"precision": None, "recall": None},
        "latency_ms": {"p50": _round(p50), "p95": _round(p95)},
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
