"""The lexical terms: the index's own tokenizer gives exactly the terms bm25s's gave."""

from pathlib import Path

import bm25s
import Stemmer

from index.lexical import tokenize

CORPUS = Path(__file__).resolve().parent.parent / "docs_corpus"
TRICKY = [
    "", "a", "The the THE", "Don't stop: e-mail, U.S.A., 1,024 items (x2) — naïve café Ünïcödé",
    "Москва и Нальчик", "北京 東京", "snake_case CamelCase 3.14 -- ...", "It is not there; it was.",
]


def test_the_terms_are_bm25s_terms_on_the_sample_corpus_and_odd_text():
    texts = [p.read_text(encoding="utf-8") for p in sorted(CORPUS.iterdir())] + TRICKY
    theirs = bm25s.tokenize(texts, stopwords="en", stemmer=Stemmer.Stemmer("english"), return_ids=False,
                            show_progress=False)
    assert tokenize(texts) == theirs
    assert sum(map(len, theirs)) > 1000  # the articles gave their words, not nothing
