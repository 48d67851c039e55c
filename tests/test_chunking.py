"""Chunking in time linear in the text, whatever its shape, with the chunk cap applied as it goes."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from index.chunking import TooManyChunks, chunk_text, cl100k_counter
from qa.config import Config
from qa.service import Assistant
from tests.live_server import LiveServer

MB = 1_000_000
SHAPES = {
    "one letter": "a" * MB,
    "one word again and again": "word " * (MB // 5),
    "digits": "1234567890" * (MB // 10),
    "one long sentence": ("and the river ran on " * (MB // 21)),
    "dots without spaces": "a." * (MB // 2),
}


def _timed_chunks(text: str) -> tuple[float, list]:
    began = time.perf_counter()
    chunks = chunk_text("d", text, 192, 32)
    return time.perf_counter() - began, chunks


@pytest.mark.parametrize("shape", SHAPES)
def test_a_megabyte_of_any_shape_chunks_in_time_linear_in_its_length(shape):
    """Four times the text takes about four times as long (sixteen, were it quadratic), measured
    against its own quarter in the same run, so that the machine's speed does not count."""
    text = SHAPES[shape]
    count = cl100k_counter()
    count("warm up")
    quarter = min(_timed_chunks(text[: len(text) // 4])[0] for _ in range(2))
    (whole, chunks), (again, _) = _timed_chunks(text), _timed_chunks(text)
    whole = min(whole, again)
    assert whole < 8 * quarter + 0.05, f"{whole:.2f} s for the megabyte, {quarter:.2f} s for a quarter of it"
    assert chunks[0].start == 0 and chunks[-1].end == len(text.rstrip())
    assert all(not text[a.end : b.start].strip() for a, b in zip(chunks, chunks[1:]))  # nothing lost between
    for chunk in chunks[:: max(1, len(chunks) // 50)]:
        assert count(text[chunk.start : chunk.end]) <= 192


def test_prose_chunks_are_whole_sentences_within_the_limit():
    sentence = "The survey of the Volga was led by Dr. Irina Petrova of the Kazan institute in 1998. "
    text = sentence * 40 + "A closing line without a stop"
    count = cl100k_counter()
    chunks = chunk_text("d", text, 64, 16)
    assert len(chunks) > 5
    for chunk in chunks:
        piece = text[chunk.start : chunk.end]
        assert count(piece) <= 64
        assert piece.startswith(("The survey", "A closing")) and piece.endswith(("1998.", "a stop"))


def test_a_word_of_many_tokens_per_character_is_cut_within_the_limit():
    text = "€" * 500 + " " + "𝔘𝔫𝔦𝔠𝔬𝔡𝔢" * 100
    count = cl100k_counter()
    chunks = chunk_text("d", text, 16, 4)
    assert all(count(text[c.start : c.end]) <= 16 for c in chunks)
    assert chunks[-1].end == len(text)


def test_the_chunk_cap_stops_chunking_as_soon_as_it_is_passed():
    """Of 10 MB that would make thousands of chunks, only about the first 101 chunks' worth is
    tokenised before the cap refuses it: counted in characters read, not in seconds."""
    text = "word " * (10 * MB // 5)
    real = cl100k_counter()
    read = [0]

    def counting(piece: str) -> int:
        read[0] += len(piece)
        return real(piece)

    with pytest.raises(TooManyChunks, match="more than 100 chunks"):
        chunk_text("d", text, 192, 32, count_tokens=counting, max_chunks=100)
    assert 0 < read[0] < len(text) // 20, f"{read[0]:,} of {len(text):,} characters tokenised"
    assert len(chunk_text("d", "One. Two.", 192, 32, max_chunks=1)) == 1


# 4 MB of one letter makes more chunks than the cap (refused as it is chunked); 400 KB of "word " fewer
# (indexed). Either is settled in seconds, while a question asked meanwhile is answered.
@pytest.mark.parametrize("body", [b"a" * (4 * MB), b"word " * (2 * MB // 5)])
def test_a_shapeless_upload_is_refused_or_indexed_quickly_while_questions_are_answered(
        tmp_path, sample_index_dir, embedder, support_model, body):
    config = Config(index_dir=tmp_path / "index", corpus_dir=tmp_path / "corpus", max_document_chunks=2000)
    assistant = Assistant(config, embedder=embedder, support=support_model)
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "note.txt").write_text("The Oslo office opened in 2004.", encoding="utf-8")
    assistant.ingest()
    upload = tmp_path / "big.txt"
    upload.write_bytes(body)
    with LiveServer(assistant) as server:
        replies: dict[str, httpx.Response] = {}

        def send() -> None:
            with open(upload, "rb") as handle:
                replies["upload"] = httpx.post(f"{server.url}/api/documents", timeout=60,
                                               files={"files": ("big.txt", handle, "text/plain")})

        began = time.perf_counter()
        sender = threading.Thread(target=send)
        sender.start()
        time.sleep(0.2)
        asked = httpx.post(f"{server.url}/api/ask", json={"question": "When did the Oslo office open?"}, timeout=30)
        assert asked.status_code == 200 and "2004" in asked.json()["answer"]
        sender.join(timeout=30)
        assert time.perf_counter() - began < 5.0
    outcome = replies["upload"].json()["files"][0]
    assert outcome["ok"] or "2,000 chunks" in outcome["detail"], outcome
