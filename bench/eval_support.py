"""The support model against the judgement it replaced, side by side, in one run.

    python bench/eval_support.py ../shared/bench --base cf3600f e0af300 --out bench/RESULTS-support.md

Each `--base` commit (checked out into a temporary git worktree) and this tree ("after") runs
in its own process over the same index and the same questions (see
`support_worker.py`); `--after int8/int8 fp32/fp32` runs this tree once per pair of precisions
(the embedder's and the support model's; older trees run fp32). Measured:

- answers, on the 18 SQuAD 1.1 articles that `train_articles.txt` does not list (never trained or
  tuned on): share of answerable questions whose answer contains a gold answer, and share wrongly
  declined; the corpus is all 2,067 SQuAD 1.1 dev paragraphs;
- abstention, on the SQuAD 2.0 questions (half unanswerable) of the ABSTAIN_REPORT articles, which
  training leaves out: precision, recall and F1 of declining unanswerable questions;
- the claim check, on RAGTruth: answer-level ("has an unsupported claim") and sentence-level
  precision, recall and F1, on the task the model did not train on (and, labelled as such, on the
  sources of its own task kept out to choose the threshold);
- warm `ask` latency on the sample corpus (eval/gold_sample.jsonl, three passes), and `verify`
  time for a ten-sentence answer against three passages.

With `--frontier`, this tree also answers every question once at threshold 0, recording each
answer's support (the answer rule's probability) and each quoted sentence's score (the model's),
and tabulates what every threshold would give. That is for reading the trade-off between
answering and declining; the threshold that ships is chosen on training questions
(`training/fit_answer_rule.py`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.config import Config  # noqa: E402
from qa.eval import metrics  # noqa: E402
from qa.service import Assistant  # noqa: E402
from training.support_data import ABSTAIN_REPORT, ragtruth_claims, split_sources, squad_questions, \
    train_articles  # noqa: E402

WORKER = Path(__file__).resolve().parent / "support_worker.py"


def held_out_questions(bench: Path, count: int) -> list[dict]:
    """Answerable questions of the held-out SQuAD 1.1 articles, evenly spread, in file order."""
    trained = set(train_articles(bench))
    data = json.loads((bench / "squad-v1.1-dev" / "dev-v1.1.reconstructed.json").read_text("utf-8"))["data"]
    found = [{"id": qa["id"], "question": qa["question"], "answers": [a["text"] for a in qa["answers"]],
              "set": "held-out answers"}
             for article in data if article["title"] not in trained
             for paragraph in article["paragraphs"] for qa in paragraph["qas"]]
    return _spread(found, count)


def abstention_questions(bench: Path, count: int) -> list[dict]:
    found = [{"id": q.qid, "question": q.question, "answers": list(q.answers), "set": "abstention"}
             for q in squad_questions(bench) if q.article in ABSTAIN_REPORT]
    return _spread(found, count)


def _spread(items: list, count: int) -> list:
    if count >= len(items):
        return items
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def claim_records(bench: Path, trained_task: str, sources_other: int) -> list[dict]:
    """RAGTruth claims with their labels, and which evaluation they belong to: of the task not
    trained on, the answers of its first `sources_other` sources (six answers each)."""
    records = []
    for task in ("summary", "data2txt"):
        path = bench / "ragtruth-summary-data2txt" / f"ragtruth_{task}.jsonl"
        sources, claims = ragtruth_claims(path)
        if task == trained_task:
            kept_out = split_sources([c.source_id for c in claims])
            claims = [c for c in claims if c.source_id in kept_out]
            label = f"{task} (its own task: sources kept out of training, threshold chosen on them)"
        else:
            kept = sorted({c.source_id for c in claims})[:sources_other]
            claims = [c for c in claims if c.source_id in kept]
            label = f"{task} (task not trained on)"
        flagged = _labelled_answers(path)
        for c in claims:
            records.append({"set": label, "source": sources[c.source_id], "claim": c.text,
                            "supported": c.supported, "answer": f"{task}/{c.source_id}/{c.response}",
                            "answer_flagged": flagged[(c.source_id, c.response)]})
    return records


def _labelled_answers(path: Path) -> dict[tuple[str, int], bool]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        for r, response in enumerate(record["responses"]):
            out[(str(record["source_id"]), r)] = bool(response["labels"])
    return out


def prf(predicted: list[bool], actual: list[bool]) -> dict:
    tp = sum(p and a for p, a in zip(predicted, actual))
    precision = tp / sum(predicted) if sum(predicted) else None
    recall = tp / sum(actual) if sum(actual) else None
    f1 = 2 * precision * recall / (precision + recall) if precision and recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "flagged": sum(predicted), "n": len(actual),
            "positives": sum(actual)}


def score(results: dict, questions: list[dict], claims: list[dict], sample: list[dict]) -> dict:
    by_id = {r["id"]: r for r in results["answers"]}
    out: dict = {}
    asked = [a | q for a, q in zip(results["sample"], sample)]
    out["sample"] = _answer_scores([r for r in asked if r["answers"]]) | {
        "abstention": prf([r["abstained"] for r in asked], [not r["answers"] for r in asked])}
    held = [by_id[q["id"]] | q for q in questions if q["set"] == "held-out answers"]
    out["held-out answers"] = _answer_scores(held)
    abst = [by_id[q["id"]] | q for q in questions if q["set"] == "abstention"]
    declined = [r["abstained"] for r in abst]
    unanswerable = [not r["answers"] for r in abst]
    out["abstention"] = prf(declined, unanswerable) | {
        "answerable": _answer_scores([r for r in abst if r["answers"]])}
    verdicts = results["claims"]
    for label in sorted({c["set"] for c in claims}):
        rows = [(c, v) for c, v in zip(claims, verdicts) if c["set"] == label]
        sentence = prf([not v for _, v in rows], [not c["supported"] for c, _ in rows])
        answers: dict[str, list] = {}
        for c, v in rows:
            answers.setdefault(c["answer"], [c["answer_flagged"], False])[1] |= not v
        answer = prf([a[1] for a in answers.values()], [a[0] for a in answers.values()])
        out[f"claims: {label}"] = {"answer-level": answer, "sentence-level": sentence}
    out["latency_ms"] = results["latency_ms"]
    out["verify_ms"] = results.get("verify_ms")
    out["claim_check_seconds"] = results.get("claim_seconds")
    return out


def _answer_scores(rows: list[dict]) -> dict:
    contains = [metrics.contains(metrics.strip_citations(r["answer"]), r["answers"]) or 0.0
                if not r["abstained"] else 0.0 for r in rows]
    return {"n": len(rows), "contains": sum(contains) / len(rows) if rows else None,
            "false_abstention": sum(r["abstained"] for r in rows) / len(rows) if rows else None}


def run_worker(code: Path, job: Path, out: Path, model_dir: Path | None, precisions: str) -> dict:
    """One side, in its own process; `precisions` is "EMBED/SUPPORT" (a tree older than int8 runs fp32)."""
    command = [sys.executable, str(WORKER), str(code), str(job), str(out)]
    if model_dir:
        command.append(str(model_dir))
    embed, support = precisions.split("/")
    subprocess.run(command, check=True, env={**os.environ, "QA_EMBED_PRECISION": embed,
                                             "QA_SUPPORT_PRECISION": support})
    return json.loads(out.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", type=Path)
    parser.add_argument("--base", required=True, nargs="+",
                        help="the commits to run before this tree, oldest first: the first is the last one without the support model")
    parser.add_argument("--answers", type=int, default=400, help="held-out answerable questions")
    parser.add_argument("--abstention", type=int, default=400, help="abstention questions")
    parser.add_argument("--claims-trained-on", default="summary", choices=("summary", "data2txt"))
    parser.add_argument("--claim-sources", type=int, default=60, help="sources of the other RAGTruth task")
    parser.add_argument("--model-dir", type=Path, help="the support model to test (default: the shipped one)")
    parser.add_argument("--after", nargs="+", default=["int8/int8"], metavar="EMBED/SUPPORT",
                        help="this tree's runs, each with the embedder's and the support model's precision "
                             "(int8 or fp32; default: int8/int8, as the product runs)")
    parser.add_argument("--only-after", action="store_true", help="skip the 'before' run")
    parser.add_argument("--frontier", action="store_true",
                        help="also answer every held-out question once and tabulate every threshold (for reading: "
                             "the shipped threshold is chosen on training questions, never on these)")
    parser.add_argument("--work", type=Path, default=Path(".qa_index") / "support-bench")
    parser.add_argument("--out", type=Path, help="write the Markdown table here (and .json beside it)")
    args = parser.parse_args(argv)

    work = args.work.resolve()
    squad_index, sample_index = work / "squad-v1.1", work / "sample"
    # One index each, built by this tree; both sides only read them.
    for index_dir, corpus in ((squad_index, args.bench / "squad-v1.1-dev" / "corpus.jsonl"),
                              (sample_index, ROOT / "docs_corpus")):
        report = Assistant(Config(index_dir=index_dir)).ingest([corpus.resolve()], progress=True)
        print(f"{index_dir.name}: {report.documents} documents, {report.chunks} chunks", file=sys.stderr)

    questions = held_out_questions(args.bench, args.answers) + abstention_questions(args.bench, args.abstention)
    claims = claim_records(args.bench, args.claims_trained_on, args.claim_sources)
    sample = [{"question": q["question"], "history": q.get("history", []), "answers": q["answers"]}
              for q in map(json.loads, (ROOT / "eval" / "gold_sample.jsonl").read_text("utf-8").splitlines())]
    job = {"squad_index": str(squad_index), "sample_index": str(sample_index), "questions": questions,
           "claims": [{"source": c["source"], "claim": c["claim"]} for c in claims], "sample": sample}

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "job.json").write_text(json.dumps(job), encoding="utf-8")
        sides = [] if args.only_after else [(base, tmp / base) for base in args.base]
        try:
            for _, code in sides:
                subprocess.run(["git", "worktree", "add", "--detach", str(code), code.name], cwd=ROOT,
                               check=True, capture_output=True)
            afters = [(f"after {p}" if len(args.after) > 1 else "after", ROOT, p) for p in args.after]
            # An older tree runs what it has: fp32 where it has no int8 (support_worker.py).
            for name, code, precisions in [*((n, c, args.after[0]) for n, c in sides), *afters]:
                print(f"--- {name}", file=sys.stderr)
                model = args.model_dir.resolve() if args.model_dir and code == ROOT else None
                raw = run_worker(code, tmp / "job.json", tmp / f"{name.replace('/', '-')}.json", model, precisions)
                results[name] = score(raw, questions, claims, sample)
            frontier = None
            if args.frontier:
                print("--- frontier", file=sys.stderr)
                (tmp / "frontier.json").write_text(json.dumps(job | {"abstain_below": 0.0}), encoding="utf-8")
                raw = run_worker(ROOT, tmp / "frontier.json", tmp / "frontier-out.json",
                                 args.model_dir.resolve() if args.model_dir else None, args.after[0])
                frontier = thresholds_table(raw["answers"], questions)
        finally:
            for _, code in sides:
                subprocess.run(["git", "worktree", "remove", "--force", str(code)], cwd=ROOT)

    command = "python bench/eval_support.py " + " ".join(sys.argv[1:] if argv is None else argv)
    table = markdown(results, command) + (f"\n{frontier}" if frontier else "")
    print(table)
    if args.out:
        args.out.write_text(table, encoding="utf-8")
        args.out.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


def at_threshold(answer: dict, threshold: float) -> tuple[bool, str]:
    """What an answer given at threshold 0 would have been at `threshold`: declined, or the
    sentences `extractive.pick` keeps (the first, and a second only where it reaches the threshold)."""
    if answer["support"] < threshold or not answer["cited"]:
        return True, ""
    first, *rest = answer["cited"]
    return False, " ".join([first["quote"], *(c["quote"] for c in rest if c["score"] >= threshold)])


def thresholds_table(answers: list[dict], questions: list[dict]) -> str:
    by_id = {a["id"]: a for a in answers}
    columns = ["threshold", "held-out contains", "held-out wrongly declined", "abstention precision", "recall",
               "F1", "abstention set, answerable: wrongly declined"]
    lines = ["Every threshold, from one run that answered everything (`--frontier`; for reading only):", "",
             "| " + " | ".join(columns) + " |", "|" + " ---: |" * len(columns)]
    for threshold in [round(0.05 * i, 2) for i in range(0, 19)]:
        held, abst = [], []
        for q in questions:
            declined, text = at_threshold(by_id[q["id"]], threshold)
            row = {"abstained": declined, "answer": text, "answers": q["answers"]}
            (held if q["set"] == "held-out answers" else abst).append(row)
        scores = _answer_scores(held)
        declines = prf([r["abstained"] for r in abst], [not r["answers"] for r in abst])
        answerable = _answer_scores([r for r in abst if r["answers"]])
        cells = [scores["contains"], scores["false_abstention"], declines["precision"], declines["recall"],
                 declines["f1"], answerable["false_abstention"]]
        lines.append(f"| {threshold:.2f} | " + " | ".join("–" if c is None else f"{c:.3f}" for c in cells) + " |")
    return "\n".join(lines) + "\n"


def markdown(results: dict, command: str) -> str:
    sides = list(results)
    lines = [f"`{command}`", "", "Each column is the code of that commit; `after` is this tree.", "",
             "| measure | " + " | ".join(sides) + " |", "| --- | " + " | ".join("---" for _ in sides) + " |"]

    def row(name: str, get) -> None:
        cells = []
        for side in sides:
            try:
                value = get(results[side])
            except (KeyError, TypeError):
                value = None
            cells.append("–" if value is None else (f"{value:.3f}" if isinstance(value, float) else str(value)))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")

    first = results[sides[0]]
    row(f"held-out answers: contains (n={first['held-out answers']['n']})",
        lambda r: r["held-out answers"]["contains"])
    row("held-out answers: wrongly declined", lambda r: r["held-out answers"]["false_abstention"])
    row(f"abstention: precision (n={first['abstention']['n']}, {first['abstention']['positives']} unanswerable)",
        lambda r: r["abstention"]["precision"])
    row("abstention: recall", lambda r: r["abstention"]["recall"])
    row("abstention: F1", lambda r: r["abstention"]["f1"])
    row("abstention set, answerable: contains", lambda r: r["abstention"]["answerable"]["contains"])
    row("abstention set, answerable: wrongly declined", lambda r: r["abstention"]["answerable"]["false_abstention"])
    for key in [k for k in first if k.startswith("claims: ")]:
        for level in ("answer-level", "sentence-level"):
            n = first[key][level]["n"]
            for measure in ("precision", "recall", "f1"):
                row(f"{key[8:]}, {level} (n={n}): {measure}", lambda r, k=key, lv=level, m=measure: r[k][lv][m])
    row(f"sample gold set: contains (n={first['sample']['n']} answerable)", lambda r: r["sample"]["contains"])
    row("sample gold set: wrongly declined", lambda r: r["sample"]["false_abstention"])
    row(f"sample gold set: abstention F1 ({first['sample']['abstention']['positives']} unanswerable)",
        lambda r: r["sample"]["abstention"]["f1"])
    row("warm ask on the sample corpus: p50 ms", lambda r: r["latency_ms"]["p50"])
    row("warm ask on the sample corpus: p95 ms", lambda r: r["latency_ms"]["p95"])
    row("verify, ten sentences against three passages: median ms", lambda r: r["verify_ms"])
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
