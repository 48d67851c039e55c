"""The write side on the real model, real Chroma and real files."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from index import IndexMismatchError, IndexSettings, ingest, open_index
from index.catalog import FILENAME, Catalog
from index.chunking import cl100k_counter
from index.embedding import SentenceTransformerEmbedder, bundled_model_path
from index.ingest import IngestBusyError, _exclusive
from index.lexical import LexicalIndex
from index.sentences import sentence_spans
from index.settings import CorruptIndexError
from index.vectors import ChromaVectors

from tests.conftest import ROOT, SAMPLE_CORPUS



def paragraph_corpus(path: Path, records: int) -> Path:
    """A JSONL corpus of `records` documents, each a numbered paragraph of the sample articles."""
    paragraphs = [p for f in sorted(SAMPLE_CORPUS.glob("*.txt"))
                  for p in f.read_text(encoding="utf-8").split("\n\n") if len(p.split()) > 12]
    lines = (json.dumps({"_id": f"p{i}", "title": f"Paragraph {i}", "text": f"Record {i}. {paragraphs[i % len(paragraphs)]}"})
             for i in range(records))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class CountingEmbedder:
    """The real embedder, counting the texts it is asked to embed."""

    def __init__(self, inner):
        self.inner, self.name, self.dimension, self.texts = inner, inner.name, inner.dimension, 0

    def embed(self, texts):
        self.texts += len(texts)
        return self.inner.embed(texts)


def assert_consistent(index_dir: Path) -> None:
    """Chroma, the lexical index and the catalog list exactly the same chunks, and no document's
    lexical entries are left to replace."""
    settings = IndexSettings(index_dir=index_dir)
    catalog = Catalog(index_dir, read_only=True)
    listed = catalog.chunks()
    pending = catalog.lexical_pending()
    texts = catalog.texts()
    catalog.close()
    assert ChromaVectors(settings).ids() == set(listed)
    lexical = LexicalIndex.open(index_dir)
    assert lexical is not None and pending == []
    assert sorted(lexical.ids()) == sorted(listed)
    for chunk in listed.values():
        assert 0 <= chunk.start < chunk.end <= len(texts[chunk.doc_id])


def test_every_chunk_is_the_file_text_at_its_offsets(sample_index_dir, embedder):
    reader = open_index(IndexSettings(index_dir=sample_index_dir), embedder)
    count = cl100k_counter()
    assert sorted(reader.documents) == sorted(p.name for p in SAMPLE_CORPUS.glob("*.txt"))
    for doc_id in reader.documents:
        text = (SAMPLE_CORPUS / doc_id).read_bytes().decode("utf-8")
        chunks = reader.chunks_of(doc_id)
        assert chunks, doc_id
        for chunk in chunks:
            assert reader.chunk_text(chunk) == text[chunk.start : chunk.end]
            assert count(text[chunk.start : chunk.end]) <= 192
        # Together the chunks cover every sentence of the article.
        covered = set()
        for chunk in chunks:
            covered.update(range(chunk.start, chunk.end))
        assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def test_sample_metadata_comes_from_the_sidecar(sample_index_dir, embedder):
    reader = open_index(IndexSettings(index_dir=sample_index_dir), embedder)
    first = reader.documents["000_3cdf5aa040d08496.txt"]
    assert first.date == "2016-12-28"
    assert "Grozny" in first.title


def test_reingesting_an_unchanged_corpus_embeds_nothing(tmp_path, corpus_copy, embedder):
    settings = IndexSettings(index_dir=tmp_path / "index")
    counting = CountingEmbedder(embedder)
    first = ingest([corpus_copy], settings, embedder=counting)
    assert (first.added, first.documents, first.errors) == (4, 4, [])
    embedded = counting.texts
    second = ingest([corpus_copy], settings, embedder=counting)
    assert (second.added, second.updated, second.removed, second.unchanged) == (0, 0, 0, 4)
    assert counting.texts == embedded
    assert second.chunks == first.chunks
    assert_consistent(settings.index_dir)


def test_a_paragraph_added_to_a_document_embeds_only_the_chunks_that_changed(tmp_path, corpus_copy, embedder):
    settings = IndexSettings(index_dir=tmp_path / "index")
    counting = CountingEmbedder(embedder)
    ingest([corpus_copy], settings, embedder=counting)
    longest = max(corpus_copy.glob("*.txt"), key=lambda p: p.stat().st_size)
    before = {vec_id: text for _, chunks in Catalog(settings.index_dir).chunk_texts([longest.name])
              for vec_id, text in chunks}
    assert len(before) >= 3
    with longest.open("a", encoding="utf-8") as file:
        file.write("\n\nA zebra named Quillfeather escaped from the zoo on Tuesday.\n")

    counting.texts = 0
    report = ingest([corpus_copy], settings, embedder=counting)
    assert (report.updated, report.unchanged) == (1, 3)
    after = {vec_id: text for _, chunks in Catalog(settings.index_dir).chunk_texts([longest.name])
             for vec_id, text in chunks}
    changed = [text for text in after.values() if text not in set(before.values())]
    assert counting.texts == len(changed) < len(after)  # the model read only what changed
    assert_consistent(settings.index_dir)
    # Every vector, kept or new, is the model's vector of its chunk's text, under the new version's id.
    stored = ChromaVectors(settings).get(list(after))
    assert set(stored) == set(after)
    texts = list(after.values())
    assert np.allclose(np.stack([stored[v] for v in after]), embedder.embed(texts), atol=1e-5)
    [(chunk, _)] = open_index(settings, embedder).lexical("Quillfeather zebra", 5)
    assert chunk.doc_id == longest.name


def test_a_changed_document_is_replaced_and_a_deleted_one_removed(tmp_path, corpus_copy, embedder):
    settings = IndexSettings(index_dir=tmp_path / "index")
    ingest([corpus_copy], settings, embedder=embedder)
    changed = corpus_copy / "001_dd1aa14925b9a80a.txt"
    changed.write_text("A zebra named Quillfeather escaped from the Nalchik zoo on Tuesday.\n", encoding="utf-8")
    (corpus_copy / "002_4ee77f7c6db00e4b.txt").unlink()

    report = ingest([corpus_copy], settings, embedder=embedder)
    assert (report.updated, report.removed, report.unchanged, report.documents) == (1, 1, 2, 3)
    assert_consistent(settings.index_dir)
    reader = open_index(settings, embedder)
    assert "002_4ee77f7c6db00e4b.txt" not in reader.documents
    [(chunk, _)] = reader.lexical("Quillfeather zebra", 5)
    assert chunk.doc_id == "001_dd1aa14925b9a80a.txt"
    assert reader.chunk_text(chunk).startswith("A zebra named Quillfeather")


def test_bad_files_are_reported_and_the_rest_indexed(tmp_path, corpus_copy, embedder):
    (corpus_copy / "empty.txt").write_text("")
    (corpus_copy / "blank.md").write_text("  \n\n ")
    (corpus_copy / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (corpus_copy / "latin1.txt").write_bytes("Café au lait, s'il vous plaît".encode("latin-1"))
    (corpus_copy / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (corpus_copy / "records.jsonl").write_text(
        '{"_id": "r1", "title": "One", "text": "The first record."}\n'
        "{not json\n"
        '{"_id": "r2", "text": "The second record."}\n'
        '{"title": "no id", "text": "orphan"}\n'
    )
    unreadable = corpus_copy / "secret.txt"
    if os.geteuid() == 0:  # root reads any mode, so a dangling link stands in for it
        unreadable.symlink_to(tmp_path / "does-not-exist.txt")
    else:
        unreadable.write_text("hidden")
        unreadable.chmod(0)
    missing = tmp_path / "no-such-folder"

    report = ingest([corpus_copy, missing], IndexSettings(index_dir=tmp_path / "index"), embedder=embedder)

    problems = {(Path(e.path).name, e.line): e.message for e in report.errors}
    assert problems[("empty.txt", None)].startswith("empty file")
    assert problems[("blank.md", None)].startswith("empty file")
    assert problems[("binary.txt", None)].startswith("binary file")
    assert problems[("latin1.txt", None)].startswith("not UTF-8")
    assert problems[("broken.pdf", None)].startswith("cannot read PDF")
    assert problems[("records.jsonl", 2)].startswith("not valid JSON")
    assert problems[("records.jsonl", 4)].startswith('needs an "_id"')
    assert problems[("secret.txt", None)].startswith("cannot read file")
    assert problems[("no-such-folder", None)] == "no such file or directory"
    assert len(report.errors) == 9
    assert report.documents == 4 + 2  # the articles and the two good records


def test_a_file_that_turns_bad_keeps_its_indexed_version(tmp_path, corpus_copy, embedder):
    settings = IndexSettings(index_dir=tmp_path / "index")
    ingest([corpus_copy], settings, embedder=embedder)
    (corpus_copy / "000_3cdf5aa040d08496.txt").write_bytes(b"\xff\xfe broken now")
    report = ingest([corpus_copy], settings, embedder=embedder)
    assert report.removed == 0 and report.documents == 4 and len(report.errors) == 1
    reader = open_index(settings, embedder)
    assert reader.text("000_3cdf5aa040d08496.txt").startswith(" date 2016-12-28")


def ingest_files(tmp_path: Path, embedder, files: dict[str, str]):
    """A folder of these files, indexed: its settings, the folder and the ingest's report."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in files.items():
        (corpus / name).write_text(text, encoding="utf-8")
    settings = IndexSettings(index_dir=tmp_path / "index")
    return settings, corpus, ingest([corpus], settings, embedder=embedder)


def test_html_and_markdown_and_pdf_text(tmp_path, embedder):
    settings, corpus, report = ingest_files(tmp_path, embedder, {
        "page.html": "<html><head><title>Raid report</title><script>alert(1)</script></head>"
                     "<body><h1>Raid</h1><p>Troops found <b>two</b> devices.</p></body></html>",
        "notes.md": "# Field notes\n\nThe bunker had supplies.\n",
    })
    assert report.errors == [] and report.documents == 2
    reader = open_index(settings, embedder)
    assert reader.documents["page.html"].title == "Raid report"
    assert "alert" not in reader.text("page.html")
    assert reader.text("page.html") == "Raid\n\nTroops found two devices."
    assert reader.documents["notes.md"].title == "Field notes"
    assert reader.text("notes.md") == (corpus / "notes.md").read_text()


def test_html_inline_elements_stay_in_their_sentence_and_blocks_are_paragraphs(tmp_path, embedder):
    settings, _, _ = ingest_files(tmp_path, embedder, {"oxygen.html": (
        "<html><body><h2>Space suits</h2><p>Breathing pure O<sub>2</sub> in space suits causes\n"
        "no damage, <a href='/why'>because of</a> the <em>low total pressures</em> used.<br>"
        "Apollo used it.</p><ul><li>first item</li><li>second item</li></ul>"
        "<details><summary>More</summary>Kept in <i>a</i> box.</details><center>Centred</center>"
        "<!-- an editor's comment --></body></html>")})
    text = open_index(settings, embedder).text("oxygen.html")
    assert text == ("Space suits\n\nBreathing pure O2 in space suits causes no damage, because of the low total "
                    "pressures used.\n\nApollo used it.\n\nfirst item\n\nsecond item\n\nMore\n\nKept in a box."
                    "\n\nCentred")
    sentences = [text[s:e] for s, e in sentence_spans(text)]
    assert "Breathing pure O2 in space suits causes no damage, because of the low total pressures used." in sentences


def test_hard_wrapped_text_chunked_a_line_at_a_time_is_chunked_again(tmp_path, embedder):
    text = "\n\n".join(textwrap.fill(p, 72) for p in (SAMPLE_CORPUS / "000_3cdf5aa040d08496.txt")
                       .read_text(encoding="utf-8").split("\n") if p.strip())
    settings, corpus, _ = ingest_files(tmp_path, embedder, {"grozny.txt": text})
    # What an index written before wrapped text was recognised holds: the hash of the text alone.
    with sqlite3.connect(settings.index_dir / FILENAME) as db:
        [(title,)] = db.execute("SELECT title FROM documents").fetchall()
        old = hashlib.sha256(text.encode("utf-8") + b"\0" + title.encode("utf-8") + b"\0").hexdigest()
        db.execute("UPDATE documents SET hash = ?", (old,))
    report = ingest([corpus], settings, embedder=embedder)
    assert (report.updated, report.unchanged) == (1, 0)
    assert ingest([corpus], settings, embedder=embedder).unchanged == 1
    assert_consistent(settings.index_dir)


def test_an_index_built_with_another_model_is_refused(tmp_path, corpus_copy, embedder):
    settings = IndexSettings(index_dir=tmp_path / "index")
    ingest([corpus_copy], settings, embedder=embedder)
    other_path = tmp_path / "other-model"
    other_path.symlink_to(bundled_model_path(), target_is_directory=True)
    other = SentenceTransformerEmbedder(str(other_path))
    with pytest.raises(IndexMismatchError, match="re-ingest"):
        open_index(settings, other)
    with pytest.raises(IndexMismatchError):
        ingest([corpus_copy], settings, embedder=other)
    report = ingest([corpus_copy], settings, embedder=other, rebuild=True)
    assert report.added == 4
    open_index(settings, other)


def test_a_corrupt_catalog_is_a_clear_error_and_rebuild_recovers(tmp_path, corpus_copy, embedder):
    settings = IndexSettings(index_dir=tmp_path / "index")
    ingest([corpus_copy], settings, embedder=embedder)
    (settings.index_dir / "catalog.sqlite3").write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        (settings.index_dir / f"catalog.sqlite3{suffix}").unlink(missing_ok=True)
    with pytest.raises(CorruptIndexError, match="--rebuild"):
        open_index(settings, embedder)
    report = ingest([corpus_copy], settings, embedder=embedder, rebuild=True)
    assert report.documents == 4
    assert_consistent(settings.index_dir)


def test_a_lost_lexical_index_is_built_again(tmp_path, corpus_copy, embedder):
    settings = IndexSettings(index_dir=tmp_path / "index")
    ingest([corpus_copy], settings, embedder=embedder)
    shutil.rmtree(settings.index_dir / "lexical")
    reader = open_index(settings, embedder)  # built from the catalog as it opens
    assert reader.lexical("Kadyrov", 3)
    assert_consistent(settings.index_dir)
    shutil.rmtree(settings.index_dir / "lexical")
    (settings.index_dir / "lexical").mkdir()
    (settings.index_dir / "lexical" / "meta.json").write_text("not tantivy's")
    assert ingest([corpus_copy], settings, embedder=embedder).unchanged == 4
    assert_consistent(settings.index_dir)


def test_an_index_made_with_bm25_files_is_moved_to_the_lexical_index_once(tmp_path, corpus_copy, embedder, caplog):
    """An index of the layout before (BM25 in bm25s files beside the catalog, no lexical list in the
    catalog) opens: the lexical index is built from the catalog's chunks, with a line that says so,
    and the old files go."""
    settings = IndexSettings(index_dir=tmp_path / "index")
    ingest([corpus_copy], settings, embedder=embedder)
    shutil.rmtree(settings.index_dir / "lexical")
    (settings.index_dir / "bm25" / "model").mkdir(parents=True)
    (settings.index_dir / "bm25" / "fingerprint.json").write_text('{"fingerprint": "old"}')
    with sqlite3.connect(settings.index_dir / FILENAME) as db:
        db.execute("DROP TABLE lexical_pending")
    with caplog.at_level("WARNING", logger="index.ingest"):
        reader = open_index(settings, embedder)
    assert [r.getMessage() for r in caplog.records][0] == \
        f"building the lexical index from the catalog's {reader.chunk_count} chunks, once ..."
    [(chunk, _), *_] = reader.lexical("Kadyrov Chechnya", 3)
    assert chunk.doc_id in reader.documents
    assert not (settings.index_dir / "bm25").exists()
    assert_consistent(settings.index_dir)
    caplog.clear()
    with caplog.at_level("WARNING", logger="index.ingest"):
        open_index(settings, embedder)
        assert ingest([corpus_copy], settings, embedder=embedder).unchanged == 4
    assert caplog.records == []  # once


def test_only_one_ingest_writes_at_a_time(tmp_path, corpus_copy, embedder):
    settings = IndexSettings(index_dir=tmp_path / "index")
    with _exclusive(settings.index_dir):
        with pytest.raises(IngestBusyError, match="another ingest"):
            ingest([corpus_copy], settings, embedder=embedder)


KILL_AFTER_SECONDS = [0.5, 4.0, 12.0]


@pytest.mark.parametrize("delay", KILL_AFTER_SECONDS)
def test_a_killed_ingest_is_completed_by_the_next(tmp_path, embedder, delay):
    """kill -9 at several points of a real ingest; the next ingest leaves one consistent index."""
    corpus = paragraph_corpus(tmp_path / "corpus.jsonl", 400)
    index_dir = tmp_path / "index"
    script = (
        "import sys; from pathlib import Path; from index import IndexSettings, ingest; "
        "ingest([Path(sys.argv[1])], IndexSettings(index_dir=Path(sys.argv[2])))"
    )
    child = subprocess.Popen([sys.executable, "-c", script, str(corpus), str(index_dir)], cwd=ROOT,
                             env={**os.environ, "HF_HUB_OFFLINE": "1"})
    time.sleep(delay)
    killed_early = child.poll() is None
    child.kill()
    child.wait()

    report = ingest([corpus], IndexSettings(index_dir=index_dir), embedder=embedder)
    assert report.errors == [] and report.documents == 400
    assert_consistent(index_dir)
    catalog = Catalog(index_dir, read_only=True)
    spans = [(c.doc_id, c.start, c.end) for c in catalog.chunks().values()]
    catalog.close()
    assert len(spans) == len(set(spans))  # no chunk twice
    assert killed_early or delay == KILL_AFTER_SECONDS[-1]


def test_qa_ingest_command_reports_json_and_bad_files(tmp_path, corpus_copy):
    (corpus_copy / "binary.txt").write_bytes(b"\x00\x01\x02")
    result = subprocess.run(
        [sys.executable, "-m", "qa.cli", "--index-dir", str(tmp_path / "index"), "ingest",
         str(corpus_copy), "--json"],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode == 1
    summary = json.loads(result.stdout)
    assert {"documents", "added", "updated", "removed", "unchanged", "chunks", "seconds"} <= summary.keys()
    assert summary["documents"] == 4 and summary["added"] == 4
    assert "binary.txt: binary file" in result.stderr
    assert "Traceback" not in result.stderr

    docs = subprocess.run(
        [sys.executable, "-m", "qa.cli", "--index-dir", str(tmp_path / "index"), "docs", "--json"],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert docs.returncode == 0
    assert len(json.loads(docs.stdout)["documents"]) == 4


def test_the_same_file_name_under_two_roots_is_refused_not_replaced(tmp_path, embedder):
    first, second = tmp_path / "badfolder", tmp_path / "other"
    for folder, words in ((first, "The first good file is about herons."), (second, "The other one is about owls.")):
        folder.mkdir()
        (folder / "good.txt").write_text(words + "\n", encoding="utf-8")
    settings = IndexSettings(index_dir=tmp_path / "index")
    ingest([first], settings, embedder=embedder)

    for paths in ([second / "good.txt"], [second], [first, second]):
        report = ingest(paths, settings, embedder=embedder)
        assert (report.added, report.updated, report.removed, report.documents) == (0, 0, 0, 1)
        [error] = report.errors
        assert error.path == str(second / "good.txt")
        assert f"'good.txt' is already taken by {first / 'good.txt'}" in str(error)
        assert open_index(settings, embedder).text("good.txt").startswith("The first good file")

    # Two new files that want one id in one ingest: the first keeps it, the second is refused.
    fresh = IndexSettings(index_dir=tmp_path / "fresh")
    report = ingest([second, first], fresh, embedder=embedder)
    assert report.added == 1 and "also that of" in str(report.errors[0])
    assert open_index(fresh, embedder).text("good.txt").startswith("The other one")

    # A folder that moved takes its ids along: the old file is gone, so nothing is lost.
    moved = tmp_path / "moved"
    first.rename(moved)
    report = ingest([moved], settings, embedder=embedder)
    assert (report.updated, report.errors, report.documents) == (0, [], 1)
    assert report.unchanged == 1
    assert open_index(settings, embedder).documents["good.txt"].source == str(moved / "good.txt")
    assert_consistent(settings.index_dir)


def test_titles_count_in_both_searches_and_quotes_stay_the_documents_text(tmp_path, embedder):
    records = [
        {"_id": "heron", "title": "Quillfeather heronry census",
         "text": "Volunteers counted nests along the river on Saturday. " * 40 + "The total was 212."},
        {"_id": "owls", "title": "Barn owls return", "text": "Farmers reported more owls this spring. " * 5},
    ]
    corpus = tmp_path / "birds.jsonl"
    corpus.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    plain = IndexSettings(index_dir=tmp_path / "index", titles_in_chunks=False)
    ingest([corpus], plain, embedder=embedder)
    assert open_index(plain, embedder).lexical("Quillfeather", 5) == []  # the word is only in the title

    settings = IndexSettings(index_dir=tmp_path / "index")  # titles count by default
    report = ingest([corpus], settings, embedder=embedder)
    assert (report.updated, report.unchanged) == (2, 0)  # an index made without titles is embedded again
    assert_consistent(settings.index_dir)
    reader = open_index(settings, embedder)
    chunks = reader.chunks_of("heron")
    assert len(chunks) > 1
    # Every vector is of the chunk with its title now, none kept from when titles did not count.
    listed = {vec_id: text for _, pairs in Catalog(settings.index_dir).chunk_texts(["heron", "owls"])
              for vec_id, text in pairs}
    stored = ChromaVectors(settings).get(list(listed))
    assert all(text.startswith(("Quillfeather heronry census\n\n", "Barn owls return\n\n")) for text in listed.values())
    assert np.allclose(np.stack([stored[v] for v in listed]), embedder.embed(list(listed.values())), atol=1e-5)
    found = reader.lexical("Quillfeather", 10)
    assert {c for c, _ in found} == set(chunks)  # every chunk of the document, not only the first
    [(best, _), *_] = reader.dense(embedder.embed(["Quillfeather heronry census"])[0], 3)
    assert best.doc_id == "heron"
    text = records[0]["text"]
    for chunk in chunks:
        assert reader.chunk_text(chunk) == text[chunk.start:chunk.end]
        assert "Quillfeather" not in reader.chunk_text(chunk)
    assert ingest([corpus], settings, embedder=embedder).unchanged == 2


def test_an_ingest_killed_before_telling_readers_is_announced_by_the_next(tmp_path, corpus_copy, embedder):
    """Killed after its lexical writes but before the generation moved: the next ingest, which finds
    nothing to do, still tells running readers, so none keeps serving the old corpus."""
    settings = IndexSettings(index_dir=tmp_path / "index")
    ingest([corpus_copy], settings, embedder=embedder)
    reader = open_index(settings, embedder)
    catalog = Catalog(settings.index_dir)
    with catalog.transaction() as db:  # the state such a kill leaves: the last change never announced
        db.execute("INSERT OR REPLACE INTO meta VALUES ('generation_of', 'an older chunk set')")
    catalog.close()
    assert reader.is_current()
    ingest([corpus_copy], settings, embedder=embedder)
    assert not reader.is_current()


def test_documents_left_marked_by_a_killed_lexical_write_are_done_by_the_next_writer_or_reader(
        tmp_path, corpus_copy, embedder):
    """The state a kill inside the lexical write leaves: the catalog switched, the document marked,
    its lexical entries gone or old. The next ingest replaces them; so does a reader that opens
    while no ingest is at work."""
    from index import lexical

    settings = IndexSettings(index_dir=tmp_path / "index")
    ingest([corpus_copy], settings, embedder=embedder)
    doc_id = "001_dd1aa14925b9a80a.txt"

    def kill_inside_the_lexical_write() -> None:
        with lexical.LexicalWriter(settings.index_dir) as writer:
            writer.replace(doc_id, [])
            writer.commit()
        with sqlite3.connect(settings.index_dir / FILENAME) as db:
            db.execute("INSERT INTO lexical_pending VALUES (?)", (doc_id,))

    kill_inside_the_lexical_write()
    assert ingest([corpus_copy], settings, embedder=embedder).unchanged == 4
    assert_consistent(settings.index_dir)

    kill_inside_the_lexical_write()
    reader = open_index(settings, embedder)
    assert {c.doc_id for c, _ in reader.lexical(reader.chunk_text(reader.chunks_of(doc_id)[0]), 3)} >= {doc_id}
    assert_consistent(settings.index_dir)
