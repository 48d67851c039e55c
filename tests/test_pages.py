"""Citations into a PDF carry their page, with offsets exact in the extracted text: in answers,
`cite`, the HTTP API, the CLI and the UI's source cards."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap

import httpx
import pytest
from tests.conftest import ROOT
from tests.live_server import LiveServer
from tests.pdf_files import SURVEY_LINES, write_pdf

from index.catalog import Catalog
from index.loaders import load_file
from index.sentences import sentence_spans
from qa.config import Config
from qa.service import Assistant
from qa.web.ui_html import source_card

PAGES = [
    ["Harbour report of the northern district.", "The northern harbour has two stone piers."],
    [],  # a blank page: the page numbers that follow must still be right
    ["The harbour office ordered forty brass lamps in 1931.", "The lamps arrived by ship in the spring."],
    ["The lighthouse keeper retired after thirty years of service."],
]
QUESTION = "How many brass lamps did the harbour office order?"


@pytest.fixture(scope="module")
def paged(tmp_path_factory, embedder, support_model) -> Assistant:
    root = tmp_path_factory.mktemp("pages")
    (root / "corpus").mkdir()
    write_pdf(root / "corpus" / "harbour.pdf", PAGES)
    (root / "corpus" / "notes.txt").write_text("The harbour master keeps a diary.\n", encoding="utf-8")
    assistant = Assistant(Config(index_dir=root / "index", corpus_dir=root / "corpus"), embedder=embedder,
                          support=support_model)
    assistant.ingest()
    return assistant


def test_a_pdf_citation_names_its_page_and_quotes_the_extracted_text_exactly(paged):
    answer = paged.ask(QUESTION)
    [citation] = [c for c in answer.citations if "forty" in c.quote]
    assert citation.doc_id == "harbour.pdf" and citation.page == 3
    assert paged.reader.text("harbour.pdf")[citation.start:citation.end] == citation.quote
    found = paged.cite(citation.id)
    assert found.page == 3 and found.quote == citation.quote


def test_every_sentence_maps_to_the_page_that_shows_it(paged):
    text = paged.reader.text("harbour.pdf")
    for number, lines in enumerate(PAGES, start=1):
        for line in lines:
            start = text.index(line)
            assert paged.cite(f"harbour.pdf:{start}-{start + len(line)}").page == number


def test_other_documents_have_no_page(paged):
    found = paged.cite("notes.txt:0-33")
    assert found.page is None and found.quote == "The harbour master keeps a diary."


def test_the_api_cli_and_ui_show_the_page(paged):
    with LiveServer(paged) as server, httpx.Client(base_url=server.url + "/api", timeout=120) as api:
        citation = next(c for c in api.post("/ask", json={"question": QUESTION}).json()["citations"]
                        if "forty" in c["quote"])
        assert citation["page"] == 3
        assert api.get(f"/citations/{citation['id']}").json()["page"] == 3
    run = subprocess.run([sys.executable, "-m", "qa.cli", "--index-dir", str(paged.config.index_dir), "cite",
                          citation["id"]], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert run.returncode == 0 and f"{citation['id']}, p. 3" in run.stdout, run.stderr
    answer = paged.ask(QUESTION)
    card = source_card(answer.citations[0], answer.passages, None)
    assert '<span class="qa-page">p. 3</span>' in card


def test_a_catalog_from_before_pages_opens_and_learns_them_on_the_next_ingest(tmp_path, embedder, support_model):
    (tmp_path / "corpus").mkdir()
    write_pdf(tmp_path / "corpus" / "harbour.pdf", PAGES)
    assistant = Assistant(Config(index_dir=tmp_path / "index", corpus_dir=tmp_path / "corpus"), embedder=embedder,
                          support=support_model)
    assistant.ingest()
    with sqlite3.connect(tmp_path / "index" / "catalog.sqlite3") as db:  # as an older version wrote it
        db.execute("ALTER TABLE documents DROP COLUMN pages")
        db.execute("UPDATE documents SET hash = 'written-before-pages'")
    old = Catalog(tmp_path / "index", read_only=True)
    assert old.documents()["harbour.pdf"].pages == ()
    old.close()
    report = assistant.ingest()
    assert report.updated == 1 and assistant.ask(QUESTION).citations[0].page == 3


def test_a_sentence_wrapped_over_lines_of_a_pdf_is_one_sentence(tmp_path):
    paragraph = ("The harbour office ordered forty brass lamps in 1931 from a foundry in the south, and the "
                 "lamps arrived by ship in the spring of the next year. The keeper lit them every night until "
                 "the harbour closed in the winter of 1950, when the piers were given to the navy.")
    lines = textwrap.wrap(paragraph, 70) + [""] + textwrap.wrap(paragraph, 70)
    write_pdf(tmp_path / "wrapped.pdf", [lines])
    [document] = load_file(tmp_path / "wrapped.pdf", tmp_path, "wrapped.pdf", {})
    sentences = [" ".join(document.text[s:e].split()) for s, e in sentence_spans(document.text)]
    assert sentences[:2] == [
        "The harbour office ordered forty brass lamps in 1931 from a foundry in the south, and the lamps "
        "arrived by ship in the spring of the next year.",
        "The keeper lit them every night until the harbour closed in the winter of 1950, when the piers were "
        "given to the navy.",
    ]


def test_a_sentence_over_a_paragraphs_short_last_line_is_one_sentence(tmp_path):
    """No blank line between paragraphs, a short last line to each, "Dr." before the break."""
    write_pdf(tmp_path / "survey.pdf", [SURVEY_LINES])
    [document] = load_file(tmp_path / "survey.pdf", tmp_path, "survey.pdf", {})
    spans = sentence_spans(document.text)
    [(start, end)] = [(s, e) for s, e in spans if "Irina" in document.text[s:e]]
    assert document.text[start:end] == "The survey was led by Dr. Irina\nPetrova."
    assert all("Petrova" not in document.text[s:e] for s, e in spans if s != start)
