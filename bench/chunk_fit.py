"""How much of each chunk the embedding model actually reads, for a few chunk sizes.

all-MiniLM-L6-v2 reads at most 256 word pieces (its own tokenizer, not tiktoken) and drops the
rest silently. This counts, per chunk size in tiktoken tokens, the chunks that go over and the
share of all text that the model never sees.

    python bench/chunk_fit.py ../shared/bench/squad-v1.1-dev/corpus.jsonl docs_corpus/*.txt
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def texts_of(paths: list[Path]) -> list[str]:
    texts = []
    for path in paths:
        if path.suffix == ".jsonl":
            texts += [json.loads(line)["text"] for line in path.open(encoding="utf-8") if line.strip()]
        else:
            texts.append(path.read_text(encoding="utf-8"))
    return texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--sizes", default="128,192,256,320")
    args = parser.parse_args()

    from index.chunking import chunk_text
    from index.embedding import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder()
    texts = texts_of(args.paths)
    print(f"{len(texts)} documents; the model reads {embedder.max_tokens} word pieces")
    print(f"{'chunk tokens':>12}{'chunks':>8}{'over limit':>12}{'text unseen':>13}{'max pieces':>12}")
    for size in (int(s) for s in args.sizes.split(",")):
        chunks = over = pieces_total = unseen = longest = 0
        for text in texts:
            for chunk in chunk_text("d", text, size, min(32, size // 4)):
                pieces = embedder.count_word_pieces(text[chunk.start : chunk.end])
                chunks += 1
                pieces_total += pieces
                longest = max(longest, pieces)
                if pieces > embedder.max_tokens:
                    over += 1
                    unseen += pieces - embedder.max_tokens
        print(f"{size:>12}{chunks:>8}{over / chunks:>11.1%}{unseen / pieces_total:>12.2%}{longest:>12}")


if __name__ == "__main__":
    main()
