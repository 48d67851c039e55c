"""Word documents (.docx), written here with python-docx: read as HTML is read (headings, list items,
table cells and paragraphs are paragraphs of the text), cited with exact offsets into that text;
a damaged one is one line and the rest of its folder is indexed; other kinds are listed as skipped."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import docx
import pytest
from tests.conftest import ROOT

from index.loaders import load_paths
from qa.config import Config
from qa.service import Assistant
from qa.uploads import Upload

QUESTION = "Why did the lighthouse keepers of Ålesund go on strike?"
STRIKE = ("The lighthouse keepers of Ålesund went on strike in 1931 because they wanted brass oil lamps "
          "instead of tallow candles.")
REPORT_TEXT = "\n\n".join([
    "Harbour report — Ålesund",
    STRIKE + " The strike ended after twelve days.",
    "What the harbour office promised",
    "Forty brass lamps by spring.",
    "A new keeper’s cottage at Ørnes.",
    "Year", "Lamps", "Keepers",
    "1931", "40", "9 (not the eleven the first report gave)",
    "Søren Kjærgaard signed for the harbour office.",
])


def write_report(path: Path, title: str = "", created: dt.datetime | None = None) -> Path:
    """A report with a heading, a paragraph in two runs, a sub-heading, a bulleted and a numbered
    item, a table and a signature, much of it in Norwegian and Danish letters."""
    document = docx.Document()
    document.core_properties.title = title
    if created:
        document.core_properties.created = created
    document.add_heading("Harbour report — Ålesund", level=1)
    paragraph = document.add_paragraph(STRIKE + " ")
    paragraph.add_run("The strike ended after twelve days.").bold = True
    document.add_heading("What the harbour office promised", level=2)
    document.add_paragraph("Forty brass lamps by spring.", style="List Bullet")
    document.add_paragraph("A new keeper’s cottage at Ørnes.", style="List Number")
    table = document.add_table(rows=2, cols=3)
    cells = [cell for row in table.rows for cell in row.cells]
    for cell, text in zip(cells, ["Year", "Lamps", "Keepers", "1931", "40",
                                  "9 (not the eleven the first report gave)"]):
        cell.text = text
    document.add_paragraph("Søren  Kjærgaard\tsigned for the harbour office.")  # blanks as HTML reads them
    document.save(path)
    return path


@pytest.fixture
def folder(tmp_path) -> Path:
    """A report titled in its properties, one titled by its first heading, a damaged .docx, an
    image and a note."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_report(corpus / "report.docx", title="Ålesund harbour, 1931", created=dt.datetime(2021, 3, 4, 9, 30))
    second = docx.Document()
    second.core_properties.title = ""
    second.add_heading("Minutes of the lamp committee", level=1)
    second.add_paragraph("The committee chose brass lamps from Bergen.")
    second.save(corpus / "minutes.docx")
    (corpus / "broken.docx").write_bytes(write_report(tmp_path / "whole.docx").read_bytes()[:3000])
    (corpus / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (corpus / "note.txt").write_text("The harbour office kept the lamp oil in a shed.\n", encoding="utf-8")
    return corpus


def test_paragraphs_headings_list_items_and_table_cells_are_the_paragraphs_of_the_text(tmp_path):
    [document] = load_paths([write_report(tmp_path / "report.docx", created=dt.datetime(2021, 3, 4))])
    assert document.text == REPORT_TEXT
    assert document.title == "Harbour report — Ålesund"  # no title in its properties: its first heading
    assert document.date == "2021-03-04"


def repacked(path: Path, change) -> bytes:
    """The package at `path` written again, each part's bytes as `change(name, data)` gives them
    (None leaves the part out)."""
    out = io.BytesIO()
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            data = change(name, source.read(name))
            if data is not None:
                target.writestr(name, data)
    return out.getvalue()


def test_a_package_without_core_properties_takes_its_first_heading_and_no_date(tmp_path):
    """python-docx makes up properties for such a package: the title "Word Document", saved just now."""
    def without_properties(name: str, data: bytes) -> bytes | None:
        if name == "docProps/core.xml":
            return None
        return re.sub(rb"<Relationship [^>]*core-properties[^>]*/>", b"", data) if name == "_rels/.rels" else data

    path = tmp_path / "plain.docx"
    path.write_bytes(repacked(write_report(tmp_path / "report.docx", title="Not this"), without_properties))
    [document] = load_paths([path])
    assert (document.title, document.date) == ("Harbour report — Ålesund", None)
    assert document.text == REPORT_TEXT


def test_a_part_whose_compressed_data_is_damaged_is_one_line_and_the_rest_is_read(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    raw = bytearray(write_report(tmp_path / "report.docx").read_bytes())
    with zipfile.ZipFile(io.BytesIO(raw)) as package:
        part = package.getinfo("word/document.xml")
    data = part.header_offset + 30 + len(part.filename) + len(part.extra)  # after the part's local header
    for i in range(data + 10, data + 60):
        raw[i] ^= 0x55
    (corpus / "damaged.docx").write_bytes(bytes(raw))
    (corpus / "note.txt").write_text("The harbour office kept the lamp oil in a shed.\n", encoding="utf-8")

    damaged, note = load_paths([corpus])
    assert damaged.message == ("cannot read Word document: a part of the package is damaged (its compressed data "
                               "does not unpack)")
    assert note.doc_id == "note.txt"


def test_a_docx_is_indexed_asked_and_cited_to_its_exact_text(folder, tmp_path, embedder, support_model):
    assistant = Assistant(Config(index_dir=tmp_path / "index", corpus_dir=folder), embedder=embedder,
                          support=support_model)
    report = assistant.ingest()

    problems = {Path(e.path).name: e.message for e in report.errors}
    assert set(problems) == {"broken.docx", "photo.png"}
    assert problems["broken.docx"].startswith("cannot read Word document: ") and "\n" not in problems["broken.docx"]
    assert problems["photo.png"].startswith("unsupported file type '.png'; expected one of ")
    documents = {d["doc_id"]: d for d in assistant.documents()}
    assert set(documents) == {"report.docx", "minutes.docx", "note.txt"}
    assert (documents["report.docx"]["title"], documents["report.docx"]["date"]) == ("Ålesund harbour, 1931",
                                                                                      "2021-03-04")
    assert documents["minutes.docx"]["title"] == "Minutes of the lamp committee"

    answer = assistant.ask(QUESTION)
    assert not answer.abstained and answer.citations
    citation = answer.citations[0]
    assert citation.doc_id == "report.docx" and citation.quote == STRIKE
    text = assistant.document("report.docx")["text"]
    assert text == REPORT_TEXT and text[citation.start:citation.end] == citation.quote
    found = assistant.cite(citation.id)
    assert (found.quote, found.title, found.date) == (STRIKE, "Ålesund harbour, 1931", "2021-03-04")
    assert found.context_after.startswith(" The strike ended after twelve days.")

    table_cell = assistant.search("how many keepers, not the eleven of the first report", top_k=1)[0]
    assert table_cell.doc_id == "report.docx" and text[table_cell.start:table_cell.end] == table_cell.text


def test_qa_ingest_says_a_damaged_docx_in_one_line_and_indexes_the_rest(folder, tmp_path):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("QA_")} | {"HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "qa.cli", "--index-dir", str(tmp_path / "index"), "ingest",
                           str(folder)], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1  # files were skipped
    lines = done.stderr.splitlines()
    assert len(lines) == 2, done.stderr
    broken, photo = sorted(lines)
    assert broken.startswith(f"qa: skipped {folder / 'broken.docx'}: cannot read Word document: ")
    assert photo.startswith(f"qa: skipped {folder / 'photo.png'}: unsupported file type '.png'")
    assert done.stdout.startswith("3 added, 0 updated, 0 removed, 0 unchanged, 2 skipped in ")


def test_an_upload_batch_says_what_became_of_each_file(tmp_path, embedder, support_model):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "note.txt").write_text("The harbour office kept the lamp oil in a shed.\n", encoding="utf-8")
    assistant = Assistant(Config(index_dir=tmp_path / "index", corpus_dir=corpus), embedder=embedder,
                          support=support_model)
    assistant.ingest()
    sent = tmp_path / "sent"
    sent.mkdir()
    (sent / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (sent / "damaged.docx").write_bytes(b"PK\x03\x04 not the rest of a package")
    files = [Upload("report.docx", write_report(sent / "report.docx")), Upload("photo.png", sent / "photo.png"),
             Upload("damaged.docx", sent / "damaged.docx")]

    outcomes = {o.name: o for o in assistant.add_files(files)}

    assert (outcomes["report.docx"].ok, outcomes["report.docx"].detail) == (True, "1 added")
    assert not outcomes["photo.png"].ok and "unsupported file type '.png'" in outcomes["photo.png"].detail
    assert not outcomes["damaged.docx"].ok
    assert outcomes["damaged.docx"].detail == ("nothing indexed: cannot read Word document: not a .docx package "
                                               "(a .doc, or an encrypted document? save it as .docx)")
    assert [d["doc_id"] for d in assistant.documents()] == ["note.txt", "uploads/report.docx"]
    assert assistant.document("uploads/report.docx")["text"] == REPORT_TEXT
