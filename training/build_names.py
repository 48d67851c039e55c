"""Build the list of words that are names even when a question writes them in lower case, and the
list of common words that the bundled encoder's vocabulary lacks.

    python training/build_names.py ../shared/bench              # writes qa/models/names/{names,words}.txt
    python training/build_names.py ../shared/bench --out FILE --words-out FILE

"what is the capital of france" names France, but nothing in the question says so: a question in
lower case has no capitals to tell a name by (`consistency.names`). This counts, over every
paragraph of the SQuAD 1.1 training set (Wikipedia, 442 articles; no development article), how
often each word is written capitalised inside a sentence (not its first word, not all capitals)
and how often in lower case. A word seen capitalised at least MIN_SEEN times and in lower case at
most MAX_LOWER of the time is a name: "france", "obama", "tennessee"; not "may", "bill", "river".

The same counts give the common words (`spelling.common_words`): a word of SHORTEST_COMMON
letters or more, all ASCII, seen in lower case at least MIN_SEEN times, is a word people write;
those that the bundled encoder's vocabulary does not hold as a whole word ("lessen", "prosper",
"striations") are kept, so that a real word is never taken for a slip of its neighbour.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.sentences import sentence_spans  # noqa: E402
from qa.consistency import LETTERS, MONTHS, NAMES_FILE  # noqa: E402
from qa.spelling import SHORTEST_COMMON, WORDS_FILE, vocabulary_words  # noqa: E402
from qa.text import STOPWORDS  # noqa: E402
from training.support_data import squad_train_articles, squad_train_file  # noqa: E402

MIN_SEEN = 3  # a word seen capitalised (for a name) or in lower case (for a common word) fewer times is too rare to say
MAX_LOWER = 0.05  # "china" is written "china" 5 times of 884: still a name
MIN_LETTERS = 3
MONTHS_SHORT = frozenset("jan feb mar apr jun jul aug sep sept oct nov dec".split())  # "Aug 2015" is a date


def case_counts(paragraphs: list[str]) -> tuple[Counter, Counter]:
    """(capitalised, lower case): how often each lower-cased word is written each way inside a sentence."""
    capitalised, lower = Counter(), Counter()
    for text in paragraphs:
        for start, end in sentence_spans(text):
            for word in LETTERS.findall(text[start:end])[1:]:
                if len(word) > 1 and word.isupper():  # "NATO", "USA": an acronym says nothing of case
                    continue
                (capitalised if word[0].isupper() else lower)[word.lower()] += 1
    return capitalised, lower


def name_list(capitalised: Counter, lower: Counter) -> list[str]:
    """The words that are names by their counts (`case_counts`), in order: seen capitalised
    MIN_SEEN times or more, in lower case MAX_LOWER of the time or less; no stopword, and no month
    or day of the week (the question checks read them as dates; "may" and "march" are words too)."""
    return sorted(w for w, n in capitalised.items()
                  if n >= MIN_SEEN and lower[w] <= MAX_LOWER * (n + lower[w]) and len(w) >= MIN_LETTERS
                  and w not in STOPWORDS and w not in MONTHS and w not in MONTHS_SHORT)


def word_list(lower: Counter, known: frozenset[str]) -> list[str]:
    """The common words by their counts (`case_counts`) that `known` does not hold, in order."""
    return sorted(w for w, n in lower.items()
                  if n >= MIN_SEEN and len(w) >= SHORTEST_COMMON and w.isascii() and w.isalpha() and w not in known)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bench", type=Path, help="the benchmark folder (holds squad-v1.1-train/)")
    parser.add_argument("--out", type=Path, default=NAMES_FILE)
    parser.add_argument("--words-out", type=Path, default=WORDS_FILE)
    args = parser.parse_args()
    source = squad_train_file(args.bench)
    if not source.is_file():
        parser.error(f"{source} is missing")
    articles = squad_train_articles(args.bench)
    paragraphs = [p["context"] for a in articles for p in a["paragraphs"]]
    capitalised, lower = case_counts(paragraphs)
    for out, found, what in ((args.out, name_list(capitalised, lower), "names"),
                             (args.words_out, word_list(lower, vocabulary_words()), "common words")):
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("\n".join(found) + "\n", encoding="utf-8")
        print(f"{len(found)} {what} from {len(paragraphs)} paragraphs of {len(articles)} articles -> {out}")


if __name__ == "__main__":
    main()
