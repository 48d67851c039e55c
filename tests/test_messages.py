"""What the user reads: each message of the CLI and the HTTP API says what happened in the user's
own terms (the option they typed, the route they can call) and nothing untrue, on the real sample
index, the real `qa` command and the real server."""

from __future__ import annotations

import json
import os
import queue
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from tests.conftest import ROOT, SAMPLE_CORPUS
from tests.live_server import LiveServer, free_port

from qa.errors import BadInputError, NotFoundError
from qa.uploads import Upload

QUESTION = "How many people have left Chechnya to join the fighting in Syria?"
DOC = "000_3cdf5aa040d08496.txt"


def qa(*args: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    environment.update(HF_HUB_OFFLINE="1", **env)
    return subprocess.run([sys.executable, "-m", "qa.cli", *args], cwd=cwd, env=environment, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def api(assistant):
    with LiveServer(assistant) as live, httpx.Client(base_url=live.url + "/api", timeout=120) as client:
        yield client


# --- qa serve -----------------------------------------------------------------------------------------
def test_a_port_in_use_is_one_line_before_anything_is_announced(sample_index_dir):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = qa("--index-dir", str(sample_index_dir), "serve", "--port", str(port))
    assert done.returncode == 2
    assert done.stderr == f"qa: error: port {port} on 127.0.0.1 is in use; choose another with --port\n"


def test_serving_is_said_once_the_server_takes_connections(sample_index_dir):
    """A script that waits for the line and then calls the API must not be refused."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    environment.update(HF_HUB_OFFLINE="1")
    process = subprocess.Popen([sys.executable, "-m", "qa.cli", "--index-dir", str(sample_index_dir), "serve",
                                "--port", str(port)], cwd=ROOT, env=environment, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stderr], daemon=True).start()
    try:
        said = []
        while not said or not said[-1].startswith("qa: serving"):
            try:
                said.append(lines.get(timeout=240))
            except queue.Empty:
                pytest.fail(f"qa serve did not say it was serving: {said}")
        assert said[-1].startswith(f"qa: serving the chat app on http://127.0.0.1:{port}/"), said
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # refused, were the line said before the socket listens
        assert httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=30).json()["documents"] == 4
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- documents that do not exist ----------------------------------------------------------------------
def test_a_filter_naming_a_missing_document_is_not_found_in_python(assistant):
    with pytest.raises(NotFoundError, match=r"^no indexed document 'nope\.txt'$") as raised:
        assistant.search(QUESTION, filters={"doc_ids": [DOC, "nope.txt"]})
    assert raised.value.doc_ids == ("nope.txt",)
    with pytest.raises(NotFoundError, match=r"^no indexed documents 'a', 'b', 'c', 'd', 'e' and 2 more$"):
        assistant.ask(QUESTION, filters={"doc_ids": list("abcdefg")})


@pytest.mark.parametrize("command", ["ask", "search"])
def test_the_cli_says_a_filtered_document_does_not_exist(sample_index_dir, command):
    done = qa("--index-dir", str(sample_index_dir), command, QUESTION, "--doc", "nope.txt")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == "qa: error: no indexed document 'nope.txt'; 'qa docs' lists them\n"


def test_the_api_says_a_filtered_document_does_not_exist(api):
    for route, body in [("/ask", {"question": QUESTION}), ("/search", {"query": QUESTION})]:
        reply = api.post(route, json={**body, "filters": {"doc_ids": ["nope.txt"]}})
        assert reply.status_code == 404, route
        assert reply.json() == {"error": "no indexed document 'nope.txt'; GET /api/documents lists them"}


def test_404s_point_each_front_end_to_its_own_listing(api, sample_index_dir):
    for path in ("/documents/nope.txt", "/citations/nope.txt:0-10"):
        reply = api.get(path)
        assert reply.status_code == 404
        assert reply.json()["error"] == "no indexed document 'nope.txt'; GET /api/documents lists them"
    outside = api.get(f"/citations/{DOC}:0-999999").json()["error"]  # the document exists: no listing
    assert "lists them" not in outside and DOC in outside
    done = qa("--index-dir", str(sample_index_dir), "cite", "nope.txt:0-10")
    assert done.returncode == 2 and done.stderr == "qa: error: no indexed document 'nope.txt'; 'qa docs' lists them\n"


# --- bad input, in the user's terms ---------------------------------------------------------------------
def test_the_cli_names_the_filter_option_the_api_its_field(sample_index_dir, api):
    done = qa("--index-dir", str(sample_index_dir), "ask", QUESTION, "--since", "2016-13-45")
    assert done.returncode == 2 and done.stderr == "qa: error: --since must be a date written YYYY-MM-DD\n"
    done = qa("--index-dir", str(sample_index_dir), "search", QUESTION,
              "--since", "2017-01-01", "--until", "2016-01-01")
    assert done.returncode == 2 and done.stderr == "qa: error: --since is after --until\n"
    reply = api.post("/ask", json={"question": QUESTION, "filters": {"since": "2016-13-45"}})
    assert reply.status_code == 400 and reply.json()["error"] == "filters.since must be a date written YYYY-MM-DD"


def test_a_reversed_span_is_called_reversed(sample_index_dir):
    done = qa("--index-dir", str(sample_index_dir), "cite", f"{DOC}:500-100")
    assert done.returncode == 2 and "the span 500-100 is reversed: its start is after its end" in done.stderr
    assert "empty" not in done.stderr
    done = qa("--index-dir", str(sample_index_dir), "cite", f"{DOC}:100-100")
    assert done.returncode == 2 and "the span 100-100 is empty" in done.stderr


def test_a_missing_file_given_from_python_is_named(assistant, tmp_path):
    with pytest.raises(BadInputError, match=r"^no such file: notes\.md$"):
        assistant.add_files([Upload("notes.md", tmp_path / "notes.md")])


# --- counts, summaries, snippets ------------------------------------------------------------------------
def test_ingest_says_what_it_did_and_what_the_index_holds_and_how_to_convert_latin1(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "office.txt").write_text("The Oslo office opened in 2004.\n", encoding="utf-8")
    (corpus / "café notes.txt").write_bytes("The café opened in 1998.\n".encode("latin-1"))
    index = str(tmp_path / "index")

    first = qa("--index-dir", index, "ingest", str(corpus))
    assert first.returncode == 1
    assert re.fullmatch(r"1 added, 0 updated, 0 removed, 0 unchanged, 1 skipped in \d+\.\ds; "
                        r"the index holds 1 document, 1 chunk\n", first.stdout), first.stdout
    [skipped] = first.stderr.splitlines()
    hint = ("iconv -f latin1 -t utf-8 'café notes.txt' > 'café notes.txt.utf8' "
            "&& mv 'café notes.txt.utf8' 'café notes.txt'")
    assert "not UTF-8: invalid byte 0xe9 at offset 7; if it is Latin-1, convert it: " + hint in skipped
    listed = qa("--index-dir", index, "docs")
    assert listed.stdout == "office.txt\t-\t1 chunk\tThe Oslo office opened in 2004.\n"

    subprocess.run(hint, shell=True, cwd=corpus, check=True)  # the command as the hint gives it
    second = qa("--index-dir", index, "ingest", str(corpus))
    assert second.returncode == 0, second.stderr
    assert re.fullmatch(r"1 added, 0 updated, 0 removed, 1 unchanged, 0 skipped in \d+\.\ds; "
                        r"the index holds 2 documents, 2 chunks\n", second.stdout), second.stdout


def test_search_snippets_are_indented_and_cut_between_words(sample_index_dir):
    args = ("--index-dir", str(sample_index_dir), "search", "Kadyrov spy network", "--top-k", "3")
    passages = [p["text"] for p in json.loads(qa(*args, "--json").stdout)["results"]]
    shown = qa(*args).stdout.rstrip("\n").split("\n\n")
    assert len(shown) == len(passages) == 3
    cut = 0
    for block, passage in zip(shown, passages):
        header, *lines = block.split("\n")
        assert re.match(r"\d\. ", header) and lines
        assert all(line.startswith("   ") and line.strip() for line in lines), block
        snippet = " ".join(" ".join(lines).split())
        whole = " ".join(passage.split())
        if snippet.endswith("…"):
            cut += 1
            snippet = snippet.removesuffix("…")
            assert whole.startswith(snippet) and whole[len(snippet)] == " ", snippet[-40:]  # a whole word last
        else:
            assert snippet == whole
    assert cut  # passages are longer than a snippet


# --- libraries keep quiet -----------------------------------------------------------------------------
def test_the_first_start_shows_no_library_logs(tmp_path):
    """On a machine without the int8 models yet, making them (onnxruntime's quantiser warns through
    the root logger) print nothing of theirs."""
    home, index = tmp_path / "home", str(tmp_path / "index")
    home.mkdir()
    ingested = qa("--index-dir", index, "ingest", str(SAMPLE_CORPUS), HOME=str(home))
    assert ingested.returncode == 0 and ingested.stderr == "", ingested.stderr
    asked = qa("--index-dir", index, "ask", QUESTION, HOME=str(home))
    assert asked.returncode == 0 and asked.stderr == "", asked.stderr
    assert "405" in asked.stdout and asked.stdout.endswith("\n")
    assert len(list((home / ".cache" / "qa-corpus" / "models").glob("*/model-int8.onnx"))) == 3  # the embedder, the support model and the span reader


# --- the README ---------------------------------------------------------------------------------------
def readme_python_snippet() -> str:
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("\n## From Python\n", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readme_python_snippet_runs_as_written(tmp_path):
    """From the root of a checkout with no index yet, as a newcomer runs it."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    environment.update(HF_HUB_OFFLINE="1", QA_INDEX_DIR=str(tmp_path / "index"))
    done = subprocess.run([sys.executable, "-c", readme_python_snippet()], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "405" in done.stdout
    assert "\nREADME.md True 1 added\n" in done.stdout  # the streamed answer ended its line
