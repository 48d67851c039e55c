"""Support models side by side on the tune articles: the measurements that choose a base.

    python training/compare_bases.py ../shared/bench qa/models/support DIR ... [--bases FOLDER]

Every model reads the same pairs, none of which any model trained on: the SQuAD 2.0 questions of
the THRESHOLD_TUNE articles (each against the sentences of its own paragraph, the answering one
among them when it is answerable; half of the questions are unanswerable) and the claims of the
RAGTruth sources kept out of training. Per model:
- first-sentence accuracy: of the answerable questions, the share whose highest-scored sentence
  answers, in the questions' own words and rewritten in keyword style (the evaluation's rewrite),
  beside the bundled embedder's cosine, which any model must beat;
- AUC: how well the best sentence's probability tells answerable from unanswerable questions;
- at the decline threshold that declines at most 10% of answerable questions (as training chooses
  it): the abstention precision, recall and F1 there, and the expected calibration error;
- claim F1: answer-level F1 of "this answer has an unsupported claim" at its best threshold;
- the time to score one shortlist of eight pairs, median of 20, in the precision it runs in.
With several models, the first is also tried as a first reader: it keeps its best N sentences of
each question (`--keep`) and each other model, as a second reader, orders them and decides the
declines by its best probability among them. A sketch of the product's path: here the first
keeps by its probability alone, from the sentences of the question's own paragraph; the product
keeps by its answer rule, after the consistency checks, from the retrieved shortlist, and the
second reader's answer rule decides, at the bar `training/fit_answer_rule.py` chooses.
The thresholds are chosen on these same pairs: figures for comparing models, not held-out ones.
`--bases FOLDER` is where a model's larger base is (as `python -m qa.bases --to FOLDER` puts it). Every
model runs in int8, as the product runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from index.embedding import SentenceTransformerEmbedder  # noqa: E402
from qa.eval.sentence_choice import keyword_style  # noqa: E402
from qa.bases import VARIABLE as BASES_VARIABLE  # noqa: E402
from qa.support import SupportModel, SupportSettings, SETTINGS  # noqa: E402
from training.measures import auc, best_threshold, capped_threshold, expected_calibration_error, f1  # noqa: E402
from training.support_data import THRESHOLD_TUNE, Pair, ragtruth_claims, split_sources, squad_pairs, \
    squad_questions  # noqa: E402
from training.train_support import CLAIM_FILES, DECLINE_CAP, claim_pairs, per_group  # noqa: E402

SHORTLIST = 8
TIMED_RUNS = 20


def tune_pairs(bench: Path, seed: int = 13) -> tuple[list[Pair], list[Pair], list[Pair]]:
    """The tune questions' pairs, the same in keyword style, and the kept-out claims' pairs."""
    questions = [q for q in squad_questions(bench) if q.article in THRESHOLD_TUNE]
    own = squad_pairs(questions, seed=seed)
    keyword = [Pair(keyword_style(p.first), p.second, p.label, p.kind, p.group, p.qid) for p in own]
    sources, claims = ragtruth_claims(bench / "ragtruth-summary-data2txt" / CLAIM_FILES["summary"])
    kept_out = split_sources([c.source_id for c in claims], seed=seed)
    embedder = SentenceTransformerEmbedder()
    claimed = claim_pairs([c for c in claims if c.source_id in kept_out], sources, embedder, "tune")
    return own, keyword, claimed


def first_sentence(pairs: list[Pair], scores: np.ndarray) -> float:
    """Of the questions with an answering pair, the share whose highest score is one."""
    groups: dict[str, list[tuple[float, int]]] = {}
    for pair, score in zip(pairs, scores):
        groups.setdefault(pair.qid, []).append((float(score), pair.label))
    answerable = [g for g in groups.values() if any(label for _, label in g)]
    return float(np.mean([max(g, key=lambda x: x[0])[1] for g in answerable]))


def cosine_scores(pairs: list[Pair], embed) -> np.ndarray:
    firsts = sorted({p.first for p in pairs})
    seconds = sorted({p.second for p in pairs})
    a, b = embed(firsts), embed(seconds)
    at, bt = {t: i for i, t in enumerate(firsts)}, {t: i for i, t in enumerate(seconds)}
    return np.array([float(a[at[p.first]] @ b[bt[p.second]]) for p in pairs])


def second_reading(pairs: list[Pair], first: np.ndarray, second: np.ndarray, keep: int) -> np.ndarray:
    """Scores for a first reader that keeps its `keep` best pairs of each question and a second
    reader that orders those: the second's probability there, and -1 for every pair not kept."""
    combined = np.full(len(pairs), -1.0)
    groups: dict[str, list[int]] = {}
    for i, pair in enumerate(pairs):
        groups.setdefault(pair.qid, []).append(i)
    for members in groups.values():
        kept = sorted(members, key=lambda i: -first[i])[:keep]
        combined[kept] = second[kept]
    return combined


def mean_logit(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The probability of the mean of two models' logits."""
    logit = lambda p: np.log(np.clip(p, 1e-6, 1 - 1e-6) / np.clip(1 - p, 1e-6, 1))  # noqa: E731
    return 1 / (1 + np.exp(-(logit(a) + logit(b)) / 2))


def answer_figures(own: list[Pair], keyword: list[Pair], p_own: np.ndarray, p_key: np.ndarray) -> dict[str, float]:
    """How the scores choose and decline: first-sentence accuracy, AUC, abstention at the cap."""
    best, answerable = per_group(own, p_own)
    threshold = capped_threshold(best, answerable, DECLINE_CAP)
    declined = best < threshold
    precision = float((declined & ~answerable).sum() / max(declined.sum(), 1))
    recall = float((declined & ~answerable).sum() / max((~answerable).sum(), 1))
    return {
        "first sentence, own words": first_sentence(own, p_own),
        "first sentence, keyword style": first_sentence(keyword, p_key),
        "answerable vs unanswerable AUC": auc(best, answerable),
        "decline threshold (at most 10% of answerable declined)": threshold,
        "answerable declined": float(declined[answerable].mean()),
        "abstention precision": precision,
        "abstention recall": recall,
        "abstention F1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
    }


def measure(model: SupportModel, own: list[Pair], keyword: list[Pair], claimed: list[Pair]) -> tuple[dict, tuple]:
    """The model's figures, and its probabilities of the own-words and keyword pairs."""
    p_own = model.probabilities([(p.first, p.second) for p in own])
    p_key = model.probabilities([(p.first, p.second) for p in keyword])
    worst, clean = per_group(claimed, model.probabilities([(p.first, p.second) for p in claimed]), worst=True)
    _, claim_f1 = best_threshold(1.0 - worst, ~clean, f1)
    shortlist = [(p.first, p.second) for p in own[:SHORTLIST]]
    model.probabilities(shortlist)  # warm
    times = []
    for _ in range(TIMED_RUNS):
        began = time.perf_counter()
        model.probabilities(shortlist)
        times.append(1000 * (time.perf_counter() - began))
    return {
        **answer_figures(own, keyword, p_own, p_key),
        "calibration error (ECE)": expected_calibration_error(p_own, np.array([p.label for p in own])),
        "claim answer-level F1 (best threshold)": claim_f1,
        "ms per shortlist of 8": statistics.median(times),
    }, (p_own, p_key)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", type=Path, help="the shared bench folder")
    parser.add_argument("models", type=Path, nargs="+", help="support model folders")
    parser.add_argument("--bases", type=Path, help="the folder holding larger bases, each in a folder of its name")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--keep", type=int, nargs="*", default=[2, 3, 4],
                        help="also: the first model keeps its best N sentences a question, each other model orders them")
    args = parser.parse_args(argv)
    if args.bases:
        os.environ[BASES_VARIABLE] = str(args.bases)
    own, keyword, claimed = tune_pairs(args.bench)
    embed = SentenceTransformerEmbedder().embed
    columns = {"cosine (bundled embedder)": {
        "first sentence, own words": first_sentence(own, cosine_scores(own, embed)),
        "first sentence, keyword style": first_sentence(keyword, cosine_scores(keyword, embed)),
    }}
    read = {}
    for folder in args.models:
        settings = SupportSettings.read(folder / SETTINGS)
        model = SupportModel.load(folder, "int8", second=False)
        trained = json.loads((folder / SETTINGS).read_text("utf-8")).get("trained", {})
        name = f"{folder.name}: {settings.base}, {model.precision}, {trained.get('pairs', '?')} pairs"
        columns[name], read[folder.name] = measure(model, own, keyword, claimed)
        print(name, json.dumps(columns[name]), file=sys.stderr)
    first, *others = list(read)
    for other in others:
        for keep in args.keep:
            columns[f"{first} keeps {keep}, {other} orders"] = answer_figures(own, keyword, *(
                second_reading(pairs, read[first][i], read[other][i], keep) for i, pairs in enumerate((own, keyword))))
            columns[f"{first} keeps {keep}, the mean logit of both orders"] = answer_figures(own, keyword, *(
                second_reading(pairs, read[first][i], mean_logit(read[first][i], read[other][i]), keep)
                for i, pairs in enumerate((own, keyword))))
    rows = list(dict.fromkeys(key for figures in columns.values() for key in figures))
    print(f"{len({p.qid for p in own})} tune questions ({len(own)} pairs), "
          f"{len({p.qid for p in claimed})} kept-out RAGTruth answers\n")
    print("| measure | " + " | ".join(columns) + " |")
    print("| --- |" + " ---: |" * len(columns))
    for row in rows:
        cells = [f"{columns[c][row]:.3f}" if row in columns[c] else "" for c in columns]
        print(f"| {row} | " + " | ".join(cells) + " |")
    if args.json:
        args.json.write_text(json.dumps(columns, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
