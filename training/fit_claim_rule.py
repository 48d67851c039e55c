"""Fit the claim rule and the claim threshold on RAGTruth answers that training kept out.

    python training/fit_claim_rule.py ../shared/bench            # fit, report, write settings.json
    python training/fit_claim_rule.py ../shared/bench --dry-run  # fit and report only

The claim check shows the support model a claim with the few source sentences most like it
(`grounding.judge`). The model's probability is one signal of support; the words are others: how
much of the claim the evidence holds, whether its numbers are there, how much of the claim the
source never mentions (`grounding.claim_features`). This fits a logistic regression over them to
the human label of each answer sentence (supported, or overlapping a span annotators marked), on
the fifth of the RAGTruth sources of the trained task that `train_support.py` kept out
(`split_sources`). The threshold is the one with the best answer-level F1 of "this answer holds
an unsupported claim" on the same sources, as `train_support.py` chose the model's.

Those figures are on the data fitted to; the two-fold figures (fit on half the sources, measure
on the other half) show how much survives new sources, and the kept-out sources of the other task
show how much survives a new kind of answer. `bench/eval_support.py` reports the other task in full.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.sentences import sentence_spans  # noqa: E402
from qa import grounding  # noqa: E402
from qa.support import MODEL_DIR, SETTINGS, Rule, SupportModel  # noqa: E402
from training.fit_answer_rule import cache_file, logistic  # noqa: E402
from training.support_data import ragtruth_claims, split_sources  # noqa: E402

FEATURES = ("probability", "best", "covered", "numbers", "novel")
TASK_FILES = {"summary": "ragtruth_summary.jsonl", "data2txt": "ragtruth_data2txt.jsonl"}


def collect(bench: Path, task: str, model: SupportModel) -> list[dict]:
    """Per claim of the kept-out sources: its answer, its label, its features, and whether an
    evidence sentence all but quotes it (which backs it whatever the rule says)."""
    from tqdm import tqdm

    from index.embedding import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder()
    sources, claims = ragtruth_claims(bench / "ragtruth-summary-data2txt" / TASK_FILES[task])
    kept_out = split_sources([c.source_id for c in claims])
    by_source: dict[str, list] = {}
    for c in claims:
        if c.source_id in kept_out:
            by_source.setdefault(c.source_id, []).append(c)
    rows = []
    for sid, of_source in tqdm(sorted(by_source.items()), desc="kept-out sources", mininterval=5):
        text = sources[sid]
        spans = [grounding.Span(0, "", "", s, e, text[s:e]) for s, e in sentence_spans(text)]
        texts = [c.text for c in of_source]
        verdicts = grounding.judge(texts, spans, grounding.similarity(texts, [s.text for s in spans], embedder.embed),
                                   model)
        for c, v in zip(of_source, verdicts):
            evidence = [spans[j].text for j in v.evidence]
            rows.append({"source": sid, "answer": f"{sid}/{c.response}", "supported": c.supported,
                         "features": v.features or {},
                         "quoted": any(grounding.quoted(c.text, t) for t in evidence)})
    return rows


def design(rows: list[dict]) -> np.ndarray:
    x = []
    for r in rows:
        p = min(max(r["features"]["probability"], 1e-6), 1 - 1e-6)
        x.append([np.log(p / (1 - p))] + [r["features"][k] for k in FEATURES[1:]])
    return np.asarray(x, dtype=np.float64)


def fit(rows: list[dict]) -> Rule:
    weights, bias = logistic(design(rows), np.asarray([r["supported"] for r in rows], dtype=np.float64))
    return Rule({name: round(float(v), 4) for name, v in zip(FEATURES, weights)}, round(float(bias), 4))


def model_only() -> Rule:
    return Rule({"probability": 1.0}, 0.0)


def scores(rows: list[dict], rule: Rule, threshold: float) -> dict:
    """Sentence- and answer-level precision, recall and F1 of flagging unsupported claims."""
    flagged = [not (r["quoted"] or rule.probability(r["features"]) >= threshold) for r in rows]
    answers: dict[str, list[bool]] = {}
    for r, f in zip(rows, flagged):
        marked = answers.setdefault(r["answer"], [False, False])
        marked[0] |= not r["supported"]
        marked[1] |= f
    out = {}
    for level, pairs in (("sentence", [(f, not r["supported"]) for r, f in zip(rows, flagged)]),
                         ("answer", [(f, a) for a, f in answers.values()])):
        tp = sum(f and a for f, a in pairs)
        precision = tp / sum(f for f, _ in pairs) if any(f for f, _ in pairs) else 0.0
        recall = tp / sum(a for _, a in pairs) if any(a for _, a in pairs) else 0.0
        out[f"{level}_p"], out[f"{level}_r"] = precision, recall
        out[f"{level}_f1"] = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return out


def best_threshold(rows: list[dict], rule: Rule) -> float:
    grid = np.round(np.arange(0.02, 1.0, 0.01), 2)
    return float(max(grid, key=lambda t: (scores(rows, rule, t)["answer_f1"], -t)))


def report(name: str, figures: dict) -> None:
    print(f"{name:<44}" + "  ".join(f"{k} {v:.3f}" for k, v in figures.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", type=Path)
    parser.add_argument("--task", default="summary", choices=sorted(TASK_FILES),
                        help="the RAGTruth task the model trained on (its kept-out sources are fitted on)")
    parser.add_argument("--model-dir", type=Path, default=MODEL_DIR, help="the support model to fit for")
    parser.add_argument("--dry-run", action="store_true", help="report only; leave settings.json as it is")
    args = parser.parse_args(argv)

    by_task = {}
    for task in TASK_FILES:
        cache = cache_file(args.model_dir, f"claim-rule-{task}")
        if not cache.is_file():
            cache.parent.mkdir(parents=True, exist_ok=True)
            model = SupportModel.load(args.model_dir, second=False)
            cache.write_text(json.dumps(collect(args.bench, task, model)), encoding="utf-8")
        by_task[task] = json.loads(cache.read_text(encoding="utf-8"))
    rows = by_task[args.task]
    [other] = [t for t in TASK_FILES if t != args.task]

    answers = {r["answer"] for r in rows}
    print(f"{len(rows)} claims of {len(answers)} answers ({len({r['source'] for r in rows})} kept-out {args.task} "
          f"sources); unsupported: {sum(not r['supported'] for r in rows)}")
    print("Fitted and measured on the same sources (not general):")
    for name, rule in (("model alone", model_only()), ("claim rule", fit(rows))):
        threshold = best_threshold(rows, rule)
        report(f"  {name}, threshold {threshold:.2f}", scores(rows, rule, threshold))
    print("Two folds of sources (fitted on one, measured on the other):")
    ids = sorted({r["source"] for r in rows})
    for fold in (0, 1):
        test_ids = set(ids[fold::2])
        rest = [r for r in rows if r["source"] not in test_ids]
        test = [r for r in rows if r["source"] in test_ids]
        for name, rule in (("model alone", model_only()), ("claim rule", fit(rest))):
            threshold = best_threshold(rest, rule)
            report(f"  fold {fold}: {name}, threshold {threshold:.2f}", scores(test, rule, threshold))

    print(f"The kept-out sources of {other} (neither the rule nor its threshold fitted on them):")
    for name, rule in (("model alone", model_only()), ("claim rule", fit(rows))):
        threshold = best_threshold(rows, rule)
        report(f"  {name}, threshold {threshold:.2f}", scores(by_task[other], rule, threshold))

    rule = fit(rows)
    threshold = best_threshold(rows, rule)
    print(f"claim rule: {rule.weights}, bias {rule.bias}; threshold {threshold:.2f}")
    if not args.dry_run:
        path = args.model_dir / SETTINGS
        settings = json.loads(path.read_text(encoding="utf-8"))
        settings["claim_rule"] = {"weights": rule.weights, "bias": rule.bias,
                                  "fitted": f"python training/fit_claim_rule.py ../shared/bench --task {args.task}"}
        settings["claim_threshold"] = threshold
        path.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
        print(f"wrote the rule and the threshold into {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
