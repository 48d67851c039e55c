"""The HTTP API, over a real server on 127.0.0.1 with the real index and model."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, urlsplit

import httpx
import pytest
from tests.conftest import ROOT, SAMPLE_CORPUS
from tests.live_server import EVIL_DOC_ID, EVIL_QUESTION, EVIL_TEXT, LiveServer, corpus_with_evil_document, free_port

from qa.web import ui_html
from qa.citations import ResolvedCitation
from qa.config import Config
from qa.results import Answer, AnswerSentence, Citation, Passage
from qa.service import Assistant

QUESTION = "How many people have left Chechnya to join the fighting in Syria?"
QUESTIONS = [
    QUESTION,
    "How old were the attackers in the Chechnya attacks?",
    "How many gunmen were killed in Grozny?",
    "Where did Russian special forces wipe out an ISIS-linked cell?",
    "What weapons did the special forces find in the raid?",
    "Who refused to confirm Kadyrov's remarks?",
    "How many people live in Nalchik?",
    "Where was Ramzan Kadyrov during the attacks?",
]


@pytest.fixture(scope="module")
def served(tmp_path_factory, embedder) -> Assistant:
    """The sample corpus plus one document full of markup, indexed for this module."""
    root = tmp_path_factory.mktemp("api")
    corpus = corpus_with_evil_document(SAMPLE_CORPUS, root / "corpus")
    assistant = Assistant(Config(index_dir=root / "index", corpus_dir=corpus), embedder=embedder)
    assistant.ingest()
    return assistant


@pytest.fixture(scope="module")
def api(served):
    with LiveServer(served) as server, httpx.Client(base_url=server.url + "/api", timeout=60) as client:
        yield client


def assert_error(response: httpx.Response, status: int | tuple[int, ...], *words: str) -> str:
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, response.text
    assert response.headers["content-type"].startswith("application/json")
    message = response.json()["error"]
    assert isinstance(message, str) and message
    assert "Traceback" not in message
    for word in words:
        assert word in message.lower()
    return message


# --- health and ask -------------------------------------------------------------------------------
def test_health(api):
    body = api.get("/health").json()
    assert body["status"] == "ok" and body["documents"] == 5


def test_ask_answers_with_a_citation_that_quotes_the_document(api):
    response = api.post("/ask", json={"question": QUESTION})
    assert response.status_code == 200
    body = response.json()
    assert not body["abstained"] and body["mode"] == "extractive"
    assert "405" in body["answer"]
    assert body["citations"] and "[1]" in body["answer"]
    for citation in body["citations"]:
        document = api.get(f"/documents/{quote(citation['doc_id'])}").json()
        assert document["text"][citation["start"]:citation["end"]] == citation["quote"]
        assert citation["id"] == f"{citation['doc_id']}:{citation['start']}-{citation['end']}"
    assert set(body) >= {"question", "answer", "abstained", "mode", "citations", "passages", "timings_ms"}


def test_ask_follow_up_uses_history(api):
    """The history reaches the service: the follow-up is searched with its subject filled in."""
    follow_up = "and how many of them were killed?"
    body = api.post("/ask", json={"question": follow_up, "history": [QUESTION], "top_k": 3}).json()
    assert body["question"] == follow_up and not body["abstained"]
    assert body["query"] != follow_up and "chechnya" in body["query"].lower()


def test_ask_abstains_on_a_question_the_corpus_cannot_answer(api):
    body = api.post("/ask", json={"question": "What is the boiling point of liquid nitrogen in Kelvin?"}).json()
    assert body["abstained"] is True
    assert body["citations"] == []


@pytest.mark.parametrize(
    "payload, status, words",
    [
        ({"question": ""}, 400, ["empty"]),
        ({"question": "   \n\t "}, 400, ["empty"]),
        ({"question": "x" * 100_000}, 400, ["100,000", "limit"]),
        ({"question": 42}, 422, ["question"]),
        ({"question": None}, 422, ["question"]),
        ({"question": ["a", "list"]}, 422, ["question"]),
        ({}, 422, ["question"]),
        ({"question": "Grozny?", "top_k": 0}, 400, ["top_k"]),
        ({"question": "Grozny?", "top_k": 51}, 400, ["top_k"]),
        ({"question": "Grozny?", "top_k": -3}, 400, ["top_k"]),
        ({"question": "Grozny?", "top_k": "5"}, 422, ["top_k"]),
        ({"question": "Grozny?", "top_k": 2.5}, 422, ["top_k"]),
        ({"question": "Grozny?", "top_k": True}, 422, ["top_k"]),
        ({"question": "Grozny?", "mode": "poetry"}, 400, ["mode"]),
        ({"question": "Grozny?", "mode": "llm"}, 400, ["llm"]),
        ({"question": "Grozny?", "history": "not a list"}, 422, ["history"]),
        ({"question": "Grozny?", "history": [1, 2]}, 422, ["history"]),
        ({"question": "Grozny?", "topk": 3}, 422, ["topk"]),
        (["question"], 422, ["json object"]),
        ("just a string", 422, ["json object"]),
    ],
)
def test_ask_rejects_bad_input_with_a_json_error(api, payload, status, words):
    assert_error(api.post("/ask", json=payload), status, *words)


@pytest.mark.parametrize(
    "content, headers",
    [
        (b"{not json", {"content-type": "application/json"}),
        (b'{"question": "Grozny?"', {"content-type": "application/json"}),
        (b"\xff\xfe\x00garbage", {"content-type": "application/json"}),
        (b"question=Grozny", {"content-type": "application/x-www-form-urlencoded"}),
        (b"", {"content-type": "application/json"}),
        (b'{"question": "Grozny?"}', {"content-type": "text/plain"}),
    ],
)
def test_ask_rejects_bodies_that_are_not_a_json_object(api, content, headers):
    assert_error(api.post("/ask", content=content, headers=headers), (400, 422))


def test_ask_refuses_a_huge_body(api):
    huge = json.dumps({"question": "x" * 2_000_000})
    assert_error(api.post("/ask", content=huge, headers={"content-type": "application/json"}), 413, "bytes")


def test_wrong_method_and_unknown_route_are_json(api):
    assert_error(api.get("/ask"), 405)
    assert_error(api.get("/nothing-here"), 404, "no route")


# --- search ---------------------------------------------------------------------------------------
def test_search_ranks_passages(api):
    body = api.get("/search", params={"q": "gunmen killed in Grozny", "top_k": 3}).json()
    assert body["query"] == "gunmen killed in Grozny"
    assert 1 <= len(body["results"]) <= 3
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)
    assert {"id", "doc_id", "title", "start", "end", "text", "score"} <= set(body["results"][0])


@pytest.mark.parametrize(
    "params, status, words",
    [
        ({}, 422, ["q"]),
        ({"q": ""}, 400, ["empty"]),
        ({"q": "x" * 10_000}, 400, ["limit"]),
        ({"q": "Grozny", "top_k": "abc"}, 422, ["top_k"]),
        ({"q": "Grozny", "top_k": 0}, 400, ["top_k"]),
        ({"q": "Grozny", "top_k": 1000}, 400, ["top_k"]),
    ],
)
def test_search_rejects_bad_input(api, params, status, words):
    assert_error(api.get("/search", params=params), status, *words)


# --- citations ------------------------------------------------------------------------------------
def test_citation_resolves_to_span_and_context(api):
    citation = api.post("/ask", json={"question": QUESTION}).json()["citations"][0]
    body = api.get(f"/citations/{quote(citation['id'], safe='')}").json()
    assert body["id"] == citation["id"] and body["quote"] == citation["quote"]
    assert body["title"] and body["start"] == citation["start"] and body["end"] == citation["end"]
    assert {"context_before", "context_after", "date", "document_length"} <= set(body)
    # Unencoded, the same id works too: only `#` and `?` need escaping in a URL path.
    assert api.get(f"/citations/{citation['id']}").json()["id"] == citation["id"]


@pytest.mark.parametrize(
    "citation_id, status",
    [
        ("not-a-citation", 400),
        ("000_3cdf5aa040d08496.txt:50-10", 400),
        ("000_3cdf5aa040d08496.txt:abc-def", 400),
        ("000_3cdf5aa040d08496.txt:0-99999999", 404),
        ("unknown.txt:0-10", 404),
        ("../../etc/passwd:0-10", 404),
        ("/etc/passwd:0-10", 404),
        ("doc#with#hashes.txt:0-10", 404),
    ],
)
def test_citation_rejects_bad_ids(api, citation_id, status):
    assert_error(api.get(f"/citations/{quote(citation_id, safe='')}"), status)


def test_path_traversal_in_a_raw_path_reads_nothing(api):
    """Sent byte for byte (clients would normalise the dots away), the path still finds nothing."""
    url = urlsplit(str(api.base_url))
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    connection.request("GET", "/api/citations/../../etc/passwd:0-10")
    response = connection.getresponse()
    body = json.loads(response.read())
    assert response.status == 404 and "passwd" in body["error"] and "root:" not in body["error"]
    connection.request("GET", "/api/documents/../../../etc/passwd")
    response = connection.getresponse()
    body = json.loads(response.read())
    assert response.status == 404 and "root:" not in json.dumps(body)
    connection.close()


# --- documents ------------------------------------------------------------------------------------
def test_documents_list_and_one_document(api):
    listed = api.get("/documents").json()["documents"]
    ids = [d["doc_id"] for d in listed]
    assert "000_3cdf5aa040d08496.txt" in ids and EVIL_DOC_ID in ids
    assert {"doc_id", "title", "date", "characters", "chunks"} <= set(listed[0])
    one = api.get("/documents/000_3cdf5aa040d08496.txt").json()
    assert one["text"] == (SAMPLE_CORPUS / "000_3cdf5aa040d08496.txt").read_text(encoding="utf-8")
    assert one["date"] == "2016-12-28" and one["chunks"]


def test_unknown_document_is_404(api):
    assert_error(api.get("/documents/no-such-file.txt"), 404, "no-such-file.txt")


# --- concurrency ----------------------------------------------------------------------------------
def test_concurrent_questions_each_get_their_own_answer(api):
    alone = {q: api.post("/ask", json={"question": q}).json() for q in QUESTIONS}

    def ask(question: str) -> dict:
        with httpx.Client(base_url=str(api.base_url), timeout=120) as client:
            return client.post("/ask", json={"question": question}).json()

    with ThreadPoolExecutor(max_workers=len(QUESTIONS)) as pool:
        together = dict(zip(QUESTIONS, pool.map(ask, QUESTIONS * 2)))  # each twice, all at once
    for question in QUESTIONS:
        assert together[question]["question"] == question
        assert together[question]["answer"] == alone[question]["answer"]
        assert [c["id"] for c in together[question]["citations"]] == [c["id"] for c in alone[question]["citations"]]


# --- markup in documents is text ------------------------------------------------------------------
def test_markup_in_a_document_comes_back_verbatim_as_json_text(api):
    response = api.get(f"/documents/{EVIL_DOC_ID}")
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["text"] == EVIL_TEXT
    answer = api.post("/ask", json={"question": EVIL_QUESTION}).json()
    assert "<script>" in answer["answer"], "the test needs an answer that quotes the markup"


def test_markup_in_a_document_is_escaped_in_the_ui_html(api, served):
    answer = served.ask(EVIL_QUESTION)
    found = served.cite(answer.citations[0].id)
    pages = [
        ui_html.answer_html(answer),
        ui_html.sources_html(answer, {c.n: served.cite(c.id) for c in answer.citations}),
        ui_html.article_html(found, served.document(EVIL_DOC_ID)["text"]),
        ui_html.documents_html(served.documents()),
    ]
    for page in pages:
        assert "<script" not in page and "<img" not in page and "<b>" not in page
        assert 'href="javascript' not in page
    assert "&lt;script&gt;window.__pwned" in pages[0] + pages[1]
    assert "&lt;img src=&quot;x&quot; onerror=" in pages[2]


def test_an_unsupported_sentence_is_marked_in_the_answer():
    """LLM answers can hold claims that no passage supports; the UI must say so, not hide it."""
    supported = Citation("a.txt", 0, 10, n=1, title="A <title>", quote="Ten chars.", supported=True, score=0.9)
    unsupported = Citation("b.txt", 5, 15, n=2, title="B", quote="Other text", supported=False, score=0.2)
    answer = Answer("q?", "Ten chars. [1] Made up <i>claim</i>. [2]", False, "llm", [supported, unsupported],
                    [Passage("a.txt", 0, 30, title="A <title>", text="Ten chars. And twenty more.", score=0.9)],
                    [AnswerSentence("Ten chars.", (1,), True), AnswerSentence("Made up <i>claim</i>.", (2,), False)])
    html = ui_html.answer_html(answer)
    assert html.count('class="qa-unsupported"') == 1 and "unsupported" in html
    assert "Made up &lt;i&gt;claim&lt;/i&gt;." in html
    resolved = ResolvedCitation("b.txt", 5, 15, title="B", date=None, quote="Other text", context_before="ctx ",
                                context_after=" after", context_start=0, context_end=30, document_length=40)
    sources = ui_html.sources_html(answer, {1: None, 2: resolved})
    assert "does not support" in sources and "A &lt;title&gt;" in sources


# --- python app.py on a fresh machine ---------------------------------------------------------------
# Loaded into the server process through PYTHONPATH: logs every address it looks up or connects to.
NETWORK_SPY = """
import sys
def _spy(event, args):
    if event in ("socket.connect", "socket.getaddrinfo"):
        with open(%r, "a") as log:
            log.write(event + " " + repr(args[1] if event == "socket.connect" else args[0]) + "\\n")
sys.addaudithook(_spy)
_spy("socket.getaddrinfo", ("127.0.0.1",))  # proof that the spy is loaded
"""


def test_app_py_builds_the_missing_index_then_serves_without_reaching_out(tmp_path):
    port = free_port()
    spy_dir, spy_log = tmp_path / "spy", tmp_path / "network.log"
    spy_dir.mkdir()
    (spy_dir / "sitecustomize.py").write_text(NETWORK_SPY % str(spy_log))
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update(HF_HUB_OFFLINE="1", QA_INDEX_DIR=str(tmp_path / "fresh-index"), QA_CORPUS_DIR=str(SAMPLE_CORPUS),
               PYTHONPATH=str(spy_dir))
    process = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port)], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 240
        health = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.5)
        assert health is not None and health.json() == {"status": "ok", "documents": 4, "mode": "auto"}
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=30)
        assert page.status_code == 200 and "<html" in page.text.lower()
        for path in ("/config", "/theme.css"):  # what the browser fetches next
            assert httpx.get(f"http://127.0.0.1:{port}{path}", timeout=30).status_code == 200
        answer = httpx.post(f"http://127.0.0.1:{port}/api/ask", json={"question": QUESTION}, timeout=60).json()
        assert answer["citations"]
        assert (tmp_path / "fresh-index").is_dir()
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert "building it from" in output and "4 documents" in output
    assert "Traceback" not in output
    assert spy_log.exists(), "the network spy did not load"
    local = ("127.0.0.1", "localhost", "'127.0.0.1'", "'localhost'", "('127.0.0.1'", "('localhost'", "'/")
    outside = [line for line in spy_log.read_text().splitlines()
               if not line.split(" ", 1)[1].startswith(local)]
    assert outside == [], f"the server reached out: {outside[:10]}"


def test_app_py_reports_a_bad_setting_in_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update(HF_HUB_OFFLINE="1", QA_PORT="not-a-port", QA_INDEX_DIR=str(tmp_path / "i"))
    done = subprocess.run([sys.executable, str(ROOT / "app.py")], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode != 0
    assert "QA_PORT" in done.stderr and "Traceback" not in done.stderr


def test_ui_is_served_beside_the_api(api):
    root = str(api.base_url).removesuffix("/api/")
    assert httpx.get(root + "/", timeout=30).status_code == 200


def test_the_documented_schema_is_the_served_one():
    """docs/openapi.json, which the README points to for the JSON shapes, is what the API serves."""
    from qa.web.api import build_api

    documented = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
    assert documented == build_api(Assistant(Config())).openapi(), \
        "docs/openapi.json is out of date: write build_api(...).openapi() to it again"


# --- adding files -------------------------------------------------------------------------------------
def test_files_added_through_the_api_are_indexed_whole_or_not_at_all(tmp_path, embedder, support_model):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "office.txt").write_text("The Oslo office opened in 2004. It has forty staff.\n", encoding="utf-8")
    config = Config(index_dir=tmp_path / "index", corpus_dir=corpus, max_upload_bytes=2000, max_upload_files=3)
    assistant = Assistant(config, embedder=embedder, support=support_model)
    assistant.ingest()
    note = b"# Lighthouse\n\nThe lighthouse keepers of Zanzibar went on strike in 1931.\n"
    with LiveServer(assistant) as server, httpx.Client(base_url=server.url + "/api", timeout=120) as api:
        added = api.post("/documents", files=[("files", ("lighthouse.md", note, "text/markdown")),
                                              ("files", ("empty.txt", b"", "text/plain"))])
        assert added.status_code == 200, added.text
        first, second = added.json()["files"]
        assert first == {"name": "lighthouse.md", "ok": True, "detail": "1 added"}
        assert second["name"] == "empty.txt" and not second["ok"] and "nothing indexed" in second["detail"]
        ids = [d["doc_id"] for d in api.get("/documents").json()["documents"]]
        assert ids == ["office.txt", "uploads/lighthouse.md"]
        found = api.get("/search", params={"q": "Why did the lighthouse keepers strike?", "top_k": 1}).json()
        assert found["results"][0]["doc_id"] == "uploads/lighthouse.md"
        assert api.get(f"/citations/{found['results'][0]['id']}").json()["quote"] in note.decode()

        # A request that breaks a limit or names a file badly is refused whole, before anything is indexed.
        for files, words in ([("files", ("big.txt", b"x " * 1500, "text/plain"))], "limit"), \
                            ([("files", ("a.txt", b"fine", "text/plain")), ("files", (".env", b"KEY=1", "x/y"))],
                             "not a usable file name"):
            assert_error(api.post("/documents", files=files), 400, words)
        assert_error(api.post("/documents", files=[("files", (f"{n}.txt", b"x", "text/plain")) for n in range(4)]),
                     400, "4 files")
        assert_error(api.post("/documents", content=b"x" * 1_100_000,
                              headers={"content-type": "multipart/form-data; boundary=b"}), 413)
        assert_error(api.post("/documents"), 422)
        assert [d["doc_id"] for d in api.get("/documents").json()["documents"]] == ids
