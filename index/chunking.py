"""Sentence-aware chunks measured in tiktoken tokens, each an exact span of its document."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import lru_cache

from index.documents import Chunk
from index.sentences import sentence_spans

TokenCounter = Callable[[str], int]
Piece = tuple[int, int, int]  # (start, end, tokens)

COUNTED_CHARS_PER_TOKEN = 8  # a longer sentence is not counted whole: it is over a chunk anyway, nearly always
LONG_WORD = 64  # characters; a sentence with a longer word is counted a word at a time
ATOM_CHARS = 32  # a word is counted in parts of at most this many characters
_LONG_WORD = re.compile(rf"\S{{{LONG_WORD + 1},}}")
_WORD = re.compile(r"\S+")


class TooManyChunks(ValueError):
    """The text makes more chunks than allowed; raised as soon as it does."""

    def __init__(self, limit: int):
        super().__init__(f"more than {limit:,} chunks")
        self.limit = limit


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
    max_chunks: int = 0,
) -> list[Chunk]:
    """Pack whole sentences into chunks of at most `chunk_tokens` tokens.

    Consecutive chunks share trailing sentences worth up to `overlap_tokens`, so a fact that
    straddles a boundary is whole in one of them. A sentence longer than a chunk is cut at word
    boundaries. Time is linear in the text's length whatever its shape; with `max_chunks`, a text
    that makes more chunks raises `TooManyChunks` as soon as it does, without chunking the rest.
    """
    if chunk_tokens <= 0 or not 0 <= overlap_tokens < chunk_tokens:
        raise ValueError("need chunk_tokens > 0 and 0 <= overlap_tokens < chunk_tokens")
    count = count_tokens or cl100k_counter()
    chunks: list[Chunk] = []
    window: list[Piece] = []
    total = 0
    for piece in _pieces(text, chunk_tokens, count):
        if window and total + piece[2] > chunk_tokens:
            chunks.append(Chunk(doc_id, window[0][0], window[-1][1]))
            if max_chunks and len(chunks) > max_chunks:
                raise TooManyChunks(max_chunks)
            window = _overlap(window, overlap_tokens)
            total = sum(p[2] for p in window)
            while window and total + piece[2] > chunk_tokens:
                total -= window.pop(0)[2]
        window.append(piece)
        total += piece[2]
    if window:
        chunks.append(Chunk(doc_id, window[0][0], window[-1][1]))
        if max_chunks and len(chunks) > max_chunks:
            raise TooManyChunks(max_chunks)
    return chunks


def _overlap(window: list[Piece], overlap: int) -> list[Piece]:
    """The trailing pieces of `window` to repeat in the next chunk."""
    kept: list[Piece] = []
    total = 0
    for piece in reversed(window):
        if total + piece[2] > overlap:
            break
        kept.insert(0, piece)
        total += piece[2]
    return kept


def _pieces(text: str, limit: int, count: TokenCounter) -> Iterator[Piece]:
    """Sentences of at most `limit` tokens, and word-aligned parts of the longer ones.

    Each piece is counted with the white space before it, so a window's token count is the sum of
    its pieces' (an upper bound: BPE merges across a boundary only ever save tokens). A sentence is
    counted whole only when that is cheap: at most COUNTED_CHARS_PER_TOKEN * limit characters and
    no word over LONG_WORD characters (BPE's cost grows with the square of a word's length).
    """
    previous_end = 0
    for start, end in sentence_spans(text):
        if end - previous_end <= COUNTED_CHARS_PER_TOKEN * limit and not _LONG_WORD.search(text, previous_end, end):
            tokens = count(text[previous_end:end])
            if tokens <= limit:
                yield (start, end, tokens)
                previous_end = end
                continue
        yield from _split_long(text, previous_end, end, limit, count)
        previous_end = end


def _split_long(text: str, lead: int, end: int, limit: int, count: TokenCounter) -> Iterator[Piece]:
    """Cut one long sentence (its white space from `lead`) into word-aligned pieces of at most `limit`
    tokens, counting each word once: words pack greedily, and a word longer than ATOM_CHARS is cut
    into parts of that length first."""
    piece_start = piece_end = -1
    total = 0
    for atom_start, atom_end, tokens in _atoms(text, lead, end, limit, count):
        if piece_start >= 0 and total + tokens > limit:
            yield (piece_start, piece_end, total)
            piece_start = -1
        if piece_start < 0:
            piece_start, total = atom_start, 0
        piece_end = atom_end
        total += tokens
    if piece_start >= 0:
        yield (piece_start, piece_end, total)


def _atoms(text: str, lead: int, end: int, limit: int, count: TokenCounter) -> Iterator[Piece]:
    """The words of `text[lead:end]`, each cut to at most ATOM_CHARS characters and `limit` tokens,
    with their token counts (each counted with the white space before it)."""
    previous_end = lead
    for word in _WORD.finditer(text, lead, end):
        for cut in range(word.start(), word.end(), ATOM_CHARS):
            atom_end = min(cut + ATOM_CHARS, word.end())
            atom_start = cut
            while atom_start < atom_end:
                stop = atom_end
                tokens = count(text[previous_end:stop])
                while tokens > limit and stop - atom_start > 1:  # a few characters that are many tokens
                    stop = atom_start + (stop - atom_start) // 2
                    tokens = count(text[previous_end:stop])
                yield (atom_start, stop, tokens)
                atom_start = previous_end = stop
