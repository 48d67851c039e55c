"""Which sentence an answer quotes first, against the plainest baseline, and questions as people type them.

- `nearest_sentence`: the baseline that any sentence choice must beat. Of the sentences of the
  passages an answer was made from (`extractive.candidate_sentences`, the ones the answerer chose
  from), the one whose embedding is closest to the question's (the bundled embedder's cosine).
- `first_sentence_hits`: whether the answer's first citation, and the baseline's sentence, overlap
  a gold evidence span; `qa eval` reports both as `first_sentence` (qa/eval/README.md).
- `keyword_style`: a question rewritten as a search box sees it: lower case, no punctuation,
  function words dropped, word order partly shuffled; seeded, so a set rewrites the same way every run.
- `misspelt`: a question with one slip of the fingers in one of its longer words; seeded too.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence

import numpy as np

from index.documents import Span

from qa import extractive
from qa.eval import metrics
from qa.extractive import Embed
from qa.results import Answer, Passage
from qa.text import STOPWORDS, words

# Question words that a keyword query sometimes keeps ("how african americans were immigrated").
_QUESTION_WORDS = ("what", "which", "who", "whom", "whose", "when", "where", "why", "how")
KEEP_QUESTION_WORD = 0.5  # the share of rewrites that keep a question word they start with
_SLIPPED = re.compile(r"[A-Za-z]{5,}")  # the words a slip may fall in: letters only, five or more
_KEY_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def nearest_sentence(question: str, passages: Sequence[Passage], texts: dict[str, str], embed: Embed) -> Span | None:
    """The candidate sentence with the highest cosine to the question; the first of equals; None
    when the passages hold no sentence."""
    candidates = extractive.candidate_sentences(list(passages), texts)
    if not candidates:
        return None
    sentences = [texts[p.doc_id][s:e] for p, _, s, e in candidates]
    vectors = embed([question, *sentences])
    best = int(np.argmax(vectors[1:] @ vectors[0]))
    passage, _, start, end = candidates[best]
    return Span(passage.doc_id, start, end)


def first_sentence_hits(answer: Answer, gold: Sequence[Span], text_of: Callable[[str], str | None],
                        embed: Embed | None) -> tuple[float | None, float | None]:
    """(the answer's first citation, the nearest sentence by cosine): 1.0 when it overlaps a gold
    span, else 0.0; an abstention scores 0. None without gold spans (and for the baseline without
    an embedder). The baseline reads the query the answer searched, as the answerer did."""
    if not gold:
        return None, None
    first = answer.citations[0] if answer.citations and not answer.abstained else None
    ours = metrics.first_sentence_hit(first, gold)
    if embed is None:
        return ours, None
    texts = {p.doc_id: text_of(p.doc_id) for p in answer.passages}
    readable = [p for p in answer.passages if texts[p.doc_id] is not None]
    nearest = nearest_sentence(answer.query or answer.question, readable, texts, embed)
    return ours, metrics.first_sentence_hit(nearest, gold)


def keyword_style(question: str, seed: int = 0) -> str:
    """The question as a keyword query: "How many gunmen were killed when the police returned
    fire?" -> "gunmen police killed returned fire". The same question and seed give the same query."""
    rng = random.Random(f"{seed}\n{question}")
    tokens = words(question)
    kept = [t for t in tokens if t not in STOPWORDS]
    if not kept:  # nothing but function words: keep them all, lower-cased
        return " ".join(tokens)
    if tokens[0] in _QUESTION_WORDS and rng.random() < KEEP_QUESTION_WORD:
        kept.insert(0, tokens[0])
    # Partly shuffled: a third of the words trade places with their neighbour.
    for _ in range(len(kept) // 3):
        i = rng.randrange(len(kept) - 1)
        kept[i], kept[i + 1] = kept[i + 1], kept[i]
    return " ".join(kept)


def misspelt(question: str, seed: int = 0) -> str:
    """The question with one slip in one of its content words of five letters or more, never in
    the word's first or last letter: a letter dropped or doubled, two neighbours swapped, or a
    letter struck as the key beside it ("Chechnya" -> "Chechnua"). The same question and seed give
    the same slip; a question without such a word comes back as it was, and so does one whose slip
    swaps two like letters ("Tennessee")."""
    rng = random.Random(f"{seed}\n{question}")
    found = [m for m in _SLIPPED.finditer(question) if m.group().lower() not in STOPWORDS]
    if not found:
        return question
    match = rng.choice(found)
    word, i = match.group(), rng.randrange(1, len(match.group()) - 2)
    slip = rng.choice(("drop", "double", "swap", "key"))
    if slip == "drop":
        word = word[:i] + word[i + 1 :]
    elif slip == "double":
        word = word[: i + 1] + word[i:]
    elif slip == "swap":
        word = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    else:  # every letter is on a row: the words are of A-Z alone
        row = next(r for r in _KEY_ROWS if word[i].lower() in r)
        j = row.index(word[i].lower())
        beside = rng.choice([row[k] for k in (j - 1, j + 1) if 0 <= k < len(row)])
        word = word[:i] + (beside.upper() if word[i].isupper() else beside) + word[i + 1 :]
    return question[: match.start()] + word + question[match.end() :]
