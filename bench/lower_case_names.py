"""How often a question's names rule out its own paragraph, and another, in each style.

    python bench/lower_case_names.py ../shared/bench --questions 3000

`consistency.question_conflicts` declines for a sentence whose document names none of the names
the question asks about. A question in lower case writes its names in lower case, and is read
for them with the list of common names (`training/build_names.py`). This asks SQuAD 1.1 train
questions (`support_data.squad_train_questions`) as written and in keyword style
(`keyword_style`: lower case) of their own paragraph, where a name conflict is a wrong decline,
and of another paragraph of their article, where it is a right one. The list was built from the
same training paragraphs, so these are fitting figures; `bench/sentence_choice.py` measures the
product on held-out articles.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.consistency import Context, question_conflicts  # noqa: E402
from qa.eval.sentence_choice import keyword_style  # noqa: E402
from training.support_data import paragraphs_of, squad_train_questions  # noqa: E402


def name_conflict(question: str, title: str, paragraph: str) -> bool:
    return any(c.kind == "name" for c in question_conflicts(question, "", Context.of([title, paragraph])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bench", type=Path, help="the benchmark folder (holds squad-v1.1-train/)")
    parser.add_argument("--questions", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=5, help="which other paragraph each question is asked of")
    args = parser.parse_args()
    questions = squad_train_questions(args.bench, args.questions)
    paragraphs = paragraphs_of(questions)
    print(f"{'style':<10}{'questions':>10}{'own paragraph':>15}{'another':>10}{'of':>6}")
    for style in ("as asked", "keyword"):
        rng = random.Random(args.seed)
        own = other = asked_elsewhere = 0
        for q in questions:
            question = q.question if style == "as asked" else keyword_style(q.question)
            title = q.article.split(":", 1)[-1].replace("_", " ")
            own += name_conflict(question, title, q.context)
            if others := [p for p in paragraphs[q.article] if p != q.context]:
                asked_elsewhere += 1
                other += name_conflict(question, title, rng.choice(others))
        print(f"{style:<10}{len(questions):>10}{own / len(questions):>15.3f}{other / max(asked_elsewhere, 1):>10.3f}"
              f"{asked_elsewhere:>6}")


if __name__ == "__main__":
    main()
