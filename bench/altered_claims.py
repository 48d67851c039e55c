"""Does the claim check tell a sentence from its contradiction? Before and after, in one run.

    python bench/altered_claims.py ../shared/bench --base a2d48b9 --out bench/RESULTS-altered-claims.md

Claims are sentences of text that nothing here is fitted to: the SQuAD 1.1 development articles
that `train_articles.txt` does not list, and the sample corpus's own articles. Each sentence is
sent to `verify` with its own paragraph as the only passage, as it stands (it must stay
supported) and altered one way at a time (each must be flagged):

- number: a figure changed (a year by 1-9 years, a count or share by 30-300%);
- name: a name replaced by another name of the same article that the sentence does not hold;
- negation: "not" added after the sentence's first auxiliary verb ("was" -> "was not").

Each `--base` commit runs in a git worktree of its own, this tree last, over the same claims.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
KINDS = ("true", "number", "name", "negation")
_AUXILIARY = re.compile(r"\b(is|was|are|were|has|have|had|can|could|will|would|should|may|might|must|does|did)\b")
_FIGURE = re.compile(r"(?<![\w.,])\d{1,3}(?:,\d{3})+(?![\d,])|(?<![\w.,])\d+(?![\d,])")
_NAME = re.compile(r"(?<=[a-z,;] )[A-Z][a-z]{2,}")


def sentences_of(text: str) -> list[tuple[int, int]]:
    from index.sentences import sentence_spans  # imported late: a worker imports another tree's

    return sentence_spans(text)


def squad_paragraphs(bench: Path) -> list[tuple[str, str]]:
    """(article, paragraph) of the development articles that training never reads."""
    from training.support_data import train_articles

    trained = set(train_articles(bench))
    data = json.loads((bench / "squad-v1.1-dev" / "dev-v1.1.reconstructed.json").read_text("utf-8"))["data"]
    return [(a["title"], p["context"]) for a in data if a["title"] not in trained for p in a["paragraphs"]]


def sample_paragraphs() -> list[tuple[str, str]]:
    found = []
    for path in sorted((ROOT / "docs_corpus").glob("*.txt")):
        for paragraph in path.read_text("utf-8").split("\n"):
            if len(paragraph.split()) >= 12:
                found.append((path.name, paragraph))
    return found


def alter(sentence: str, kind: str, names: list[str], rng: random.Random) -> str | None:
    """The sentence altered one way, or None when it offers nothing to alter that way."""
    if kind == "true":
        return sentence
    if kind == "number":
        figures = list(_FIGURE.finditer(sentence))
        if not figures:
            return None
        match = rng.choice(figures)
        value = int(match.group().replace(",", ""))
        if 1000 <= value <= 2100 and "," not in match.group():
            changed = value + rng.choice([-1, 1]) * rng.randint(1, 9)
            text = str(changed)
        else:
            changed = max(1, round(value * rng.choice([0.3, 0.5, 1.5, 2, 3]))) if value > 1 else value + rng.randint(2, 9)
            if changed == value:
                changed = value + 7
            text = f"{changed:,}" if "," in match.group() else str(changed)
        return sentence[: match.start()] + text + sentence[match.end():]
    if kind == "name":
        found = [m for m in _NAME.finditer(sentence)]
        pool = [n for n in names if n not in sentence]
        if not found or not pool:
            return None
        match = rng.choice(found)
        return sentence[: match.start()] + rng.choice(pool) + sentence[match.end():]
    if kind == "negation":
        match = _AUXILIARY.search(sentence)
        if not match or re.search(r"\b(not|n't|never|no)\b", sentence):
            return None
        return sentence[: match.end()] + " not" + sentence[match.end():]
    raise ValueError(kind)


def build(paragraphs: list[tuple[str, str]], per_kind: int, seed: int, corpus: str) -> list[dict]:
    """Up to `per_kind` claims of each kind, spread over the paragraphs in a seeded order."""
    from qa.text import STOPWORDS

    rng = random.Random(seed)
    names_of: dict[str, set[str]] = defaultdict(set)
    for source, paragraph in paragraphs:
        names_of[source].update(n for n in _NAME.findall(paragraph) if n.lower() not in STOPWORDS)
    order = list(range(len(paragraphs)))
    rng.shuffle(order)
    claims, counts = [], dict.fromkeys(KINDS, 0)
    for i in order:
        source, paragraph = paragraphs[i]
        spans = [(s, e) for s, e in sentences_of(paragraph) if len(paragraph[s:e].split()) >= 8]
        if not spans:
            continue
        start, end = rng.choice(spans)
        sentence = paragraph[start:end]
        for kind in KINDS:
            if counts[kind] >= per_kind:
                continue
            claim = alter(sentence, kind, sorted(names_of[source]), rng)
            if claim is not None and (kind == "true" or claim != sentence):
                claims.append({"corpus": corpus, "kind": kind, "claim": claim, "passage": paragraph})
                counts[kind] += 1
        if all(c >= per_kind for c in counts.values()):
            break
    return claims


def worker(tree: str, claims_path: str, out_path: str) -> None:
    """Verify every claim with the code of `tree`; write one verdict a line."""
    sys.path.insert(0, tree)
    os.chdir(tree)
    from qa.config import Config
    from qa.service import Assistant

    assistant = Assistant(Config(index_dir=Path(tempfile.mkdtemp()), corpus_dir=Path(tree) / "docs_corpus"))
    with open(claims_path, encoding="utf-8") as src, open(out_path, "w", encoding="utf-8") as out:
        for line in src:
            claim = json.loads(line)
            result = assistant.verify(claim["claim"], passages=[claim["passage"]]).to_dict()
            sentence = result["sentences"]
            out.write(json.dumps({"supported": result["supported"],
                                  "conflicts": [c for s in sentence for c in s.get("conflicts", [])]}) + "\n")


def run(tree: Path, claims_path: Path) -> list[dict]:
    out = claims_path.with_suffix(f".{abs(hash(str(tree)))}.out")
    subprocess.run([sys.executable, __file__, "--worker", str(tree), str(claims_path), str(out)], check=True)
    return [json.loads(line) for line in out.read_text("utf-8").splitlines()]


def table(claims: list[dict], results: dict[str, list[dict]]) -> str:
    lines = ["| claims | n | " + " | ".join(results) + " |", "| --- | ---: |" + " ---: |" * len(results)]
    for corpus in dict.fromkeys(c["corpus"] for c in claims):
        for kind in KINDS:
            rows = [i for i, c in enumerate(claims) if c["corpus"] == corpus and c["kind"] == kind]
            if not rows:
                continue
            what = "stay supported" if kind == "true" else "flagged"
            cells = []
            for verdicts in results.values():
                hits = sum((verdicts[i]["supported"]) == (kind == "true") for i in rows)
                cells.append(f"{hits / len(rows):.3f}")
            lines.append(f"| {corpus}: {kind} ({what}) | {len(rows)} | " + " | ".join(cells) + " |")
        altered = [i for i, c in enumerate(claims) if c["corpus"] == corpus and c["kind"] != "true"]
        cells = [f"{sum(not v[i]['supported'] for i in altered) / len(altered):.3f}" for v in results.values()]
        lines.append(f"| {corpus}: all altered (flagged) | {len(altered)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        worker(*argv[1:4])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bench", type=Path, help="the folder of public benchmark data")
    parser.add_argument("--base", nargs="*", default=[], help="earlier commits to measure beside this tree")
    parser.add_argument("--per-kind", type=int, default=150, help="claims of each kind from SQuAD")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, help="write the table here as Markdown")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    claims = build(squad_paragraphs(args.bench), args.per_kind, args.seed, "held-out SQuAD")
    claims += build(sample_paragraphs(), args.per_kind // 3, args.seed, "sample corpus")
    with tempfile.TemporaryDirectory() as tmp:
        claims_path = Path(tmp) / "claims.jsonl"
        claims_path.write_text("".join(json.dumps(c) + "\n" for c in claims), "utf-8")
        results = {}
        for commit in args.base:
            tree = Path(tmp) / f"tree-{commit}"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), commit],
                           check=True, capture_output=True)
            try:
                results[f"before ({commit})"] = run(tree, claims_path)
            finally:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
        results["after"] = run(ROOT, claims_path)
    report = table(claims, results)
    command = "python bench/altered_claims.py BENCH " + " ".join(
        a for a in (f"--base {' '.join(args.base)}" if args.base else "", f"--per-kind {args.per_kind}",
                    f"--seed {args.seed}") if a)
    print(report)
    if args.out:
        kinds = defaultdict(int)
        for verdict in results["after"]:
            for conflict in verdict["conflicts"]:
                kinds[conflict["kind"]] += 1
        args.out.write_text(f"# Altered claims: before and after\n\n{__doc__.split(chr(10) * 2, 1)[1]}\n"
                            f"Command: `{command}`\n\n{report}\n\nConflicts named after: "
                            + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
