"""Our pipeline beside three baselines on SQuAD v1.1 dev: retrieval and answer scores, one run.

    python -m qa.eval.squad PATH/TO/squad-v1.1-dev --sample 1000 --report reports/squad

(`pip install -e '.[bench]'` first: the LlamaIndex baseline is an extra.)

Systems, all over the same 2,067 paragraphs and the same all-MiniLM-L6-v2 (see qa/eval/baselines.py):
- ours: `Assistant.ask`, hybrid retrieval (BM25 + dense, fused) and the extractive answerer;
- BM25 alone and dense alone: the same pipeline with one retriever instead of the fusion;
- plain LlamaIndex: VectorStoreIndex over Chroma with default settings; no LLM, so its answer is
  the first sentence of its top chunk.

Held-out questions only: the extractive answerer may be tuned on the questions about the first
10 article titles of corpus.jsonl (file order), so those are left out (`--exclude-titles-first`).
`--sample N` takes N questions evenly spread over the rest, in file order, so that every article
is represented; the same N always gives the same questions.

The SQuAD corpus is ingested into `<work>/beir/<name>`, the index that `qa eval --beir DIR` uses
(incremental: a second run embeds nothing); LlamaIndex's store is kept in `<work>/llamaindex/<name>`,
rebuilt only when the corpus changes. <work> is the main index dir (QA_INDEX_DIR, .qa_index).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from index.embedding import load_embedder

from qa.config import Config
from qa.eval.baselines import LlamaIndexPipeline, SingleRetrieverAssistant
from qa.eval.beir import CANDIDATES, DEPTH, beir_config, load_beir, score_beir, summarize_beir
from qa.eval.gold import GoldQuestion, locate, read_gold
from qa.eval.report import comparison_table, write_report
from qa.eval.runner import AssistantPipeline, RecordingEmbedder, evaluate, model_support, summarize
from qa.service import Assistant

ROOT = Path(__file__).resolve().parents[2]  # the checkout, for the commit measured

SYSTEMS = ("ours", "bm25", "dense", "llamaindex")
NAMES = {"ours": "ours (hybrid + extractive)", "bm25": "BM25 alone", "dense": "dense alone",
         "llamaindex": "plain LlamaIndex"}


def corpus_titles(corpus: Path) -> dict[str, str]:
    """doc id -> article title, in the file's order."""
    titles = {}
    with open(corpus, encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                record = json.loads(line)
                titles[str(record["_id"])] = record.get("title") or ""
    return titles


def held_out(questions: list[GoldQuestion], titles: dict[str, str], exclude_first: int) -> list[GoldQuestion]:
    """The questions whose evidence is not in the first `exclude_first` article titles."""
    excluded = set(list(dict.fromkeys(titles.values()))[:exclude_first])
    return [q for q in questions if q.evidence and titles.get(q.evidence[0].doc_id) not in excluded]


def spread(items: list, n: int | None) -> list:
    """`n` items evenly spread over the list, in order; all of them when n is None or larger."""
    if n is None or n >= len(items):
        return list(items)
    return [items[i * len(items) // n] for i in range(n)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bench", type=Path, help="the SQuAD folder: corpus.jsonl, gold.jsonl, queries.jsonl, qrels/")
    parser.add_argument("--work", type=Path, default=Path(os.environ.get("QA_INDEX_DIR") or ".qa_index"),
                        help="the main index dir; the indexes go under it (default QA_INDEX_DIR or .qa_index)")
    parser.add_argument("--exclude-titles-first", type=int, default=10, metavar="N",
                        help="leave out questions on the first N article titles, the tuning set (default 10)")
    parser.add_argument("--sample", type=int, default=1000, metavar="N",
                        help="N held-out questions, evenly spread (default 1000; 0 for all)")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help=f"comma-separated, from {', '.join(SYSTEMS)}")
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--no-beir", action="store_true", help="skip the document-level nDCG@10 / recall@100 runs")
    parser.add_argument("--report", type=Path, help="write each system's report under this folder")
    args = parser.parse_args(argv)
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    code = code_version()  # now: the code imported is the code measured, whatever is committed meanwhile
    unknown = set(systems) - set(SYSTEMS)
    if unknown:
        parser.error(f"unknown systems: {', '.join(sorted(unknown))}")

    corpus = args.bench / "corpus.jsonl"
    titles = corpus_titles(corpus)
    all_questions = read_gold(args.bench / "gold.jsonl")
    questions = spread(held_out(all_questions, titles, args.exclude_titles_first), args.sample or None)
    print(f"{len(questions)} of {len(all_questions)} questions (held out: not on the first "
          f"{args.exclude_titles_first} titles)", file=sys.stderr)

    # The same index as `qa eval --beir DIR` builds, so either command reuses the other's work.
    beir = load_beir(args.bench)
    config = beir_config(Config(index_dir=args.work), beir).with_(
        candidates=Config().candidates, top_k=args.top_k, mode="extractive")
    embedder = RecordingEmbedder(load_embedder())
    ours = Assistant(config, embedder=embedder)
    began = time.perf_counter()
    report = ours.ingest([corpus])
    print(f"index: {report.documents} documents, {report.chunks} chunks ({report.added} added) "
          f"in {time.perf_counter() - began:.0f}s", file=sys.stderr)
    questions = locate(questions, ours.reader.text)
    supports = model_support(ours.support_model)

    wanted = {q.id for q in questions}
    beir = replace(beir, queries={q: text for q, text in beir.queries.items() if q in wanted})

    def assistant_for(system: str, cfg: Config) -> Assistant:
        if system == "ours":
            return Assistant(cfg, embedder=embedder)
        return SingleRetrieverAssistant(cfg, system, embedder=embedder)

    summaries: dict[str, dict] = {}
    doc_level: dict[str, dict] = {}
    records: dict[str, list[dict]] = {}
    for system in systems:
        name = NAMES[system]
        began = time.perf_counter()
        if system == "llamaindex":
            pipeline = LlamaIndexPipeline([corpus], args.work / "llamaindex" / beir.name, top_k=args.top_k)
            search = pipeline.search
            print(f"{name}: index ready in {time.perf_counter() - began:.0f}s", file=sys.stderr)
        else:
            pipeline = AssistantPipeline(ours if system == "ours" else assistant_for(system, config),
                                         args.top_k, "extractive", name=name)
            # Deeper candidate lists for recall@100, and twice the chunks so that DEPTH distinct
            # paragraphs survive, as `qa eval --beir` does.
            deep = assistant_for(system, config.with_(candidates=CANDIDATES)).retriever()
            search = lambda query, k, r=deep: r.search(query, 2 * k)  # noqa: E731
        results = evaluate(pipeline, questions, supports, progress=True)
        summaries[name] = summarize(results)
        records[system] = [r.to_dict() for r in results]
        print(f"{name}: {len(results)} questions in {time.perf_counter() - began:.0f}s", file=sys.stderr)
        if not args.no_beir:
            doc_level[name] = summarize_beir(score_beir(search, beir))["retrieval"]

    print(comparison_table(summaries))
    if doc_level:
        print("\n" + doc_level_table(doc_level))
    if args.report:
        command = "python -m qa.eval.squad " + shlex.join(sys.argv[1:] if argv is None else argv)
        for system in systems:
            name = NAMES[system]
            meta = {"title": f"SQuAD v1.1 dev, {name}", "command": command, "code": code,
                    "questions": f"{len(questions)} held out (first {args.exclude_titles_first} titles excluded)"}
            # Our report carries the comparison with every baseline.
            write_report(args.report / system, summaries[name], records[system], meta,
                         comparison=summaries if system == "ours" else None,
                         abstain_below=ours.abstain_below if system == "ours" else None)
        (args.report / "comparison.json").write_text(json.dumps(
            {"command": command, "code": code, "questions": len(questions), "span_level": summaries,
             "document_level": doc_level}, indent=2) + "\n")
    return 0


def code_version() -> str:
    """The commit measured, marked "-dirty" when the working tree differs from it."""
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def doc_level_table(doc_level: dict[str, dict]) -> str:
    lines = [f"Document level (a passage counts for its paragraph; {DEPTH} paragraphs ranked):", "",
             "| system | hit@1 | hit@5 | mrr@10 | ndcg@10 | recall@100 |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, r in doc_level.items():
        cells = (f"{r[k]:.3f}" for k in ("hit@1", "hit@5", "mrr@10", "ndcg@10", "recall@100"))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
