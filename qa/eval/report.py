"""`--report DIR`: what an evaluation leaves behind for a person to look at.

- results.json: the summary, exactly as `qa eval --json` prints it;
- per_question.jsonl: one line per question with everything measured, to trace a failure;
- comparison.json: every system's summary, when baselines ran beside ours;
- summary.md: the tables, the command, and the questions that failed, by id;
- *.png: score distributions and the abstention-threshold trade-off.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from qa.eval import metrics

THRESHOLDS = [round(i * 0.01, 2) for i in range(101)]
WORST_SHOWN = 15  # failures listed per kind in summary.md


def write_report(
    folder: Path,
    summary: dict,
    records: list[dict],
    meta: dict,
    comparison: dict[str, dict] | None = None,
    abstain_below: float | None = None,
) -> list[Path]:
    """Write every file of the report; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = [_write_json(folder / "results.json", summary)]
    with open(folder / "per_question.jsonl", "w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    written.append(folder / "per_question.jsonl")
    if comparison:
        written.append(_write_json(folder / "comparison.json", comparison))

    is_gold = bool(records) and "gold_answers" in records[0]
    curve = threshold_curve(records) if is_gold else []
    if curve:
        written.append(_write_json(folder / "abstention_curve.json", curve))
    plots = _plots(folder, records, curve, abstain_below, comparison, is_gold)
    written += plots
    (folder / "summary.md").write_text(
        _markdown(summary, records, meta, comparison, curve, abstain_below, plots, is_gold), encoding="utf-8"
    )
    written.append(folder / "summary.md")
    return written


def _write_json(path: Path, data) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def threshold_curve(records: list[dict]) -> list[dict]:
    """The abstention trade-off over thresholds, from the records that carry a support score."""
    probed = [r for r in records if r.get("support") is not None]
    if not probed:
        return []
    correct = [
        metrics.contains(metrics.strip_citations(r["unabstained_answer"]), r["gold_answers"])
        if r["answerable"] else None
        for r in probed
    ]
    return metrics.abstention_curve(
        [r["support"] for r in probed], [not r["answerable"] for r in probed], correct, THRESHOLDS
    )


# --- plots ----------------------------------------------------------------------------------------
def _plots(folder: Path, records: list[dict], curve: list[dict], abstain_below: float | None,
           comparison: dict[str, dict] | None, is_gold: bool) -> list[Path]:
    try:
        import matplotlib
    except ImportError:  # plots are an extra: the JSON and the Markdown are written without them
        print("qa: no plots: install the eval extra (pip install -e '.[eval]') for them", file=sys.stderr)
        return []

    matplotlib.use("Agg")  # files only: no display on a server or in CI
    import matplotlib.pyplot as plt

    written = []

    def save(fig, name: str) -> None:
        fig.tight_layout()
        fig.savefig(folder / name, dpi=110)
        plt.close(fig)
        written.append(folder / name)

    if records:
        # Gold questions without evidence spans have no rank to show; BEIR queries all have qrels.
        ranks = [r["first_hit_rank"] for r in records if not is_gold or (r["answerable"] and r["gold_spans"])]
        labels = [str(i) for i in range(1, 11)] + ["miss"]
        counts = [sum(1 for x in ranks if x == i) for i in range(1, 11)] + [
            sum(1 for x in ranks if x is None or x > 10)]
        fig, ax = plt.subplots(figsize=(7, 3.6))
        ax.bar(labels, counts, color=["#3b7dd8"] * 10 + ["#d8553b"])
        ax.set_xlabel("rank of the first passage that hits the gold evidence")
        ax.set_ylabel("questions")
        ax.set_title("Where retrieval finds the evidence")
        save(fig, "first_hit_rank.png")

    if is_gold and records:
        answerable = [r for r in records if r["answerable"]]
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
        axes[0].hist([r["f1"] or 0.0 for r in answerable], bins=[i / 10 for i in range(11)], color="#3b7dd8")
        axes[0].set_xlabel("token F1 of the answer (answerable questions)")
        axes[0].set_ylabel("questions")
        contained = sum(1 for r in answerable if r["contains"])
        abstained = sum(1 for r in answerable if r["abstained"])
        axes[1].bar(["contains gold", "misses gold", "abstained"],
                    [contained, len(answerable) - contained - abstained, abstained],
                    color=["#3ba55c", "#d8553b", "#999999"])
        axes[1].set_title("Answers to answerable questions")
        save(fig, "answer_scores.png")

        supported = [r for r in records if r["support"] is not None]
        if supported:
            fig, ax = plt.subplots(figsize=(7, 3.6))
            bins = [i / 20 for i in range(21)]
            ax.hist([r["support"] for r in supported if r["answerable"]], bins=bins, alpha=0.7,
                    label="answerable", color="#3b7dd8")
            ax.hist([r["support"] for r in supported if not r["answerable"]], bins=bins, alpha=0.7,
                    label="unanswerable", color="#d8553b")
            if abstain_below is not None:
                ax.axvline(abstain_below, color="black", linestyle="--", label=f"abstain below {abstain_below}")
            ax.set_xlabel("support score of the best sentence")
            ax.set_ylabel("questions")
            ax.set_title("Support scores: what abstention has to separate")
            ax.legend()
            save(fig, "support_distribution.png")

    if curve:
        fig, ax = plt.subplots(figsize=(7, 4))
        xs = [p["threshold"] for p in curve]
        for key, label, color in (("abstention_precision", "abstention precision", "#d8553b"),
                                  ("abstention_recall", "abstention recall", "#e0a030"),
                                  ("accuracy", "answer accuracy (contains)", "#3b7dd8"),
                                  ("coverage", "share answered", "#999999")):
            ys = [p[key] for p in curve]
            if any(y is not None for y in ys):
                ax.plot(xs, [float("nan") if y is None else y for y in ys], label=label, color=color)
        if abstain_below is not None:
            ax.axvline(abstain_below, color="black", linestyle="--", label=f"current: {abstain_below}")
        ax.set_xlabel("abstain when the best sentence's support is below")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title("The abstention threshold trade-off")
        ax.legend(fontsize=8, loc="lower left")
        save(fig, "threshold_tradeoff.png")

    if comparison:
        keys = [("retrieval", "hit@1"), ("retrieval", "hit@5"), ("retrieval", "mrr@10"),
                ("answer", "f1"), ("answer", "contains")]
        fig, ax = plt.subplots(figsize=(10, 4))
        width = 0.8 / len(comparison)
        for i, (name, summary) in enumerate(comparison.items()):
            values = [summary[group][key] or 0.0 for group, key in keys]
            ax.bar([k + i * width for k in range(len(keys))], values, width, label=name)
        ax.set_xticks([k + 0.4 - width / 2 for k in range(len(keys))], [key for _, key in keys])
        ax.set_ylim(0, 1)
        ax.set_title("Our pipeline beside the baselines")
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # clear of the bars
        save(fig, "comparison.png")
    return written


# --- Markdown -------------------------------------------------------------------------------------
def _fmt(value) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def summary_rows(summary: dict) -> list[tuple[str, str]]:
    """(metric, value) pairs in the order of the `--json` summary."""
    rows = [("questions", str(summary["n"]))]
    for group in ("retrieval", "first_sentence", "answer", "citations", "grounding", "abstention", "latency_ms"):
        for key, value in summary[group].items():
            shown = f"{value:.1f}" if group == "latency_ms" and value is not None else _fmt(value)
            rows.append((f"{group}.{key}", shown))
    return rows


def comparison_table(comparison: dict[str, dict]) -> str:
    """A Markdown table: one row per system, retrieval and answer metrics and latency."""
    columns = [("retrieval", "hit@1"), ("retrieval", "hit@5"), ("retrieval", "mrr@10"),
               ("answer", "exact"), ("answer", "f1"), ("answer", "contains"),
               ("citations", "valid_offsets"), ("latency_ms", "p50")]
    lines = ["| system | " + " | ".join(key for _, key in columns) + " |",
             "| --- |" + " ---: |" * len(columns)]
    for name, summary in comparison.items():
        cells = []
        for group, key in columns:
            value = summary[group][key]
            cells.append(f"{value:.0f} ms" if group == "latency_ms" and value is not None else _fmt(value))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _markdown(summary: dict, records: list[dict], meta: dict, comparison, curve,
              abstain_below, plots: Sequence[Path], is_gold: bool) -> str:
    out = [f"# Evaluation: {meta.get('title', 'qa eval')}", ""]
    if meta.get("command"):
        out += ["```", meta["command"], "```", ""]
    for key, value in meta.items():
        if key not in ("title", "command"):
            out.append(f"- {key}: {value}")
    out += ["", "## Scores", "", "| metric | value |", "| --- | ---: |"]
    out += [f"| {m} | {v} |" for m, v in summary_rows(summary)]
    if comparison:
        out += ["", "## Beside the baselines", "", comparison_table(comparison)]
    if curve and abstain_below is not None:
        out += ["", "## Abstention threshold", "", _threshold_text(curve, abstain_below)]
    if plots:
        out += ["", "## Plots", ""] + [f"![{p.stem}]({p.name})" for p in plots]
    out += ["", "## Failures, by question", ""]
    out += _failures(records, is_gold)
    out += ["", "Every question's record is in `per_question.jsonl`, by `id`."]
    return "\n".join(out) + "\n"


def _threshold_text(curve: list[dict], abstain_below: float) -> str:
    """What the current threshold does, and what another would, in a sentence or two."""
    now = min(curve, key=lambda p: abs(p["threshold"] - abstain_below))
    never = curve[0]  # threshold 0: only questions with nothing to quote abstain
    text = (f"At the current threshold {abstain_below} it answers {_fmt(now['coverage'])} of the questions, "
            f"with answer accuracy {_fmt(now['accuracy'])} (contains, over answerable questions; "
            f"{_fmt(never['accuracy'])} if it never abstained)")
    if now["abstention_recall"] is None:
        return text + ". There are no unanswerable questions here, so this is what abstaining costs."
    best = max(curve, key=lambda p: (p["accuracy"] or 0) + (p["abstention_recall"] or 0))
    return (text + f", abstention precision {_fmt(now['abstention_precision'])} and recall "
            f"{_fmt(now['abstention_recall'])}. The threshold with the best accuracy + abstention recall here "
            f"is {best['threshold']} ({_fmt(best['accuracy'])} + {_fmt(best['abstention_recall'])}); on a "
            "small gold set that is a hint, not a setting.")


def _failures(records: list[dict], is_gold: bool) -> list[str]:
    def short(text: str, n: int = 140) -> str:
        text = " ".join((text or "").split()).replace("|", "\\|")
        return text if len(text) <= n else text[: n - 1] + "…"

    sections: list[tuple[str, list[dict], str]] = []
    if is_gold:
        answerable = [r for r in records if r["answerable"]]
        sections = [
            ("Errors", [r for r in records if r.get("error")], "error"),
            ("Retrieval missed the evidence (not in the top 5)",
             [r for r in answerable if r["gold_spans"] and not r["hit_at_5"]], "query"),
            ("Abstained although the corpus answers", [r for r in answerable if r["abstained"]], "query"),
            ("Answered although the corpus does not answer",
             [r for r in records if not r["answerable"] and not r["abstained"]], "answer"),
            ("Answer does not contain a gold answer",
             [r for r in answerable if not r["abstained"] and not r["contains"]], "answer"),
        ]
    else:
        sections = [("No relevant document in the top 5", [r for r in records if not r["hit_at_5"]], "query")]
    lines = []
    for title, found, shown in sections:
        lines += [f"### {title}: {len(found)}", ""]
        if found:
            lines += [f"| id | question | {shown} |", "| --- | --- | --- |"]
            for r in found[:WORST_SHOWN]:
                asked = short(r.get("question") or r.get("query", ""))
                lines.append(f"| {r['id']} | {asked} | {short(str(r.get(shown) or ''))} |")
            if len(found) > WORST_SHOWN:
                lines.append(f"\n…and {len(found) - WORST_SHOWN} more.")
            lines.append("")
    return lines
