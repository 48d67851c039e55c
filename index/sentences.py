"""Sentence spans with exact character offsets.

Hand-written rather than llama-index's splitter: that one rebuilds chunk text from its pieces and
finds offsets afterwards, which drifts where whitespace is folded; here every span indexes the
original text, so a citation is always `text[start:end]`.
"""

from __future__ import annotations

import re

# Words whose trailing period does not end a sentence.
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st mt ft gen col lt sgt capt gov sen rep rev vs etc inc ltd co corp "
    "jan feb mar apr jun jul aug sep sept oct nov dec approx dept est fig al e.g i.e a.m p.m u.s "
    "u.k u.n".split()
)
# A sentence ends at . ! ? or … plus any closing quotes or brackets, before white space.
_END = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s)|\n")


def _ends_sentence(text: str, dot_end: int) -> bool:
    """Whether the terminator that ends at `dot_end` really closes a sentence."""
    following = text[dot_end : dot_end + 3].lstrip()
    if following[:1].islower():  # '"Is it true?" she asked.' and 'at 8 a.m. on Sunday'
        return False
    if "." not in text[max(0, dot_end - 3) : dot_end]:
        return True
    word_start = dot_end
    while word_start > 0 and not text[word_start - 1].isspace():
        word_start -= 1
    word = text[word_start:dot_end].rstrip("\"'”’»)]").rstrip(".").lower().lstrip("(\"'“‘«")
    return not (word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()))


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Split `text[start:end]` into sentences: (start, end) pairs with no surrounding white space."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    cursor = start
    for match in _END.finditer(text, start, end):
        stop = match.end() if match.group() != "\n" else match.start()
        if match.group() != "\n" and not _ends_sentence(text, stop):
            continue
        _append_trimmed(text, cursor, stop, spans)
        cursor = match.end()
    _append_trimmed(text, cursor, end, spans)
    return spans


def _append_trimmed(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))
