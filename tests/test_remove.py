"""Removing a document, through the HTTP API of a running server and the CLI: it is gone from
every search and answer at once, and nothing else is lost."""

from __future__ import annotations

import shutil
import subprocess
import sys
from urllib.parse import quote

import httpx
import pytest
from tests.conftest import ROOT, SAMPLE_CORPUS
from tests.live_server import LiveServer

from index.catalog import Catalog
from index.lexical import LexicalIndex
from index.vectors import ChromaVectors
from qa.config import Config
from qa.service import Assistant

QUESTION = "How many people have left Chechnya to join the fighting in Syria?"
GONE = "003_5086438d16222152.txt"  # the document that answers QUESTION


def copy_of(sample_index_dir, tmp_path, embedder, support_model, **settings) -> Assistant:
    shutil.copytree(sample_index_dir, tmp_path / "index")
    config = Config(index_dir=tmp_path / "index", corpus_dir=SAMPLE_CORPUS, **settings)
    return Assistant(config, embedder=embedder, support=support_model)


def stored(assistant: Assistant) -> tuple[set[str], set[str], set[str], dict[str, str]]:
    """Vector ids, catalog chunk ids, lexical ids, and every document's text."""
    settings = assistant.config.index_settings()
    catalog = Catalog(settings.index_dir, read_only=True)
    try:
        chunks, texts = set(catalog.chunks()), catalog.texts()
    finally:
        catalog.close()
    return ChromaVectors(settings).ids(), chunks, set(LexicalIndex.open(settings.index_dir).ids()), texts


def test_delete_takes_the_document_out_of_a_running_server_and_keeps_the_rest(
        sample_index_dir, tmp_path, embedder, support_model):
    assistant = copy_of(sample_index_dir, tmp_path, embedder, support_model)
    before = stored(assistant)
    with LiveServer(assistant) as server, httpx.Client(base_url=server.url + "/api", timeout=120) as api:
        cited = api.post("/ask", json={"question": QUESTION}).json()["citations"][0]
        assert cited["doc_id"] == GONE
        removed = api.delete(f"/documents/{quote(GONE)}")
        assert removed.status_code == 200 and removed.json() == {"removed": GONE}

        assert GONE not in [d["doc_id"] for d in api.get("/documents").json()["documents"]]
        answer = api.post("/ask", json={"question": QUESTION}).json()
        assert all(c["doc_id"] != GONE for c in answer["citations"]) and "405" not in answer["answer"]
        assert all(p["doc_id"] != GONE for p in api.get("/search", params={"q": QUESTION, "top_k": 10}).json()["results"])
        assert api.get(f"/citations/{cited['id']}").status_code == 404
        again = api.delete(f"/documents/{quote(GONE)}")
        assert again.status_code == 404 and GONE in again.json()["error"]

    vectors, chunks, lexical, texts = stored(assistant)
    assert vectors == chunks == lexical  # the three stores agree
    assert vectors == {i for i in before[0] if GONE not in i} and len(vectors) < len(before[0])
    assert texts == {d: t for d, t in before[3].items() if d != GONE}  # every other text as it was
    assert (SAMPLE_CORPUS / GONE).is_file()  # the file itself is left alone


def test_a_read_only_server_refuses_to_remove_and_loses_nothing(sample_index_dir, tmp_path, embedder, support_model):
    assistant = copy_of(sample_index_dir, tmp_path, embedder, support_model, read_only=True)
    before = stored(assistant)
    with LiveServer(assistant) as server, httpx.Client(base_url=server.url + "/api", timeout=120) as api:
        refused = api.delete(f"/documents/{quote(GONE)}")
        assert refused.status_code == 403 and "read-only" in refused.json()["error"]
    assert stored(assistant) == before


def test_the_cli_removes_and_says_so(sample_index_dir, tmp_path, embedder, support_model):
    assistant = copy_of(sample_index_dir, tmp_path, embedder, support_model)
    command = [sys.executable, "-m", "qa.cli", "--index-dir", str(tmp_path / "index"), "remove"]
    run = subprocess.run([*command, GONE], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert run.returncode == 0 and run.stdout.strip() == f"removed {GONE}", run.stderr
    assert GONE not in [d["doc_id"] for d in assistant.documents()]
    missing = subprocess.run([*command, "no-such.txt"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert missing.returncode == 2 and "no indexed document 'no-such.txt'" in missing.stderr


@pytest.mark.parametrize("doc_id", ["../etc/passwd", "uploads/none.txt", "%00"])
def test_removing_what_is_not_indexed_is_a_404_and_changes_nothing(sample_index_dir, tmp_path, embedder,
                                                                    support_model, doc_id):
    assistant = copy_of(sample_index_dir, tmp_path, embedder, support_model)
    before = stored(assistant)
    with LiveServer(assistant) as server, httpx.Client(base_url=server.url + "/api", timeout=120) as api:
        assert api.delete(f"/documents/{quote(doc_id, safe='/')}").status_code == 404
    assert stored(assistant) == before
