"""A question's misspelt words, read as the retrieved passages spell them.

"Who leads ISIS in Chechnia?" finds its passages (the embedder reads word pieces), but a word
that no document holds counts for nothing in the sentence signals, the question checks take
"Chechnia" for a name the document never gives, and the answer is declined. A word the corpus
does not know, of MIN_LETTERS letters or more, is read as the one word of the retrieved passages
that is a single edit away (a letter added, dropped or changed, or two neighbours swapped). One
edit only, and only one such word: "Slovakia" never becomes "Slovenia", and a word with two
near neighbours is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

MIN_LETTERS = 5  # shorter words have too many neighbours one edit away ("Iran", "Iraq")
_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")


def one_edit_apart(a: str, b: str) -> bool:
    """Whether `b` is `a` with one letter added, dropped or changed, or two neighbours swapped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), len(a))
    if len(a) < len(b):
        return a[i:] == b[i + 1 :]
    return a[i + 1 :] == b[i + 1 :] or (a[i + 2 :] == b[i + 2 :] and a[i : i + 2] == b[i : i + 2][::-1])


def corrected(question: str, passages: Iterable[str], known: Callable[[str], bool]) -> str:
    """`question` with each word that `known` (the corpus) does not hold replaced by the passages'
    word one edit away, where there is exactly one (its case as the passages write it)."""
    spelt: dict[str, str] = {}
    for text in passages:
        for word in _WORD.findall(text):
            spelt.setdefault(word.lower(), word)

    def fix(match: re.Match) -> str:
        word = match.group()
        lowered = word.lower()
        if len(word) < MIN_LETTERS or lowered in spelt or known(word):
            return word
        near = [w for w in spelt if one_edit_apart(lowered, w)]
        return spelt[near[0]] if len(near) == 1 else word

    return _WORD.sub(fix, question)
