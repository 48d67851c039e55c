"""How long each `qa` command takes from a cold start, before and after, in one run.

    python bench/startup.py --base 2a5d77c --runs 3

Each `--base` commit (a temporary git worktree) and this tree run `python -m qa.cli` in fresh
processes, each against a sample-corpus index that its own code built: `--help`, `docs`, `cite`
and `ask` (extractive, so that no LLM is asked). The figure is the median wall time of `--runs`
runs, interleaved between the trees, with the int8 models already made and cached (their first
making is a one-time cost, reported apart in bench/RESULTS-embedding.md).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CITATION = "000_3cdf5aa040d08496.txt:0-60"  # any span of a sample document
QUESTION = "How many people have left Chechnya to fight in Syria?"
COMMANDS = {"qa --help": ["--help"], "qa docs": ["docs"], "qa cite": ["cite", CITATION],
            "qa ask (cold)": ["ask", "--mode", "extractive", QUESTION]}


def run(code: Path, index_dir: Path, args: list[str]) -> float:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(code), "QA_INDEX_DIR": str(index_dir)}
    began = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "qa.cli", *args], cwd=code, env=env, capture_output=True, text=True)
    took = time.perf_counter() - began
    if result.returncode not in (0, 1):  # 1: an abstention or an answer some check did not back
        raise SystemExit(f"{' '.join(args)} failed in {code}:\n{result.stderr[-1500:]}")
    return took


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", nargs="+", required=True, help="commits to time before this tree")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        trees = {}
        for base in args.base:
            subprocess.run(["git", "worktree", "add", "--detach", str(tmp / base), base], cwd=ROOT, check=True,
                           capture_output=True)
            trees[base] = tmp / base
        trees["this tree"] = ROOT
        try:
            for name, code in trees.items():
                run(code, tmp / f"index-{name}", ["ingest", str(ROOT / "docs_corpus")])
            times: dict[str, dict[str, list[float]]] = {name: {c: [] for c in COMMANDS} for name in trees}
            for _ in range(args.runs):
                for command, words in COMMANDS.items():
                    for name, code in trees.items():
                        times[name][command].append(run(code, tmp / f"index-{name}", words))
        finally:
            for base in args.base:
                subprocess.run(["git", "worktree", "remove", "--force", str(tmp / base)], cwd=ROOT)
    names = list(trees)
    lines = ["| command | " + " | ".join(names) + " |", "| --- | " + " | ".join("---:" for _ in names) + " |"]
    for command in COMMANDS:
        lines.append(f"| `{command}` | " + " | ".join(f"{statistics.median(times[n][command]):.2f} s" for n in names)
                     + " |")
    load = {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in os.getloadavg()]}
    print(f"`python bench/startup.py {' '.join(sys.argv[1:] if argv is None else argv)}`\n")
    print("\n".join(lines))
    print(f"\nload average (1, 5, 15 min): before {load['before']}, after {load['after']}")
    print(json.dumps({n: {c: statistics.median(t) for c, t in times[n].items()} for n in names}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
