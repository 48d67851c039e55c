"""The list of common names (`training/build_names.py`): a word is a name when Wikipedia writes it
capitalised inside its sentences nearly always. Checked on a few paragraphs written here."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "training"))

from build_names import case_counts, name_list, word_list  # noqa: E402

PARAGRAPHS = [
    "The treaty was signed in Paris. Delegates from Paris and Lyon met in May. Paris hosted them.",
    "Paris is large. The river flows through Lyon; the River Rhône meets the river Saône in Lyon.",
    "NATO met in Lyon and Paris. Troops may leave in May. The NATO summit was held in May.",
    "It rained in June, and in June and in June. They met in The Hague, at The Hague, by The Hague.",
    "It was held at Ur, by Ur, in Ur.",
]


def test_a_word_written_capitalised_inside_sentences_is_a_name():
    capitalised, lower = case_counts(PARAGRAPHS)
    assert capitalised["paris"] == 3  # not as a sentence's first word ("Paris is large")
    assert lower["river"] == 2 and capitalised["river"] == 1
    assert capitalised["nato"] == 0 and lower["nato"] == 0  # all capitals says nothing of case
    found = name_list(capitalised, lower)
    assert "paris" in found and "lyon" in found
    assert "river" not in found  # written in lower case too
    assert "may" not in found  # written in lower case too, and a month
    assert capitalised["june"] == 3 and "june" not in found  # a month: the question checks read it as a date
    assert capitalised["the"] == 3 and "the" not in found  # a stopword
    assert capitalised["ur"] == 3 and "ur" not in found  # too short to tell
    assert "saône" not in found  # seen once: too rare to say


def test_a_word_written_in_lower_case_often_enough_that_the_encoder_lacks_is_a_common_word():
    more = ("The river floods, the river falls. A river, a treaty. The floods rose, and floods fell. "
            "A café, a café, a café.")
    _, lower = case_counts(PARAGRAPHS + [more])
    assert lower["river"] == 5 and lower["floods"] == 3 and lower["treaty"] == 2
    found = word_list(lower, known=frozenset({"river"}))
    assert "floods" in found
    assert "river" not in found  # the encoder's vocabulary already holds it
    assert "treaty" not in found  # seen twice: too rare to say
    assert lower["café"] == 3 and "café" not in found  # not of the letters a to z
    assert all(len(w) >= 4 and w.isalpha() for w in found)
