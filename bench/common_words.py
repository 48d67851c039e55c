"""What reading a mistyped lower-case word as a common word mends, and what it breaks.

    python bench/common_words.py ../shared/bench --articles 60

`spelling.corrections` reads a word the corpus does not know as the one word of the retrieved
passages one slip away, and a lower-case word that no passage holds so as the one common word
one slip away (`spelling.common_words`). This takes SQuAD 1.1 train articles drawn at random
(seeded), and the first three questions of each of their paragraphs. The corpus is the article
(its words are what it knows), the passages are the question's paragraph and the article's
title. Two counts, each with the passages alone and with the common words beside them:
- each question with one slip (`misspelt`, seed 0) in one lower-case word: whether the slip is
  mended (read as the word it was), read as another word, or left as typed;
- each question as written: the words corrected that only the common words correct. Most are the
  question's own slips ("enviornment"); the others are words the lists lack, read as another.
The common words were built from the same training paragraphs, so these are fitting figures.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.eval.sentence_choice import misspelt  # noqa: E402
from qa.spelling import WORD, common_words, corrections  # noqa: E402
from training.support_data import squad_train_articles  # noqa: E402


def outcome(typed: str, meant: str, fixes: dict[str, str]) -> str:
    """What became of the slip `typed` (of the word `meant`)."""
    if typed not in fixes:
        return "left as typed"
    return "mended" if fixes[typed] == meant else "read as another word"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bench", type=Path, help="the benchmark folder (holds squad-v1.1-train/)")
    parser.add_argument("--articles", type=int, default=60)
    parser.add_argument("--seed", type=int, default=3, help="which articles")
    args = parser.parse_args()
    articles = random.Random(args.seed).sample(squad_train_articles(args.bench), args.articles)
    common = common_words()
    slips = {"passages": Counter(), "passages and common words": Counter()}
    added: Counter = Counter()
    questions = 0
    for article in articles:
        title = article["title"].replace("_", " ")
        corpus = {w.lower() for p in article["paragraphs"] for w in WORD.findall(p["context"])}
        corpus |= {w.lower() for w in WORD.findall(title)}
        known = lambda word: word.lower() in corpus  # noqa: E731
        for paragraph in article["paragraphs"]:
            passages = [paragraph["context"], title]
            for qa in paragraph["qas"][:3]:
                questions += 1
                written = qa["question"]
                before, after = corrections(written, passages, known), corrections(written, passages, known, common)
                added.update((w, f) for w, f in after.items() if w not in before)
                slipped = misspelt(written, 0)
                changed = [(a, b) for a, b in zip(WORD.findall(written), WORD.findall(slipped)) if a != b]
                if len(changed) != 1 or not changed[0][1].islower():
                    continue
                meant, typed = changed[0]
                for name, words in (("passages", None), ("passages and common words", common)):
                    slips[name][outcome(typed, meant, corrections(slipped, passages, known, words))] += 1

    print(f"{questions} questions of {args.articles} SQuAD 1.1 train articles (seed {args.seed}).\n")
    print(f"One slip in a lower-case word ({sum(slips['passages'].values())} questions):\n")
    print("| read with | mended | read as another word | left as typed |\n| --- | ---: | ---: | ---: |")
    for name, counts in slips.items():
        print(f"| {name} | {counts['mended']} | {counts['read as another word']} | {counts['left as typed']} |")
    print(f"\nAs written: {sum(added.values())} words corrected by the common words alone:\n")
    print(", ".join(f"{w} → {f}" + (f" ({n})" if n > 1 else "") for (w, f), n in added.most_common()))


if __name__ == "__main__":
    main()
