"""Word-level helpers shared by answering, verification and evaluation."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from index.sentences import join_subscripts

_WORD = re.compile(r"\w+(?:[-'’]\w+)*", re.UNICODE)
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself no nor not now of off on once only or other our ours ourselves out over
    own same she should so some such than that the their theirs them themselves then there these
    they this those through to too under until up very was we were what when where which while who
    whom whose why will with would you your yours yourself also did does many much according said
    says tell told""".split()
)


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    r"""Lower-cased words; a formula whose subscript was put on a line of its own ("CO\n2") is one."""
    return _WORD.findall(join_subscripts(text).lower())


def content_terms(text: str) -> list[str]:
    """Stemmed words that carry meaning: no stopwords, no punctuation."""
    return stem_words([w for w in words(text) if w not in STOPWORDS])


def stem_words(tokens: list[str]) -> list[str]:
    """Each word as the English Snowball stemmer gives it ("opened" -> "open")."""
    return _stemmer().stemWords(tokens)


def clean_question(text: str) -> str:
    """Control characters become spaces; runs of white space fold to one."""
    text = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text)
    return re.sub(r"\s+", " ", text).strip()


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """A count with its noun in the right number: "1 chunk", "21 chunks", "0 documents"."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
