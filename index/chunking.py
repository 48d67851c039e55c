"""Sentence-aware chunks measured in tiktoken tokens, each an exact span of its document."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from index.documents import Chunk
from index.sentences import sentence_spans

TokenCounter = Callable[[str], int]


@lru_cache(maxsize=1)
def cl100k_counter() -> TokenCounter:
    """Token counts in cl100k_base, loaded from the copy that llama-index ships (no download)."""
    from llama_index.core.utils import get_tokenizer

    encode = get_tokenizer()
    return lambda text: len(encode(text))


def chunk_text(
    doc_id: str,
    text: str,
    chunk_tokens: int,
    overlap_tokens: int,
    count_tokens: TokenCounter | None = None,
) -> list[Chunk]:
    """Pack whole sentences into chunks of at most `chunk_tokens` tokens.

    Consecutive chunks share trailing sentences worth up to `overlap_tokens`, so a fact that
    straddles a boundary is whole in one of them. A sentence longer than a chunk is cut at word
    boundaries.
    """
    if chunk_tokens <= 0 or not 0 <= overlap_tokens < chunk_tokens:
        raise ValueError("need chunk_tokens > 0 and 0 <= overlap_tokens < chunk_tokens")
    count = count_tokens or cl100k_counter()
    # Each piece is counted once, with the white space before it, so a window's token count is
    # the sum of its pieces' (an upper bound: BPE merges across a boundary only ever save tokens).
    pieces: list[tuple[int, int, int]] = []  # (start, end, tokens)
    previous_end = 0
    for start, end in sentence_spans(text):
        tokens = count(text[previous_end:end])
        if tokens <= chunk_tokens:
            pieces.append((start, end, tokens))
        else:
            pieces.extend(_split_long(text, start, end, chunk_tokens, count))
        previous_end = end

    chunks: list[Chunk] = []
    window: list[tuple[int, int, int]] = []
    total = 0
    for piece in pieces:
        if window and total + piece[2] > chunk_tokens:
            chunks.append(Chunk(doc_id, window[0][0], window[-1][1]))
            window = _overlap(window, overlap_tokens)
            total = sum(p[2] for p in window)
            while window and total + piece[2] > chunk_tokens:
                total -= window.pop(0)[2]
        window.append(piece)
        total += piece[2]
    if window:
        chunks.append(Chunk(doc_id, window[0][0], window[-1][1]))
    return chunks


def _overlap(window: list[tuple[int, int, int]], overlap: int) -> list[tuple[int, int, int]]:
    """The trailing pieces of `window` to repeat in the next chunk."""
    kept: list[tuple[int, int, int]] = []
    total = 0
    for piece in reversed(window):
        if total + piece[2] > overlap:
            break
        kept.insert(0, piece)
        total += piece[2]
    return kept


def _split_long(
    text: str, start: int, end: int, limit: int, count: TokenCounter
) -> list[tuple[int, int, int]]:
    """Cut one over-long sentence into word-aligned pieces of at most `limit` tokens."""
    pieces: list[tuple[int, int, int]] = []
    piece_start = piece_end = start
    for word in re.finditer(r"\S+", text[start:end]):
        word_end = start + word.end()
        if piece_end > piece_start and count(text[piece_start:word_end]) > limit:
            pieces.append((piece_start, piece_end, count(text[piece_start:piece_end])))
            piece_start = start + word.start()
        piece_end = word_end
        while count(text[piece_start:piece_end]) > limit:  # one "word" longer than a chunk
            cut = piece_start + max(1, (piece_end - piece_start) // 2)
            while count(text[piece_start:cut]) > limit:
                cut = piece_start + max(1, (cut - piece_start) // 2)
            pieces.append((piece_start, cut, count(text[piece_start:cut])))
            piece_start = cut
    if piece_end > piece_start:
        pieces.append((piece_start, piece_end, count(text[piece_start:piece_end])))
    return pieces
