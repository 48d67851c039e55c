"""Faults of the uploads and of the web layer around them, each tried on the real server on
127.0.0.1 (real index, real model, real files): a write that meets another is told "busy" at once,
ids and names that would mislead are refused, the server fetches no URL for a client, other
origins get no CORS headers, a stop does not wait for an upload, and the API's errors keep their shape.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from tests.conftest import ROOT, SAMPLE_CORPUS
from tests.live_server import LiveServer, free_port

from index.ingest import ingest
from qa.config import Config
from qa.errors import INDEX_BUSY
from qa.service import Assistant

CORPUS_DOC = "000_3cdf5aa040d08496.txt"
MISSING = "/api/documents/uploads/no-such-document.txt"


def start(tmp_path_factory, sample_index_dir, embedder, name: str, **settings) -> LiveServer:
    """The real app over its own copy of the sample index."""
    root = tmp_path_factory.mktemp(name)
    shutil.copytree(sample_index_dir, root / "index")
    return LiveServer(Assistant(Config(index_dir=root / "index", corpus_dir=SAMPLE_CORPUS, **settings),
                                embedder=embedder))


@pytest.fixture(scope="module")
def server(tmp_path_factory, sample_index_dir, embedder):
    with start(tmp_path_factory, sample_index_dir, embedder, "faults") as live:
        yield live


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.url, timeout=120) as http:
        yield http


def big_document(parts: int = 120) -> bytes:
    """Some KB of the sample articles: 120 parts are 450 KB, 570 chunks, 20 s or more of embedding on 2 cores."""
    texts = [p.read_text(encoding="utf-8") for p in sorted(SAMPLE_CORPUS.glob("*.txt"))]
    return "\n\n".join(f"Part {i}.\n\n{texts[i % len(texts)]}" for i in range(parts)).encode()


def wait_until_writing(http: httpx.Client, seconds: float = 120) -> None:
    """Until the server says that an upload is writing: removing a missing document is then refused as busy."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = http.delete(MISSING).status_code
        assert status in (404, 409), status
        if status == 409:
            return
        time.sleep(0.1)
    raise AssertionError("the upload never started indexing")


def assert_busy(response: httpx.Response) -> None:
    assert response.status_code == 409, response.text
    assert response.json() == {"error": INDEX_BUSY}


def gradio_add_files(http: httpx.Client, *files: tuple[str, bytes]) -> str:
    """The Corpus tab: Gradio's upload route, then the "Add to the index" event; returns the log it shows."""
    stored = http.post("/gradio_api/upload", files=[("files", file) for file in files])
    assert stored.status_code == 200, stored.text
    data = {"data": [[{"path": path, "meta": {"_type": "gradio.FileData"}} for path in stored.json()]]}
    event = http.post("/gradio_api/call/add_files", json=data)
    assert event.status_code == 200, event.text
    stream = http.get(f"/gradio_api/call/add_files/{event.json()['event_id']}").text
    last = [line for line in stream.splitlines() if line.startswith("data:")][-1]
    return json.loads(last.removeprefix("data:"))[0]


def documents(http: httpx.Client) -> set[str]:
    return {d["doc_id"] for d in http.get("/api/documents").json()["documents"]}


# --- 1. busy is said as busy -------------------------------------------------------------------------
def test_while_an_upload_indexes_other_writes_are_told_busy_at_once(tmp_path_factory, sample_index_dir, embedder):
    """Once, a removal got a 503 ("the index cannot be read") and a second upload hung until the first ended."""
    with start(tmp_path_factory, sample_index_dir, embedder, "busy") as live, \
            httpx.Client(base_url=live.url, timeout=300) as http:
        before = documents(http)
        first: dict[str, httpx.Response] = {}
        worker = threading.Thread(target=lambda: first.setdefault("reply", http.post(
            "/api/documents", files=[("files", ("big.txt", big_document(60)))])))
        worker.start()
        wait_until_writing(http)

        assert_busy(http.delete(f"/api/documents/{CORPUS_DOC}"))
        began = time.monotonic()
        assert_busy(http.post("/api/documents", files=[("files", ("second.md", b"A second note.\n"))]))
        assert time.monotonic() - began < 5
        assert INDEX_BUSY in gradio_add_files(http, ("third.md", b"A third note.\n"))
        assert worker.is_alive(), "the upload ended before the others were tried; make it longer"

        worker.join()
        reply = first["reply"]
        assert reply.status_code == 200 and reply.json()["files"][0]["ok"], reply.text
        assert documents(http) == before | {"uploads/big.txt"}
        assert http.delete(f"/api/documents/{CORPUS_DOC}").status_code == 200  # and once it has ended, they go


def test_the_schema_lists_the_busy_replies(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    assert "409" in paths["/documents"]["post"]["responses"]
    assert "409" in paths["/documents/{doc_id}"]["delete"]["responses"]
    assert "409" not in paths["/ask"]["post"]["responses"]


# --- 2. document ids of JSONL records -------------------------------------------------------------------
BAD_IDS = {
    "long": ("x" * 201, "201 characters long; the limit is 200"),
    "line break": ("notes\nrm -rf", "control character"),
    "tab": ("a\tb", "control character"),
    "line separator": ("a\u2028b", "control character"),
    "parent": ("papers/../../etc", "'..' part"),
    "dots": ("..", "'..' part"),
    "absolute": ("/etc/passwd", "starts with '/'"),
}


def jsonl(bad_id: str) -> str:
    records = [{"_id": "good-1", "text": "The harbour office kept forty brass lamps in store."},
               {"id": bad_id, "text": "A record under an id that must not be."}]
    return "\n".join(json.dumps(record) for record in records) + "\n"


@pytest.mark.parametrize("name", BAD_IDS)
def test_qa_ingest_refuses_a_record_id_that_would_mislead(tmp_path, embedder, name):
    bad_id, words = BAD_IDS[name]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "papers.jsonl").write_text(jsonl(bad_id), encoding="utf-8")
    report = ingest([corpus], Config(index_dir=tmp_path / "index").index_settings(), embedder=embedder)
    assert [(e.line, words in e.message) for e in report.errors] == [(2, True)], report.errors
    assert report.added == 1  # the good record; the bad line only is skipped, as any bad line is


def test_an_upload_with_a_misleading_record_id_indexes_nothing(client):
    before = documents(client)
    for name, (bad_id, words) in BAD_IDS.items():
        reply = client.post("/api/documents", files=[("files", ("papers.jsonl", jsonl(bad_id).encode()))])
        assert reply.status_code == 200, reply.text
        outcome = reply.json()["files"][0]
        assert not outcome["ok"] and "line 2" in outcome["detail"] and words in outcome["detail"], (name, outcome)
        assert "\n" not in outcome["detail"]
    assert documents(client) == before


# --- 3. two files of one name in one request ------------------------------------------------------------
def test_two_files_of_one_name_in_one_upload_are_refused(client):
    before = documents(client)
    reply = client.post("/api/documents", files=[("files", ("notes.md", b"The first note.\n")),
                                                 ("files", ("notes.md", b"The second note, same name.\n"))])
    assert reply.status_code == 400
    assert reply.json() == {"error": "two files are named notes.md; rename one of them"}
    assert documents(client) == before
    log = gradio_add_files(client, ("notes.md", b"The first note.\n"), ("notes.md", b"The second note.\n"))
    assert "two files are named notes.md" in log
    assert documents(client) == before


# --- 4. Gradio's URL fetching is off -----------------------------------------------------------------------
class _Recorder(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 (the name http.server calls)
        _Recorder.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"inside the network")

    do_HEAD = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture
def other_server():
    """A little HTTP server on another loopback port: what a URL fetched by the app would reach."""
    _Recorder.hits = []
    little = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=little.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{little.server_address[1]}"
    little.shutdown()
    little.server_close()


def test_the_file_route_fetches_no_url(client, other_server, monkeypatch):
    """Gradio fetches an http(s) URL named by `file=` for the client, once its host resolves to a
    public address. This machine has no public address to reach, so here Gradio's check passes
    127.0.0.1 as public: the little server stands for any site the server could be made to fetch."""
    import safehttpx

    async def public(host: str) -> str:
        return "127.0.0.1"

    monkeypatch.setattr(safehttpx, "async_validate_url", public)
    for path in (f"/gradio_api/file={other_server}/x", f"/file={other_server}/x",
                 f"/gradio_api/file={other_server.replace('http', 'HTTP')}/x",
                 "/gradio_api/file=" + other_server.replace("://", "%3A%2F%2F") + "/x",
                 f"/gradio_api/proxy={other_server}/x"):
        for method in ("GET", "HEAD"):
            response = client.request(method, path)
            assert response.status_code == 403, (method, path, response.status_code)
    assert _Recorder.hits == []
    assert httpx.get(f"{other_server}/check").status_code == 200 and _Recorder.hits == ["/check"]  # it was listening


def test_the_file_route_still_serves_no_server_file(client):
    assert client.get("/gradio_api/file=/etc/hostname").status_code in (403, 404)


# --- 5. CORS for the app's own origin only ------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/config", "/gradio_api/info", "/api/health", "/"])
def test_only_the_apps_own_origin_gets_cors_headers(client, server, path):
    for origin in ("http://localhost:3000", "http://127.0.0.1:3000", "http://evil.example", "null"):
        for response in (client.get(path, headers={"origin": origin}),
                         client.options(path, headers={"origin": origin, "access-control-request-method": "POST"})):
            granted = {k: v for k, v in response.headers.items() if k.lower().startswith("access-control-")}
            assert granted == {}, (origin, response.request.method, granted)
    if path in ("/config", "/gradio_api/info"):  # Gradio's own page still reads them
        ours = client.get(path, headers={"origin": server.url})
        assert ours.headers["access-control-allow-origin"] == server.url


# --- 6. a stop during a long upload -------------------------------------------------------------------------
def test_sigterm_during_a_long_upload_stops_the_server_at_once(tmp_path, sample_index_dir, embedder):
    """Once, the server waited for the upload's whole embedding before it stopped."""
    shutil.copytree(sample_index_dir, tmp_path / "index")
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    environment.update(HF_HUB_OFFLINE="1", QA_INDEX_DIR=str(tmp_path / "index"), QA_PORT=str(port))
    with open(tmp_path / "server.log", "w") as log:
        process = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=tmp_path, env=environment,
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300) as http:
            deadline = time.monotonic() + 180
            while True:
                assert process.poll() is None, (tmp_path / "server.log").read_text()
                try:
                    if http.get("/api/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.5)

            def upload() -> None:
                try:
                    http.post("/api/documents", files=[("files", ("big.txt", big_document()))])
                except httpx.TransportError:
                    pass  # the server went away: that is the point

            worker = threading.Thread(target=upload, daemon=True)
            worker.start()
            stored = tmp_path / "index" / "uploads" / "big.txt"  # kept there once checked, then indexed
            while not stored.exists():
                assert worker.is_alive() and time.monotonic() < deadline + 120
                time.sleep(0.1)
            time.sleep(3)  # past loading and chunking, into the embedding
            assert worker.is_alive()
            process.send_signal(signal.SIGTERM)
            began = time.monotonic()
            process.wait(timeout=120)
            stopped_in = time.monotonic() - began
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert stopped_in < 5, ((tmp_path / "server.log").read_text(), stopped_in)

    # The index opens, answers, and takes the next ingest.
    assistant = Assistant(Config(index_dir=tmp_path / "index", corpus_dir=SAMPLE_CORPUS), embedder=embedder)
    listed = {d["doc_id"]: d for d in assistant.documents()}
    assert CORPUS_DOC in listed
    assert "uploads/big.txt" not in listed  # stopped before its one batch was written
    assert assistant.search("Grozny gunmen", top_k=3)
    report = assistant.ingest()
    assert not report.errors and report.unchanged == len([p for p in SAMPLE_CORPUS.glob("*.txt")])
    assert {d["doc_id"] for d in assistant.documents()} == set(listed)


# --- 7. the API's shapes ------------------------------------------------------------------------------------
def test_more_than_one_choice_is_refused_in_openais_shape(client):
    for n in (3, 0, 2):
        reply = client.post("/v1/chat/completions", json={"model": "qa-corpus", "n": n,
                                                          "messages": [{"role": "user", "content": "Grozny?"}]})
        assert reply.status_code == 400, reply.text
        error = reply.json()["error"]
        assert set(error) == {"message", "type", "param", "code"} and "n=1" in error["message"]


@pytest.mark.parametrize("path", ["/api/ask", "/api/search", "/api/verify", "/v1/chat/completions"])
@pytest.mark.parametrize("body", [[1], "x", 5, None])
def test_a_body_that_is_not_an_object_is_told_so(client, path, body):
    reply = client.post(path, content=json.dumps(body), headers={"content-type": "application/json"})
    assert reply.status_code in (400, 422), reply.text
    error = reply.json()["error"]
    message = error["message"] if path.startswith("/v1") else error
    assert "JSON object" in message and "question" not in message, message


@pytest.mark.parametrize("path", ["/api", "/api/", "/api/nope", "/api/nope/deeper"])
def test_unknown_api_paths_answer_in_the_apis_shape(client, path):
    for method in ("GET", "POST"):
        reply = client.request(method, path)
        assert reply.status_code in (404, 405), (method, path, reply.text)
        assert set(reply.json()) == {"error"} and isinstance(reply.json()["error"], str), reply.text


def test_unknown_openai_paths_answer_in_openais_shape(client):
    for path in ("/v1", "/v1/", "/v1/nope"):
        reply = client.get(path)
        assert reply.status_code == 404 and set(reply.json()["error"]) == {"message", "type", "param", "code"}


def test_the_schema_allows_no_empty_question_query_or_answer(client):
    schema = client.get("/api/openapi.json").json()
    models = schema["components"]["schemas"]
    assert models["AskRequest"]["properties"]["question"]["minLength"] == 1
    assert models["SearchRequest"]["properties"]["query"]["minLength"] == 1
    assert models["VerifyRequest"]["properties"]["answer"]["minLength"] == 1
    q = next(p for p in schema["paths"]["/search"]["get"]["parameters"] if p["name"] == "q")
    assert q["schema"]["minLength"] == 1
    for path, body in (("/api/ask", {"question": ""}), ("/api/search", {"query": ""}), ("/api/verify", {"answer": ""})):
        reply = client.post(path, json=body)
        assert reply.status_code == 400 and "empty" in reply.json()["error"]
