"""The support model in int8 beside fp32: how close the probabilities are, and how fast.

    python bench/support_int8.py ../shared/bench --pairs 800 --out bench/RESULTS-support-int8.json

Pairs (question, sentence) from the SQuAD 2.0 articles that training and tuning keep out
(`ABSTAIN_REPORT`), built as training builds them. Both models are the shipped one, loaded in
this process; speed is measured in turns (fp32, int8, fp32, int8) on shortlists of 16 pairs, as
an extractive answer scores them, and on single pairs, as a one-sentence claim check does.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from qa.support import SupportModel  # noqa: E402
from training.measures import auc  # noqa: E402
from training.support_data import ABSTAIN_REPORT, squad_pairs, squad_questions  # noqa: E402


def timed(model: SupportModel, groups: list[list[tuple[str, str]]]) -> list[float]:
    out = []
    for group in groups:
        began = time.perf_counter()
        model.probabilities(group)
        out.append(1000 * (time.perf_counter() - began))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", type=Path)
    parser.add_argument("--pairs", type=int, default=800)
    parser.add_argument("--out", type=Path, help="write the figures here as JSON")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()

    questions = [q for q in squad_questions(args.bench) if q.article in ABSTAIN_REPORT]
    made = squad_pairs(questions)
    chosen = random.Random(5).sample(made, min(args.pairs, len(made)))
    pairs = [(p.first, p.second) for p in chosen]
    models = {"fp32": SupportModel.shipped("fp32"), "int8": SupportModel.shipped("int8")}
    probabilities = {name: model.probabilities(pairs) for name, model in models.items()}
    exact, quantised = probabilities["fp32"], probabilities["int8"]
    threshold = models["int8"].settings.answer_threshold
    labels = np.array([p.label for p in chosen], dtype=bool)

    shortlists = [pairs[i:i + 16] for i in range(0, min(len(pairs), 320), 16)]
    singles = [[pair] for pair in pairs[:100]]
    speed: dict[str, dict[str, list[float]]] = {name: {"shortlist": [], "single": []} for name in models}
    for _ in range(2):
        for name, model in models.items():
            speed[name]["shortlist"] += timed(model, shortlists)
            speed[name]["single"] += timed(model, singles)

    def summary(times: list[float]) -> dict:
        return {"p50": round(float(np.percentile(times, 50)), 1), "p95": round(float(np.percentile(times, 95)), 1)}

    figures = {
        "command": "python bench/support_int8.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "pairs": len(pairs),
        "mean_abs_difference": round(float(np.abs(exact - quantised).mean()), 4),
        "p99_abs_difference": round(float(np.percentile(np.abs(exact - quantised), 99)), 4),
        "max_abs_difference": round(float(np.abs(exact - quantised).max()), 4),
        "same_side_of_answer_threshold": round(float(((exact >= threshold) == (quantised >= threshold)).mean()), 4),
        "pair_auc": {"fp32": round(auc(exact, labels), 4), "int8": round(auc(quantised, labels), 4)},
        "ms": {name: {kind: summary(times) for kind, times in kinds.items()} for name, kinds in speed.items()},
        "load": {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in os.getloadavg()]},
    }
    figures["speedup"] = {kind: round(figures["ms"]["fp32"][kind]["p50"] / figures["ms"]["int8"][kind]["p50"], 2)
                          for kind in ("shortlist", "single")}
    print(json.dumps(figures, indent=2))
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
