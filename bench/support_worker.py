"""One side of `eval_support.py`: run its job with the code of one tree, write raw results.

    python bench/support_worker.py CODE_DIR JOB.json OUT.json [MODEL_DIR]

Imports `qa` and `index` from CODE_DIR, so the same job runs against an older commit's code;
only calls that both the old and the new code have are used, except where the new one is named.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main() -> int:
    code, job_file, out_file = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    model_dir = Path(sys.argv[4]) if len(sys.argv) > 4 else None
    sys.path.insert(0, str(code))
    import numpy as np
    from tqdm import tqdm

    from index.embedding import SentenceTransformerEmbedder
    from index.sentences import sentence_spans
    from qa import grounding
    from qa.config import Config
    from qa.service import Assistant

    job = json.loads(job_file.read_text(encoding="utf-8"))
    embed_precision = os.environ.get("QA_EMBED_PRECISION", "fp32")
    support_precision = os.environ.get("QA_SUPPORT_PRECISION", "fp32")
    try:
        from index.embedding import load_embedder  # trees with the int8 embedder

        embedder = load_embedder(precision=embed_precision)
    except ImportError:
        embedder = SentenceTransformerEmbedder()
    new = hasattr(grounding, "judge")
    extra = {}
    if new:
        from qa.support import MODEL_DIR, SupportModel

        takes_precision = "precision" in inspect.signature(SupportModel.load).parameters  # trees before int8 do not
        extra["support"] = (SupportModel.load(model_dir or MODEL_DIR, support_precision) if takes_precision
                            else SupportModel.load(model_dir or MODEL_DIR))

    # A frontier job answers everything (threshold 0) and records what each threshold would keep.
    settings = {"abstain_below": job["abstain_below"]} if "abstain_below" in job else {}

    def assistant(index_dir: str) -> Assistant:
        return Assistant(Config(index_dir=Path(index_dir), mode="extractive", **settings), embedder=embedder, **extra)

    squad = assistant(job["squad_index"])
    answers = []
    for q in tqdm(job["questions"], desc="questions", mininterval=10):
        answer = squad.ask(q["question"])
        answers.append({"id": q["id"], "abstained": answer.abstained, "answer": answer.answer,
                        "support": answer.support,
                        "cited": [{"quote": c.quote, "score": c.score} for c in answer.citations]})
    if settings:
        out_file.write_text(json.dumps({"answers": answers}), encoding="utf-8")
        return 0

    sample = assistant(job["sample_index"])
    sample.ask(job["sample"][0]["question"])  # load everything first: warm latency only
    latencies, sample_answers = [], []
    for round_ in range(3):
        for q in job["sample"]:
            began = time.perf_counter()
            answer = sample.ask(q["question"], q["history"])
            latencies.append((time.perf_counter() - began) * 1000)
            if round_ == 0:
                sample_answers.append({"abstained": answer.abstained, "answer": answer.answer})
    latency = {"p50": float(np.percentile(latencies, 50)), "p95": float(np.percentile(latencies, 95)),
               "n": len(latencies)}

    began = time.perf_counter()
    by_source: dict[str, list[int]] = {}
    for i, c in enumerate(job["claims"]):
        by_source.setdefault(c["source"], []).append(i)
    verdicts = [False] * len(job["claims"])
    for source, rows in tqdm(by_source.items(), desc="claims", mininterval=10):
        spans = [grounding.Span(0, "", "", s, e, source[s:e]) for s, e in sentence_spans(source)]
        claims = [job["claims"][i]["claim"] for i in rows]
        if new:
            alike = grounding.similarity(claims, [s.text for s in spans], embedder.embed)
            supported = [v.supported for v in grounding.judge(claims, spans, alike, extra["support"])]
        else:
            scores = grounding.support_scores(claims, [s.text for s in spans], embedder.embed)
            supported = list(scores.max(axis=1) >= grounding.SUPPORTED_AT) if spans else [False] * len(rows)
        for i, ok in zip(rows, supported):
            verdicts[i] = bool(ok)
    claim_seconds = time.perf_counter() - began

    verify_ms = None
    if new:
        verify_ms = _verify_time(sample)
    out_file.write_text(json.dumps({"answers": answers, "sample": sample_answers, "latency_ms": latency, "claims": verdicts,
                                    "claim_seconds": claim_seconds, "verify_ms": verify_ms}), encoding="utf-8")
    return 0


def _verify_time(assistant) -> float:
    """Median of five `verify` calls: ten sentences, half quoted from three passages, half from
    another article, against those three passages."""
    import numpy as np

    from index.sentences import sentence_spans

    reader = assistant.reader
    docs = sorted(reader.documents)
    passages = [reader.chunk_text(c) for c in reader.chunks_of(docs[0])[:3]]
    other = reader.text(docs[1])
    quoted = [p[s:e] for p in passages for s, e in sentence_spans(p)][:5]
    unrelated = [other[s:e] for s, e in sentence_spans(other)][:5]
    answer = " ".join(f"{a} {b}" for a, b in zip(quoted, unrelated))
    times = []
    for _ in range(5):
        began = time.perf_counter()
        assistant.verify(answer, passages=passages)
        times.append((time.perf_counter() - began) * 1000)
    return float(np.median(times))


if __name__ == "__main__":
    raise SystemExit(main())
