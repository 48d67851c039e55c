"""Fit the answer rule, which orders an extractive shortlist, on questions of the training articles.

    python training/fit_answer_rule.py ../shared/bench            # fit, report, write settings.json
    python training/fit_answer_rule.py ../shared/bench --dry-run  # fit and report only

The trained support model reads a question with each sentence of the extractive shortlist. Its
probability is one signal; the cheap ones that chose the shortlist (question terms covered, the
kind of answer, phrases, passage rank) are others. This fits a logistic regression over all of
them to the label "this sentence holds a gold answer", on the SQuAD 2.0 questions of the
THRESHOLD_TUNE articles (training articles that the model never trained on; 42% of their
questions are unanswerable). The rule only chooses the sentence; whether to answer at all is
still the model's best probability against its threshold. `train_support.py` chose a first one
on each question's own paragraph; with `--choose-threshold` this script chooses it again on
what the product really shows the model (the best balanced accuracy of answering the answerable
questions and declining the others) and writes it beside the rule.

The questions run through the product's own path (hybrid retrieval over all 2,067 SQuAD 1.1 dev
paragraphs, then `extractive.score_sentences`), and what the model says of each is cached, so
refitting is quick. The figures printed are on the data the rule was fitted on, and say so; the
leave-one-article-out figures show how much of that survives a new article.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa import extractive  # noqa: E402
from qa.config import Config  # noqa: E402
from qa.eval import metrics  # noqa: E402
from qa.service import Assistant  # noqa: E402
from qa.support import MODEL_DIR, SETTINGS, WEIGHTS, Rule, SupportModel  # noqa: E402
from training.measures import auc, balanced_accuracy, best_threshold  # noqa: E402
from training.support_data import THRESHOLD_TUNE, squad_questions  # noqa: E402

FEATURES = ("probability", "lexical", "kind", "phrase", "rank")
L2 = 1.0  # ridge on the weights (not the bias): hundreds of examples, five weights


def collect(bench: Path, work: Path, shortlist: int, model: SupportModel) -> list[dict]:
    """Per tune question: its article, whether it is answerable, and its shortlist's features and labels."""
    index_dir = work / "squad-v1.1"
    assistant = Assistant(Config(index_dir=index_dir, mode="extractive"), support=model)
    report = assistant.ingest([(bench / "squad-v1.1-dev" / "corpus.jsonl").resolve()], progress=True)
    print(f"{index_dir.name}: {report.documents} documents, {report.chunks} chunks", file=sys.stderr)
    from tqdm import tqdm

    rows = []
    questions = [q for q in squad_questions(bench) if q.article in THRESHOLD_TUNE]
    for q in tqdm(questions, desc="tune questions", mininterval=5):
        passages = assistant.search(q.question)
        texts = {p.doc_id: assistant.reader.text(p.doc_id) for p in passages}
        scored = extractive.score_sentences(q.question, passages, texts, assistant.support_model, shortlist=shortlist)
        # Back into shortlist order (the cheap prior's), so that a shorter shortlist is a prefix.
        scored.sort(key=lambda s: -sum(extractive.WEIGHTS[k] * s.features[k] for k in extractive.WEIGHTS))
        rows.append({"article": q.article, "answerable": bool(q.answers),
                     "candidates": [{"features": s.features,
                                     "holds": bool(q.answers) and bool(metrics.contains(s.text, list(q.answers)))}
                                    for s in scored]})
    return rows


def cache_file(model_dir: Path, name: str) -> Path:
    """Where what one model says of the tune data is kept: named by a digest of its weights, so
    that another model never reads it."""
    digest = hashlib.sha256((model_dir / WEIGHTS).read_bytes()).hexdigest()[:12]
    return Path(".qa_index") / f"{name}-{digest}.json"


def design(candidates: list[dict]) -> np.ndarray:
    x = []
    for c in candidates:
        p = min(max(c["features"]["probability"], 1e-6), 1 - 1e-6)
        x.append([np.log(p / (1 - p))] + [c["features"][k] for k in FEATURES[1:]])
    return np.asarray(x, dtype=np.float64)


def logistic(x: np.ndarray, y: np.ndarray, ridge: float = L2) -> tuple[np.ndarray, float]:
    """Weights and bias of a logistic regression, by Newton's method, with a ridge on the weights."""
    x = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(x.shape[1])
    penalty = np.diag([ridge] * (x.shape[1] - 1) + [0.0])
    for _ in range(50):
        p = 1 / (1 + np.exp(-x @ w))
        step = np.linalg.solve((x * (p * (1 - p))[:, None]).T @ x + penalty, x.T @ (p - y) + penalty @ w)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


def fit(rows: list[dict], shortlist: int) -> Rule:
    """The rule over every shortlisted candidate of every question."""
    candidates = [c for r in rows for c in r["candidates"][:shortlist]]
    weights, bias = logistic(design(candidates), np.asarray([c["holds"] for c in candidates], dtype=np.float64))
    return Rule({name: round(float(v), 4) for name, v in zip(FEATURES, weights)}, round(bias, 4))


def model_only() -> Rule:
    """The model's probability alone, as before the rule."""
    return Rule({"probability": 1.0}, 0.0)


def decide(rows: list[dict], rule: Rule, shortlist: int) -> list[tuple[float, bool]]:
    """Per question: the best probability the model gives a candidate (below the threshold, the
    answer declines), and whether the candidate the rule puts first holds a gold answer."""
    out = []
    for r in rows:
        candidates = r["candidates"][:shortlist]
        if not candidates:
            out.append((0.0, False))
            continue
        best = max(candidates, key=lambda c: rule.probability(c["features"]))
        out.append((max(c["features"]["probability"] for c in candidates), best["holds"]))
    return out


def scores(rows: list[dict], decided: list[tuple[float, bool]], threshold: float) -> dict:
    answerable = [(s, h) for r, (s, h) in zip(rows, decided) if r["answerable"]]
    unanswerable = [s for r, (s, _) in zip(rows, decided) if not r["answerable"]]
    declined_right = sum(s < threshold for s in unanswerable)
    declined_wrong = sum(s < threshold for s, _ in answerable)
    contains = sum(s >= threshold and h for s, h in answerable)
    precision = declined_right / (declined_right + declined_wrong) if declined_right + declined_wrong else 0.0
    recall = declined_right / len(unanswerable) if unanswerable else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"squad2": (contains + declined_right) / len(rows), "contains": contains / len(answerable),
            "top_holds": sum(h for _, h in answerable) / len(answerable),
            "false_abstention": declined_wrong / len(answerable),
            "abstention_precision": precision, "abstention_recall": recall, "abstention_f1": f1}


def choose_threshold(rows: list[dict], decided: list[tuple[float, bool]]) -> tuple[float, dict]:
    """The threshold that best tells answerable from unanswerable tune questions through the
    product's own path: the highest balanced accuracy (the share of unanswerable questions
    declined and of answerable ones answered, averaged), so that neither mistake counts more
    than the other whatever the mix."""
    best = np.array([s for s, _ in decided])
    answerable = np.array([r["answerable"] for r in rows])
    threshold, balanced = best_threshold(best, answerable, balanced_accuracy)
    return threshold, scores(rows, decided, threshold) | {"balanced": balanced}


def report(name: str, figures: dict) -> None:
    print(f"{name:<52}" + "  ".join(f"{k} {v:.3f}" for k, v in figures.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", type=Path)
    parser.add_argument("--work", type=Path, default=Path(".qa_index") / "support-bench")
    parser.add_argument("--cache", type=Path, help="where the model's answers to the tune questions are kept "
                        "(default: .qa_index/answer-rule-<the model's digest>.json)")
    parser.add_argument("--model-dir", type=Path, default=MODEL_DIR, help="the support model to fit for")
    parser.add_argument("--shortlist", type=int, default=extractive.SHORTLIST)
    parser.add_argument("--choose-threshold", action="store_true",
                        help="also write the threshold chosen here (by default it stays the one training chose)")
    parser.add_argument("--dry-run", action="store_true", help="report only; leave settings.json as it is")
    args = parser.parse_args(argv)

    cache = args.cache or cache_file(args.model_dir, "answer-rule")
    collected = 16  # more than the run-time shortlist, to compare lengths without collecting again
    if cache.is_file():
        rows = json.loads(cache.read_text(encoding="utf-8"))
    else:
        model = SupportModel.load(args.model_dir)
        rows = collect(args.bench, args.work.resolve(), max(collected, args.shortlist), model)
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(rows), encoding="utf-8")

    k = args.shortlist
    path = args.model_dir / SETTINGS
    settings = json.loads(path.read_text(encoding="utf-8"))
    threshold = settings["answer_threshold"]
    answerable = sum(r["answerable"] for r in rows)
    oracle = sum(any(c["holds"] for c in r["candidates"][:k]) for r in rows if r["answerable"])
    print(f"{len(rows)} questions of {', '.join(THRESHOLD_TUNE)}; {answerable} answerable; "
          f"a gold answer in the shortlist of {k}: {oracle / answerable:.3f}; threshold now {threshold}")
    rule = fit(rows, k)
    chosen, at_chosen = choose_threshold(rows, decide(rows, rule, k))
    best = np.array([s for s, _ in decide(rows, model_only(), k)])
    print(f"AUC of the best probability, answerable against unanswerable: "
          f"{auc(best, np.array([r['answerable'] for r in rows])):.3f}")
    print("Fitted and measured on the same questions (not general):")
    for name, candidate in (("model alone", model_only()), ("answer rule", rule)):
        decided = decide(rows, candidate, k)
        for t in sorted({0.2, threshold, chosen, 0.5}):
            report(f"  {name}, threshold {t:.2f}", scores(rows, decided, t))
    if args.choose_threshold:
        threshold = chosen
    print(f"threshold {threshold:.2f} (best balanced accuracy: {chosen:.2f}, "
          f"{at_chosen['balanced']:.3f} on the questions it was chosen on)")
    print("Leave one article out (fitted on the other, measured on this one):")
    for held in THRESHOLD_TUNE:
        rest = [r for r in rows if r["article"] != held]
        test = [r for r in rows if r["article"] == held]
        for name, candidate in (("model alone", model_only()), ("answer rule", fit(rest, k))):
            decided_rest = decide(rest, candidate, k)
            other_t = choose_threshold(rest, decided_rest)[0] if name == "answer rule" else threshold
            report(f"  {held}: {name}, threshold {other_t:.2f}", scores(test, decide(test, candidate, k), other_t))

    print(f"answer rule: {rule.weights}, bias {rule.bias}")
    if not args.dry_run:
        command = "python training/fit_answer_rule.py " + " ".join(sys.argv[1:] if argv is None else argv)
        settings["answer_rule"] = {"weights": rule.weights, "bias": rule.bias, "fitted": command}
        settings["answer_threshold"] = threshold
        path.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
        print(f"wrote the rule and the threshold into {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
