"""The server as an attacker meets it: each hole once found, tried again against the real server
on 127.0.0.1 (real index, real model, real files), must now fail safely and leave the corpus as it
was. Then the whole API, fuzzed against its own OpenAPI schema.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from tests.conftest import ROOT, SAMPLE_CORPUS
from tests.live_server import LiveServer, free_port

from qa.web import ui
from qa.config import Config, ConfigError
from qa.errors import BadInputError, ReadOnlyError
from qa.service import Assistant
from qa.uploads import Upload

KEY = "correct-horse-battery-staple-42"
LIMITS = {"max_upload_bytes": 64 * 1024, "max_upload_files": 3, "max_document_chunks": 20}
CORPUS_DOC = "000_3cdf5aa040d08496.txt"
QUESTION = "How many people have left Chechnya to join the fighting in Syria?"
FAKE = "The Grozny attackers were trained by penguins on the Moon, says the uploaded note."


# --- servers ------------------------------------------------------------------------------------
def start(tmp_path_factory, sample_index_dir, embedder, name: str, **settings) -> LiveServer:
    """The real app over a copy of the sample index, with `settings` on top of the defaults."""
    root = tmp_path_factory.mktemp(name)
    shutil.copytree(sample_index_dir, root / "index")
    config = Config(index_dir=root / "index", corpus_dir=SAMPLE_CORPUS, **settings)
    return LiveServer(Assistant(config, embedder=embedder))


@pytest.fixture(scope="module")
def server(tmp_path_factory, sample_index_dir, embedder):
    """No key, small limits: 64 KB a file, 3 files a request, 20 chunks a document."""
    with start(tmp_path_factory, sample_index_dir, embedder, "open", **LIMITS) as live:
        yield live


@pytest.fixture(scope="module")
def keyed(tmp_path_factory, sample_index_dir, embedder):
    with start(tmp_path_factory, sample_index_dir, embedder, "keyed", api_key=KEY) as live:
        yield live


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.url, timeout=120) as http:
        yield http


# --- what an attacker does ------------------------------------------------------------------------
def upload(http: httpx.Client, *files: tuple[str, bytes]) -> list[str]:
    """Gradio's upload route: the files are stored on the server, which replies with their paths."""
    response = http.post("/gradio_api/upload", files=[("files", file) for file in files])
    assert response.status_code == 200, response.text
    return response.json()


def add_files(http: httpx.Client, paths: list[str]) -> str:
    """The Corpus tab's "Add to the index" event, called with whatever paths the client likes;
    returns the whole event stream as text."""
    data = {"data": [[{"path": path, "meta": {"_type": "gradio.FileData"}} for path in paths]]}
    response = http.post("/gradio_api/call/add_files", json=data)
    assert response.status_code == 200, response.text
    stream = http.get(f"/gradio_api/call/add_files/{response.json()['event_id']}")
    assert stream.status_code == 200
    return stream.text


def outcome(stream: str) -> str:
    """The ingest log that the event's last message shows (its first output), or "" on an error."""
    last = [line for line in stream.splitlines() if line.startswith("data:")][-1]
    data = json.loads(last.removeprefix("data:"))
    return data[0] if isinstance(data, list) else ""


def corpus(http: httpx.Client, headers: dict | None = None) -> dict[str, str]:
    """Every indexed document's text, by id, as the API gives it."""
    listed = http.get("/api/documents", headers=headers).json()["documents"]
    return {d["doc_id"]: http.get(f"/api/documents/{quote(d['doc_id'])}", headers=headers).json()["text"]
            for d in listed}


def corpus_part(documents: dict[str, str]) -> dict[str, str]:
    return {doc_id: text for doc_id, text in documents.items() if not doc_id.startswith("uploads/")}


def assert_no_internals(text: str, server: LiveServer) -> None:
    index_dir = str(server.assistant.config.index_dir)
    for leak in (index_dir, "/tmp/", "Errno", "Traceback", "\\u0000", "\x00"):
        assert leak not in text, f"{leak!r} in {text[:500]!r}"


# --- 1. an upload event that names a server file ---------------------------------------------------
@pytest.fixture
def secret(tmp_path) -> Path:
    path = tmp_path / "secret.md"
    path.write_text("The vault code of the harbour office is 7341-alpha.\n", encoding="utf-8")
    return path


def test_an_upload_event_cannot_name_a_file_on_the_server(client, server, secret, tmp_path):
    from gradio.utils import get_upload_folder

    folder = Path(get_upload_folder())
    inside = folder / f"qa-test-{os.getpid()}-{time.monotonic_ns()}"
    inside.mkdir(parents=True)
    (inside / "link.md").symlink_to(secret)  # a link placed in the upload folder, to a file outside
    before = corpus(client)
    attempts = {
        "existing": [str(secret)],
        "missing": [str(tmp_path / "no-such-file.md")],
        "traversal": [f"{folder}/../../{secret}"],
        "link": [str(inside / "link.md")],
    }
    try:
        replies = {name: add_files(client, paths) for name, paths in attempts.items()}
    finally:
        shutil.rmtree(inside)
    for name, reply in replies.items():
        assert "7341-alpha" not in reply and "vault" not in reply, name
        assert_no_internals(reply, server)
        assert "1 added" not in reply, name
    # The same refusal whether or not the file exists: nothing to learn about the file system.
    assert replies["existing"] == replies["missing"]
    after = corpus(client)
    assert after == before
    assert not any("7341-alpha" in text for text in after.values())


def test_the_ui_takes_only_resolved_paths_inside_the_upload_folder(secret):
    """Gradio refuses such paths first; the app's own check stands behind it."""
    from gradio.utils import get_upload_folder

    folder = Path(get_upload_folder())
    for path in (str(secret), f"{folder}/../../{secret}", str(folder / "x" / "missing.md"), ""):
        with pytest.raises(BadInputError, match="upload"):
            ui._uploaded([path])


# --- 2. an upload named like a corpus document ----------------------------------------------------
def test_an_upload_named_like_a_corpus_document_lives_beside_it(client, server):
    before = corpus(client)
    reply = add_files(client, upload(client, (CORPUS_DOC, FAKE.encode())))
    assert "1 added" in outcome(reply)
    assert_no_internals(reply, server)

    after = corpus(client)
    assert corpus_part(after) == corpus_part(before)  # the article is untouched
    assert after[f"uploads/{CORPUS_DOC}"] == FAKE
    # Answers still cite the article's own text under its id.
    answer = client.post("/api/ask", json={"question": QUESTION}).json()
    for citation in answer["citations"]:
        if citation["doc_id"] == CORPUS_DOC:
            assert citation["quote"] in before[CORPUS_DOC]
    resolved = client.get(f"/api/citations/{quote(CORPUS_DOC)}:0-40").json()
    assert resolved["quote"] == before[CORPUS_DOC][:40]

    # The same name again replaces that upload, and only it.
    again = add_files(client, upload(client, (CORPUS_DOC, b"A second version of the uploaded note.\n")))
    assert "1 updated" in outcome(again)
    latest = corpus(client)
    assert latest[f"uploads/{CORPUS_DOC}"] == "A second version of the uploaded note.\n"
    assert corpus_part(latest) == corpus_part(before)


# --- 3. a JSONL upload that claims a corpus document's id ------------------------------------------
def test_a_jsonl_upload_cannot_replace_or_delete_a_document_by_its_id(client, server):
    before = corpus(client)
    claims = [{"_id": CORPUS_DOC, "title": "Hijacked", "text": FAKE},
              {"_id": "notes-1", "text": "The harbour office kept forty brass lamps in store."}]
    first = add_files(client, upload(client, ("claims.jsonl", "\n".join(map(json.dumps, claims)).encode())))
    assert "2 added" in outcome(first)
    middle = corpus(client)
    assert corpus_part(middle) == corpus_part(before)
    assert middle[f"uploads/claims.jsonl/{CORPUS_DOC}"] == FAKE

    # Uploaded again without the claimed id: the upload's own record goes, the article stays.
    second = add_files(client, upload(client, ("claims.jsonl", json.dumps(claims[1]).encode())))
    assert "1 removed" in outcome(second) and "1 unchanged" in outcome(second)
    after = corpus(client)
    assert corpus_part(after) == corpus_part(before)
    assert after[CORPUS_DOC] == before[CORPUS_DOC]
    assert f"uploads/claims.jsonl/{CORPUS_DOC}" not in after and "uploads/claims.jsonl/notes-1" in after


# --- 4. DNS rebinding and pages of other sites -------------------------------------------------------
@pytest.mark.parametrize("method, path", [
    ("GET", "/api/health"), ("GET", "/api/documents"), ("POST", "/api/ask"), ("GET", "/"), ("GET", "/config"),
    ("POST", "/gradio_api/upload"), ("POST", "/gradio_api/call/add_files"),
])
def test_a_foreign_host_header_gets_a_400(client, server, secret, method, path):
    """What a page on rebind.example sends once its name resolves to 127.0.0.1."""
    before = corpus(client)
    port = server.url.rsplit(":", 1)[1]
    body = {"files": [("files", ("a.md", secret.read_bytes()))]} if path.endswith("upload") else \
        {"json": {"data": [[{"path": str(secret), "meta": {"_type": "gradio.FileData"}}]], "question": QUESTION}}
    response = client.request(method, path, headers={"host": f"rebind.example:{port}"}, **body)
    assert response.status_code == 400
    assert "host" in response.json()["error"]
    assert corpus(client) == before


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST."])
def test_loopback_names_are_served(client, server, host):
    port = server.url.rsplit(":", 1)[1]
    assert client.get("/api/health", headers={"host": f"{host}:{port}"}).status_code == 200


def test_a_page_of_another_site_cannot_post(client, server):
    port = server.url.rsplit(":", 1)[1]
    for origin in ("http://evil.example", "null", f"http://rebind.example:{port}"):
        response = client.post("/api/ask", json={"question": QUESTION}, headers={"origin": origin})
        assert response.status_code == 403, origin
    ours = client.post("/api/ask", json={"question": QUESTION}, headers={"origin": server.url})
    assert ours.status_code == 200


def test_allowed_hosts_are_configurable():
    config = Config.from_env({"QA_ALLOWED_HOSTS": "qa.example.org, 10.0.0.5", "QA_HOST": "0.0.0.0"})
    assert set(config.served_hosts()) == {"127.0.0.1", "localhost", "::1", "qa.example.org", "10.0.0.5"}
    assert "192.168.1.9" in Config(host="192.168.1.9").served_hosts()  # the address bound to
    assert Config(host="0.0.0.0").served_hosts() == ("127.0.0.1", "localhost", "::1")


# --- 5. authentication -----------------------------------------------------------------------------
def test_with_a_key_every_api_route_answers_401_without_it(keyed):
    with httpx.Client(base_url=keyed.url, timeout=60) as http:
        schema = http.get("/api/openapi.json", headers={"authorization": f"Bearer {KEY}"}).json()
        routes = [("GET", "/api/openapi.json")] + [
            (method.upper(), "/api" + path.replace("{citation_id}", f"{CORPUS_DOC}:0-10")
             .replace("{doc_id}", CORPUS_DOC))
            for path, operations in schema["paths"].items() for method in operations
        ]
        assert len(routes) >= 7
        for method, path in routes:
            request = {"params": {"q": "Grozny"}, "json": {"question": QUESTION}} if method != "GET" else \
                {"params": {"q": "Grozny"}}
            for headers in ({}, {"authorization": "Bearer wrong-key-wrong-key"}, {"authorization": KEY},
                            {"cookie": "qa_session=9999999999.forged"}):
                response = http.request(method, path, headers=headers, **request)
                assert response.status_code == 401, (method, path, headers, response.text)
                assert "key" in response.json()["error"]
            allowed = http.request(method, path, headers={"authorization": f"Bearer {KEY}"}, **request)
            assert allowed.status_code != 401 and "key" not in allowed.text[:200], (method, path, allowed.text)


@pytest.mark.parametrize("method, path", [
    ("GET", "/config"), ("GET", "/gradio_api/info"), ("POST", "/gradio_api/upload"),
    ("POST", "/gradio_api/call/add_files"), ("POST", "/gradio_api/queue/join"), ("GET", "/theme.css"),
    ("GET", "/gradio_api/file=/etc/hostname"),
])
def test_with_a_key_the_ui_and_its_upload_route_need_a_login(keyed, secret, method, path):
    before = keyed.assistant.documents()
    with httpx.Client(base_url=keyed.url, timeout=60) as http:
        body = {"files": [("files", ("a.md", secret.read_bytes()))]} if path.endswith("upload") else \
            ({"json": {"data": [[{"path": str(secret), "meta": {"_type": "gradio.FileData"}}]]}}
             if method == "POST" else {})
        response = http.request(method, path, **body)
        assert response.status_code == 401, response.text
    assert keyed.assistant.documents() == before


def test_the_ui_asks_for_the_key_then_opens(keyed):
    with httpx.Client(base_url=keyed.url, timeout=60) as http:
        page = http.get("/", headers={"accept": "text/html"})
        assert page.status_code == 303 and page.headers["location"] == "/login"
        login = http.get("/login")
        assert login.status_code == 200 and 'name="key"' in login.text and "<script" not in login.text

        wrong = http.post("/login", data={"key": "not-the-key-at-all"})
        assert wrong.status_code == 401 and "not right" in wrong.text
        assert http.get("/config").status_code == 401

        right = http.post("/login", data={"key": KEY})
        assert right.status_code == 303 and right.headers["location"] == "/"
        cookie = right.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert http.get("/").status_code == 200 and http.get("/config").status_code == 200
        assert http.get("/api/health").json()["status"] == "ok"  # the browser's session works for the API too

        http.get("/logout")
        assert http.get("/config").status_code == 401


def run_serve(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    environment.update(HF_HUB_OFFLINE="1", QA_INDEX_DIR=str(tmp_path / "index"), **env)
    return subprocess.run([sys.executable, str(ROOT / "app.py"), *args], cwd=tmp_path, env=environment,
                          capture_output=True, text=True, timeout=120)


def test_a_public_address_without_a_key_refuses_to_start(tmp_path):
    done = run_serve(tmp_path, "--host", "0.0.0.0", "--port", str(free_port()))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "QA_API_KEY" in lines[0] and "--insecure" in lines[0]
    assert not (tmp_path / "index").exists()  # it stopped before anything else


def test_which_addresses_need_a_key():
    assert Config(host="127.0.0.1").exposure_problem() is None
    assert Config(host="localhost").exposure_problem() is None
    assert Config(host="::1").exposure_problem() is None
    for host in ("0.0.0.0", "::", "192.168.1.9", "qa.example.org"):
        assert "QA_API_KEY" in Config(host=host).exposure_problem()
        assert Config(host=host, api_key=KEY).exposure_problem() is None
        assert Config(host=host, insecure=True).exposure_problem() is None


def test_the_key_comes_from_the_environment_or_a_file(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n", encoding="utf-8")
    assert Config.from_env({"QA_API_KEY_FILE": str(key_file)}).api_key == KEY
    assert Config.from_env({"QA_API_KEY": KEY}).api_key == KEY
    for env, words in [({"QA_API_KEY": "short"}, "16 characters"),
                       ({"QA_API_KEY": KEY, "QA_API_KEY_FILE": str(key_file)}, "not both"),
                       ({"QA_API_KEY_FILE": str(tmp_path / "missing")}, "cannot read"),
                       ({"QA_READ_ONLY": "maybe"}, "QA_READ_ONLY"),
                       ({"QA_MAX_UPLOAD_MB": "0"}, "above 0")]:
        with pytest.raises(ConfigError, match=words):
            Config.from_env(env)


# --- 6. unbounded work -------------------------------------------------------------------------------
def test_a_file_over_the_size_limit_is_refused_at_the_upload(client):
    before = corpus(client)
    response = client.post("/gradio_api/upload", files=[("files", ("big.txt", b"word " * 20_000))])
    assert response.status_code == 413
    assert corpus(client) == before


def test_a_request_over_the_upload_cap_is_refused(client):
    """Gradio caps each file; the app caps the request, so a thousand files are never stored."""
    files = [("files", (f"part{i}.txt", b"x" * 60_000)) for i in range(25)]
    response = client.post("/gradio_api/upload", files=files)
    assert response.status_code == 413 and "bytes" in response.json()["error"]


def test_too_many_files_at_once_are_refused_whole(client, server):
    before = corpus(client)
    paths = upload(client, *[(f"note{i}.md", f"Note {i} about the harbour lamps.".encode()) for i in range(4)])
    reply = add_files(client, paths)
    assert "4 files at once; the limit is 3" in outcome(reply)
    assert_no_internals(reply, server)
    assert corpus(client) == before


def test_a_document_over_the_chunk_limit_is_not_indexed_at_all(client, server):
    before = corpus(client)
    long_text = " ".join(f"Sentence {i} tells of lamp number {i} in the harbour office of Zanzibar." for i in range(600))
    assert len(long_text.encode()) < LIMITS["max_upload_bytes"]
    reply = add_files(client, upload(client, ("long.txt", long_text.encode()), ("short.txt", b"A short note.\n")))
    log = outcome(reply)
    assert "long.txt" in log and "chunks; the limit is 20" in log and "nothing indexed" in log
    assert "short.txt" in log and "1 added" in log  # each file whole or not at all; the others go on
    after = corpus(client)
    assert "uploads/long.txt" not in after and after["uploads/short.txt"] == "A short note.\n"
    assert {k: v for k, v in after.items() if k != "uploads/short.txt"} == before


def test_a_jsonl_file_with_one_bad_line_indexes_nothing(client, server):
    before = corpus(client)
    lines = [json.dumps({"_id": "good", "text": "A good record."}), "{not json", json.dumps({"_id": "also", "text": "x"})]
    reply = add_files(client, upload(client, ("mixed.jsonl", "\n".join(lines).encode())))
    assert "line 2" in outcome(reply) and "nothing indexed" in outcome(reply)
    assert corpus(client) == before


def test_an_oversized_history_is_refused_at_once(client):
    """Two 450,000-character turns once took 3.2 s of a shared answer slot."""
    began = time.monotonic()
    response = client.post("/api/ask", json={"question": QUESTION, "history": ["x" * 450_000, "y" * 450_000]})
    assert response.status_code == 400
    assert "history" in response.json()["error"] and "limit is 4,000" in response.json()["error"]
    assert time.monotonic() - began < 3


def test_a_long_conversation_is_still_answered(client):
    """The cap is on each turn; a long conversation is answered, reading only its latest turns."""
    history = [f"Earlier question number {i} about something else entirely?" for i in range(500)]
    response = client.post("/api/ask", json={"question": "and how many of them were killed?",
                                             "history": [*history, QUESTION]})
    assert response.status_code == 200
    assert "chechnya" in response.json()["query"].lower()


def test_a_large_upload_lets_questions_go_first(tmp_path_factory, sample_index_dir, embedder):
    """While some 300 chunks are embedded, questions keep being answered in about their usual time
    (once, a question waited for the whole upload's embedding)."""
    texts = [p.read_text(encoding="utf-8") for p in sorted(SAMPLE_CORPUS.glob("*.txt"))]
    big = "\n\n".join(f"Part {i}.\n\n{texts[i % len(texts)]}" for i in range(60))
    with start(tmp_path_factory, sample_index_dir, embedder, "large") as live, \
            httpx.Client(base_url=live.url, timeout=300) as http:
        alone = []
        for _ in range(3):
            began = time.monotonic()
            assert http.post("/api/ask", json={"question": QUESTION}).status_code == 200
            alone.append(time.monotonic() - began)
        paths = upload(http, ("big.txt", big.encode()))
        result: dict[str, object] = {}

        def ingest() -> None:
            began = time.monotonic()
            result["reply"] = add_files(http, paths)
            result["seconds"] = time.monotonic() - began

        worker = threading.Thread(target=ingest)
        worker.start()
        time.sleep(2)  # the ingest loads and chunks the file; then it embeds
        during = []
        while worker.is_alive() and len(during) < 12:
            began = time.monotonic()
            assert http.post("/api/ask", json={"question": QUESTION}).status_code == 200
            during.append(time.monotonic() - began)
            time.sleep(0.3)  # a reader's pause, in which the ingest goes on
        worker.join()
        assert "1 added" in outcome(result["reply"])
        chunks = next(d["chunks"] for d in http.get("/api/documents").json()["documents"]
                      if d["doc_id"] == "uploads/big.txt")
        assert chunks > 250
    # One embedding part (32 chunks) is the longest a question waits for the model.
    assert during and max(during) < max(4.0, 5 * max(alone)), (during, alone, result["seconds"])
    assert len(during) >= 3, f"the ingest ended too soon to measure ({result['seconds']:.1f} s)"


def test_an_upload_reports_its_progress_in_chunks(tmp_path, embedder, sample_index_dir):
    shutil.copytree(sample_index_dir, tmp_path / "index")
    assistant = Assistant(Config(index_dir=tmp_path / "index", corpus_dir=SAMPLE_CORPUS), embedder=embedder)
    text = (SAMPLE_CORPUS / "003_5086438d16222152.txt").read_text(encoding="utf-8")
    staged = tmp_path / "staged" / "long.md"
    staged.parent.mkdir()
    staged.write_text("\n\n".join([text] * 12), encoding="utf-8")
    heard: list[tuple[str, int, int]] = []
    outcomes = list(assistant.add_files([Upload("long.md", staged)], on_progress=lambda *a: heard.append(a)))
    assert outcomes[0].ok, outcomes[0].detail
    total = heard[-1][2]
    assert total > 64 and heard[-1][1] == total and len(heard) >= total // 32
    assert [done for _, done, _ in heard] == sorted(done for _, done, _ in heard)
    assert {name for name, _, _ in heard} == {"long.md"}


# --- read-only ------------------------------------------------------------------------------------------
def test_a_read_only_server_takes_no_uploads(tmp_path_factory, sample_index_dir, embedder, secret):
    with start(tmp_path_factory, sample_index_dir, embedder, "read-only", read_only=True) as live, \
            httpx.Client(base_url=live.url, timeout=60) as http:
        before = corpus(http)
        refused = http.post("/gradio_api/upload", files=[("files", ("a.md", secret.read_bytes()))])
        assert refused.status_code == 403 and "read-only" in refused.json()["error"]
        config = http.get("/config").json()
        assert not any(c.get("props", {}).get("elem_id") == "qa-upload" for c in config["components"])
        assert all(d.get("api_name") != "add_files" for d in config["dependencies"])
        event = http.post("/gradio_api/call/add_files",
                          json={"data": [[{"path": str(secret), "meta": {"_type": "gradio.FileData"}}]]})
        assert event.status_code >= 400
        through_the_api = http.post("/api/documents", files=[("files", ("a.md", secret.read_bytes()))])
        assert through_the_api.status_code == 403 and "read-only" in through_the_api.json()["error"]
        assert corpus(http) == before
        with pytest.raises(ReadOnlyError, match="read-only"):
            live.assistant.add_files([Upload("a.md", secret)])


# --- leaks -----------------------------------------------------------------------------------------------
def test_errors_name_no_paths(tmp_path, embedder):
    missing = tmp_path / "no-index-here"
    assistant = Assistant(Config(index_dir=missing, corpus_dir=SAMPLE_CORPUS), embedder=embedder)
    with LiveServer(assistant) as live, httpx.Client(base_url=live.url, timeout=60) as http:
        replies = [http.get("/api/health"), http.post("/api/ask", json={"question": QUESTION}),
                   http.get("/api/documents"), http.get("/api/search", params={"q": "Grozny"})]
        for reply in replies:
            assert reply.status_code == 503
            assert str(tmp_path) not in reply.text and "no-index-here" not in reply.text
            assert "qa ingest" in reply.text


def test_nul_characters_are_not_echoed(client):
    body = client.get("/api/search", params={"q": "Grozny\x00 gunmen\x00"}).json()
    assert "\x00" not in body["query"] and body["query"].startswith("Grozny")
    missing = client.get("/api/documents/" + quote("no\x00such.txt"))
    assert missing.status_code == 404 and "\\u0000" not in missing.text


def test_the_schema_lists_every_reply(client):
    schema = client.get("/api/openapi.json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            assert {"200", "401", "503"} <= statuses, (method, path)
            error = operation["responses"]["401"]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/ErrorReply"}
            if operation.get("parameters") or operation.get("requestBody"):
                assert "422" in statuses and operation["responses"]["422"]["content"]["application/json"][
                    "schema"] == {"$ref": "#/components/schemas/ErrorReply"}
    assert "413" in schema["paths"]["/ask"]["post"]["responses"]
    assert "404" in schema["paths"]["/documents/{doc_id}"]["get"]["responses"]


# --- the whole API against its schema ----------------------------------------------------------------------
def published_schema() -> dict:
    """The API's OpenAPI schema, as /api/openapi.json serves it (built without a server, for collection)."""
    from qa.web.api import build_api

    return build_api(Assistant(Config())).openapi()


fuzzed = schemathesis.openapi.from_dict(published_schema())


def test_the_served_schema_is_the_one_fuzzed(client):
    served = client.get("/api/openapi.json").json()
    assert served["paths"] == published_schema()["paths"]
    assert served["components"] == published_schema()["components"]


@fuzzed.parametrize()
@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
def test_the_api_keeps_to_its_schema(case, server):
    """No 5xx, and every status, content type and body as the schema says (about a minute)."""
    case.call_and_validate(base_url=server.url + "/api", timeout=60, checks=[
        not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance])
