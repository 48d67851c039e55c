"""`qa eval`: score a gold set (or a BEIR set) and print a table or the JSON summary."""

from __future__ import annotations

import json
import shlex
import sys
from datetime import datetime, timezone
from pathlib import Path

from qa.config import Config
from qa.errors import BadInputError
from qa.eval.beir import beir_config, load_beir, run_beir, summarize_beir
from qa.eval.gold import locate, read_gold
from qa.eval.report import summary_rows, write_report
from qa.eval.runner import (
    AssistantPipeline,
    evaluate,
    model_support,
    recording_assistant,
    summarize,
)
from qa.service import MAX_TOP_K, Assistant


def run(args, config: Config) -> int:
    """The CLI's entry: args carry gold, beir, limit, report, top_k, mode, json."""
    _check(args, config)
    progress = sys.stderr.isatty()
    if args.beir is not None:
        beir = load_beir(args.beir)
        beir_cfg = beir_config(config, beir)
        results = run_beir(Assistant(beir_cfg), beir, args.limit, progress)
        summary = summarize_beir(results)
        title = f"BEIR set {beir.name}"
        meta = {"title": title, "index": str(beir_cfg.index_dir), "queries": len(results)}
        abstain_below, errors = None, 0
    else:
        assistant = recording_assistant(config)
        questions = read_gold(args.gold)[: args.limit]
        questions = locate(questions, assistant.reader.text)
        pipeline = AssistantPipeline(assistant, args.top_k, args.mode)
        supports = model_support(assistant.support_model)
        results = evaluate(pipeline, questions, supports, progress=progress)
        summary = summarize(results)
        answerable = sum(q.answerable for q in questions)
        title = f"{args.gold} ({answerable} answerable, {len(questions) - answerable} unanswerable)"
        modes = sorted({r.mode for r in results if r.mode})
        meta = {"title": title, "mode": ", ".join(modes) or args.mode or config.mode,
                "top_k": args.top_k or config.top_k, "abstain_below": assistant.abstain_below}
        abstain_below = assistant.abstain_below
        errors = sum(1 for r in results if r.error)

    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(_table(title, summary))
    if args.report is not None:
        meta = {**meta, "command": _command_line(args),
                "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
        written = write_report(args.report, summary, [r.to_dict() for r in results], meta,
                               abstain_below=abstain_below)
        print(f"qa: report written to {args.report} ({len(written)} files)", file=sys.stderr)
    if errors:
        print(f"qa: {errors} question(s) failed with an error; --report lists them", file=sys.stderr)
        return 1
    return 0


def _check(args, config: Config) -> None:
    if (args.gold is None) == (args.beir is None):
        raise BadInputError("qa eval needs a gold JSONL file or --beir DIR (one of the two)")
    if args.limit is not None and args.limit < 1:
        raise BadInputError("--limit must be 1 or more")
    if args.top_k is not None and not 1 <= args.top_k <= MAX_TOP_K:
        raise BadInputError(f"--top-k must be a whole number from 1 to {MAX_TOP_K}")
    if args.mode == "llm" and config.llm is None:
        raise BadInputError("LLM mode needs an endpoint: set QA_LLM_BASE_URL (and QA_LLM_MODEL)")
    if args.beir is not None and not Path(args.beir).is_dir():
        raise BadInputError(f"--beir {args.beir}: no such folder")


def _table(title: str, summary: dict) -> str:
    """One line per group, in the order of the JSON summary."""
    lines = [f"qa eval: {title}"]
    groups: dict[str, list[str]] = {}
    for metric, value in summary_rows(summary)[1:]:
        group, key = metric.split(".", 1)
        groups.setdefault(group, []).append(f"{key} {value}")
    lines.append(f"{'questions':<11} {summary['n']}")
    # A group with nothing that applies (no answers in a BEIR set) is left out; --json keeps it.
    lines += [f"{group:<11} " + "   ".join(cells) for group, cells in groups.items()
              if any(not cell.endswith(" –") for cell in cells)]
    return "\n".join(lines)


def _command_line(args) -> str:
    parts = ["qa", "eval"]
    parts += [str(args.gold)] if args.gold is not None else ["--beir", str(args.beir)]
    for flag, value in (("--limit", args.limit), ("--top-k", args.top_k), ("--mode", args.mode),
                        ("--report", args.report)):
        if value is not None:
            parts += [flag, str(value)]
    return shlex.join(parts)
