"""A question's misspelt words, read as the retrieved passages spell them.

"Who leads ISIS in Chechnia?" finds its passages (the embedder reads word pieces), but a word
that no document holds counts for nothing in the sentence signals, the question checks take
"Chechnia" for a name the documents never give, and the answer is declined. A word the corpus
does not know, of MIN_LETTERS letters or more and no stopword, is read as the one word of the
retrieved passages or of their documents' titles a single slip away: a letter added, dropped or
changed, or two neighbours swapped, never the first letter nor the last. A passage need not name
what it is about ("He produced artificial lightning", in an article titled "Nikola Tesla"), so
the titles' words count too; a possessive is read without its "'s" ("Lanfau's" as "Landau's").
So "Slovakia" never becomes "Slovenia" (two slips), "Gambia" never "Zambia" nor "Petrov"
"Petrova" (a real name of another), and a word with two near neighbours is left as it is. A name
of the corpus's own one inner slip from the one asked ("Austen" for "Austin") is still read as
the corpus's.

A passage seldom holds the very form of a common word that was mistyped ("trhow" of a passage
that says "throwing"), so a lower-case word that no passage holds one slip away is read as the
one common English word one inner slip away (`common_words`: the whole words of the bundled
encoder's vocabulary, and the words Wikipedia writes in lower case that it lacks), unless it is
itself a common word or one with an ending added, taken off or changed ("wording", "waged").
Capitalised words are names, and only the corpus spells those; a word of other letters than a
to z ("façade") is left as it is.

`Assistant.ask` searches again with the words corrected, and the answer's `query` shows them;
in LLM mode the model still reads the question as it was asked.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from qa.text import STOPWORDS

MIN_LETTERS = 5  # shorter words have too many neighbours one slip away ("Iran", "Iraq")
SHORTEST_COMMON = MIN_LETTERS - 1  # a word of five letters may be one of four with a letter doubled ("namee")
WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")  # a word of letters, with its hyphens and apostrophes
ENDINGS = ("ing", "ed", "es", "s", "d", "ly", "er")  # "wording" is "word" with an ending: a real word


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


def _inner_slip(a: str, b: str) -> bool:
    """One slip apart, with the first and the last letter where they were."""
    return a[0] == b[0] and a[-1] == b[-1] and one_edit_apart(a, b)


def _possessive(word: str) -> tuple[str, str]:
    """The word and its possessive ending: ("Landau", "'s") of "Landau's"; ("Landau", "") of "Landau"."""
    return (word[:-2], word[-2:]) if len(word) > 2 and word[-2] in "'’" and word[-1] in "sS" else (word, "")


WORDS_FILE = Path(__file__).parent / "models" / "names" / "words.txt"


def vocabulary_words() -> frozenset[str]:
    """The whole lower-case words of the bundled encoder's vocabulary: about 20,000 of four
    letters or more, names among them ("france")."""
    from index.embedding import bundled_model_path

    lines = (Path(bundled_model_path()) / "vocab.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(w for w in lines if len(w) >= SHORTEST_COMMON and w.isalpha() and w.isascii() and w.islower())


class CommonWords:
    """The words a lower-case slip is read as, indexed by first and last letter: the only ones an
    inner slip can reach, so a slip is looked up among a few dozen, not all of them."""

    def __init__(self, words: Iterable[str]):
        self.words = frozenset(words)
        self._by_ends: dict[tuple[str, str], list[str]] = {}
        for w in self.words:
            self._by_ends.setdefault((w[0], w[-1]), []).append(w)

    def holds(self, word: str) -> bool:
        """Whether `word` is one of them, or one with an ending of ENDINGS taken off, put on, or
        changed for another ("inventing" of "invented")."""
        cut = [word[: -len(e)] for e in ENDINGS if word.endswith(e) and len(word) - len(e) >= 3]
        stems = {word, *cut, *(c + "e" for c in cut)}
        return any(f in self.words for stem in stems for f in (stem, *(stem + e for e in ENDINGS)))

    def neighbour(self, word: str) -> str | None:
        """The one of them one inner slip from lower-case `word`, if `word` is none of them itself."""
        if self.holds(word):
            return None
        near = [w for w in self._by_ends.get((word[0], word[-1]), ()) if _inner_slip(word, w)]
        return near[0] if len(near) == 1 else None


@functools.cache
def common_words() -> CommonWords:
    """The encoder's whole words (`vocabulary_words`) and the common words of Wikipedia it lacks
    (`WORDS_FILE`, built by training/build_names.py), read and indexed once."""
    return CommonWords(vocabulary_words() | frozenset(WORDS_FILE.read_text(encoding="utf-8").split()))


def corrections(text: str, passages: Iterable[str], known: Callable[[str], bool],
                common: CommonWords | None = None) -> dict[str, str]:
    """For each word of `text` that `known` (the corpus) does not hold, the word of `passages` (the
    retrieved passages and their titles) one inner slip away, where there is exactly one:
    {"Chechnia": "Chechnya", "Lanfau's": "Landau's"}. In the case it was asked in: a lower-case
    word stays lower case. A lower-case word that no passage holds one slip away is read as the
    one word of `common` (`common_words`) one slip away: {"trhow": "throw"}. The passages are
    read only when a word is unknown."""
    # Each word is looked up once: the query and the turn are often one text.
    asked = {w for w in set(WORD.findall(text)) if len(base := _possessive(w)[0]) >= MIN_LETTERS
             and base.lower() not in STOPWORDS and not known(w)}  # "There's" is no possessive
    if not asked:
        return {}
    spelt: dict[str, str] = {}
    for passage in passages:
        for word in (_possessive(w)[0] for w in WORD.findall(passage)):
            if word.lower() not in spelt or spelt[word.lower()].isupper():  # "Ministry", not a heading's "MINISTRY"
                spelt[word.lower()] = word
    found = {}
    for word in asked:
        base, ending = _possessive(word)
        if base.lower() in spelt:  # the passages hold it as it is
            continue
        near = [w for w in spelt if _inner_slip(base.lower(), w)]
        if len(near) == 1:
            found[word] = (near[0] if base.islower() else spelt[near[0]][:1].upper() + spelt[near[0]][1:]) + ending
        elif not near and common and base.isascii() and base.isalpha() and base.islower() \
                and (common_word := common.neighbour(base)):
            found[word] = common_word + ending
    return found


def corrected(text: str, fixes: dict[str, str]) -> str:
    """`text` with the words of `fixes` replaced, whole words only."""
    return WORD.sub(lambda m: fixes.get(m.group(), m.group()), text) if fixes else text
