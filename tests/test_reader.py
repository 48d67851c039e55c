"""The read side of the index: snapshots, a new ingest seen by a running reader, texts on demand."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from index import IndexSettings, ingest, open_index, remove
from qa.config import Config
from qa.service import Assistant

from tests.conftest import ROOT

ARTICLE = ("The harbour board of Tarnwick voted on Monday to close the old ferry pier. "
           "Repairs would have cost 4.2 million pounds, the board said.\n")


def qa_command(index_dir: Path, *args: str) -> subprocess.CompletedProcess:
    """The real `qa` CLI in a process of its own."""
    return subprocess.run(
        [sys.executable, "-m", "qa.cli", "--index-dir", str(index_dir), *args],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )


def test_an_ingest_in_another_process_is_seen_without_a_restart(tmp_path, corpus_copy, embedder):
    index_dir = tmp_path / "index"
    assistant = Assistant(Config(index_dir=index_dir, corpus_dir=corpus_copy), embedder=embedder)
    assistant.ingest()
    before = assistant.reader
    assert "harbour.txt" not in before.documents and before.is_current()

    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "harbour.txt").write_text(ARTICLE, encoding="utf-8")
    changed = corpus_copy / "001_dd1aa14925b9a80a.txt"
    old_text = before.text(changed.name)
    changed.write_text("A zebra named Quillfeather escaped from the Nalchik zoo on Tuesday.\n", encoding="utf-8")
    for path in (extra, corpus_copy):
        result = qa_command(index_dir, "ingest", str(path))
        assert result.returncode == 0, result.stderr

    assert not before.is_current()
    after = assistant.reader
    assert after is not before and after.is_current()
    assert "harbour.txt" in {d["doc_id"] for d in assistant.documents()}
    [top, *_] = assistant.search("Why did Tarnwick close the ferry pier?")
    assert top.doc_id == "harbour.txt"
    assert assistant.cite(top.id).quote == ARTICLE[top.start:top.end]
    assert after.text(changed.name).startswith("A zebra named Quillfeather")
    # A request that began on the old snapshot still reads the texts its offsets were cut from.
    assert before.text(changed.name) == old_text
    assert all(before.chunk_text(c) == old_text[c.start:c.end] for c in before.chunks_of(changed.name))


def test_a_running_server_serves_an_ingest_made_by_the_cli(tmp_path, corpus_copy, embedder):
    """`qa ingest` in one process; the server already running in another sees it, unrestarted."""
    import httpx

    from tests.live_server import LiveServer

    index_dir = tmp_path / "index"
    assistant = Assistant(Config(index_dir=index_dir, corpus_dir=corpus_copy, mode="extractive"), embedder=embedder)
    assistant.ingest()
    with LiveServer(assistant) as server, httpx.Client(base_url=server.url + "/api", timeout=120) as api:
        listed = {d["doc_id"] for d in api.get("/documents").json()["documents"]}
        assert "harbour.txt" not in listed
        extra = tmp_path / "extra"
        extra.mkdir()
        (extra / "harbour.txt").write_text(ARTICLE, encoding="utf-8")
        result = qa_command(index_dir, "ingest", str(extra))
        assert result.returncode == 0, result.stderr

        assert "harbour.txt" in {d["doc_id"] for d in api.get("/documents").json()["documents"]}
        answer = api.post("/ask", json={"question": "How much would the repairs of the Tarnwick ferry pier cost?"})
        assert answer.status_code == 200
        [citation, *_] = answer.json()["citations"]
        assert citation["doc_id"] == "harbour.txt" and "4.2 million pounds" in citation["quote"]
        assert api.get(f"/citations/{citation['id']}").json()["quote"] == citation["quote"]


def test_a_removal_in_another_process_is_seen(tmp_path, corpus_copy, embedder):
    settings = IndexSettings(index_dir=tmp_path / "index")
    ingest([corpus_copy], settings, embedder=embedder)
    reader = open_index(settings, embedder)
    assert remove(["000_3cdf5aa040d08496.txt"], settings) == ["000_3cdf5aa040d08496.txt"]
    assert not reader.is_current()
    assert "000_3cdf5aa040d08496.txt" not in open_index(settings, embedder).documents


def test_an_ingest_that_changes_nothing_keeps_readers_current(tmp_path, corpus_copy, embedder):
    settings = IndexSettings(index_dir=tmp_path / "index")
    ingest([corpus_copy], settings, embedder=embedder)
    reader = open_index(settings, embedder)
    ingest([corpus_copy], settings, embedder=embedder)
    assert reader.is_current()


def test_a_rebuild_is_seen(tmp_path, corpus_copy, embedder):
    settings = IndexSettings(index_dir=tmp_path / "index")
    ingest([corpus_copy], settings, embedder=embedder)
    reader = open_index(settings, embedder)
    (corpus_copy / "002_4ee77f7c6db00e4b.txt").unlink()
    ingest([corpus_copy], settings, embedder=embedder, rebuild=True)
    assert not reader.is_current()
    assert len(open_index(settings, embedder).documents) == 3


def test_texts_are_read_on_demand_within_a_bounded_cache(sample_index_dir, embedder):
    from index.reader import IndexReader

    reader = IndexReader(IndexSettings(index_dir=sample_index_dir), embedder, text_cache_characters=10_000)
    sizes = {}
    for doc_id in sorted(reader.documents):
        text = reader.text(doc_id)
        sizes[doc_id] = len(text)
        assert reader._texts.size <= max(10_000, len(text))
    assert max(sizes.values()) < 10_000 < sum(sizes.values())  # so the cache had to let some go
    for doc_id in sorted(reader.documents):  # and a text it let go is read again, the same
        for chunk in reader.chunks_of(doc_id):
            assert len(reader.chunk_text(chunk)) == chunk.end - chunk.start
    assert reader.text("no-such-document.txt") is None
