"""Replicas: two `qa serve` processes on 127.0.0.1 that share one Chroma server and one index folder
serve the same answers, and what one of them (or `qa ingest`) writes, the other serves without a
restart."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import ROOT, SAMPLE_CORPUS
from tests.test_chroma_server import chroma_server, free_port  # noqa: F401 (a fixture)

QUESTION = "How many people have left Chechnya to join the fighting in Syria?"
ANSWERING = "003_5086438d16222152.txt"  # the article that answers QUESTION
NEW_DOC = "heronry.txt"
NEW_TEXT = ("Quillfeather heronry census\n\nVolunteers counted 212 heron nests along the Tavy river on Saturday, "
            "the highest count since the census began in 1998.\n")
NEW_QUESTION = "How many heron nests did the volunteers count along the Tavy river?"


def qa_env(tmp_path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update(HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", QA_INDEX_DIR=str(tmp_path / "index"),
               QA_CORPUS_DIR=str(tmp_path / "corpus"), QA_CHROMA_HOST="127.0.0.1", QA_CHROMA_PORT=str(port))
    return env


def qa_ingest(env: dict[str, str]) -> None:
    done = subprocess.run([sys.executable, "-m", "qa.cli", "ingest"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr


class Replica:
    """`qa serve` in a process of its own."""

    def __init__(self, env: dict[str, str]):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        self.process = subprocess.Popen([sys.executable, "-m", "qa.cli", "serve", "--port", str(self.port)],
                                        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        text=True)

    def wait_ready(self) -> httpx.Client:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return httpx.Client(base_url=self.url, timeout=120)
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"qa serve did not start: {self.process.stderr.read()[-2000:]}")
            time.sleep(0.5)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def answer_of(api: httpx.Client, question: str) -> dict:
    reply = api.post("/ask", json={"question": question, "mode": "extractive"})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    body.pop("timings_ms")
    return body


def search_of(api: httpx.Client, query: str) -> list[str]:
    return [r["id"] for r in api.get("/search", params={"q": query, "top_k": 10}).json()["results"]]


def test_two_servers_sharing_one_chroma_server_and_index_folder_serve_the_same_and_each_others_writes(
        chroma_server, tmp_path):  # noqa: F811 (the fixture)
    shutil.copytree(SAMPLE_CORPUS, tmp_path / "corpus")
    env = qa_env(tmp_path, chroma_server)
    qa_ingest(env)
    assert not (tmp_path / "index" / "chroma").exists()  # the vectors live in the server
    first, second = Replica(env), Replica(env)
    try:
        a, b = first.wait_ready(), second.wait_ready()

        # The same answers and the same passages from both.
        answer = answer_of(a, QUESTION)
        assert answer["citations"][0]["doc_id"] == ANSWERING and "405" in answer["answer"]
        assert answer_of(b, QUESTION) == answer
        assert search_of(a, "Kadyrov spy network inside Isis") == search_of(b, "Kadyrov spy network inside Isis")
        assert a.get("/documents").json() == b.get("/documents").json()

        # `qa ingest` of a new document and an edited one, while both serve: both serve them at once.
        (tmp_path / "corpus" / NEW_DOC).write_text(NEW_TEXT, encoding="utf-8")
        edited = tmp_path / "corpus" / "001_dd1aa14925b9a80a.txt"
        edited.write_text(edited.read_text(encoding="utf-8") + "\nA zebra named Zorblatt escaped on Tuesday.\n",
                          encoding="utf-8")
        qa_ingest(env)
        for api in (a, b):
            new = answer_of(api, NEW_QUESTION)
            assert new["citations"] and new["citations"][0]["doc_id"] == NEW_DOC and "212" in new["answer"]
            [best, *_] = api.get("/search", params={"q": "Zorblatt zebra", "top_k": 3}).json()["results"]
            assert best["doc_id"] == "001_dd1aa14925b9a80a.txt" and "Zorblatt" in best["text"]
        assert answer_of(a, NEW_QUESTION) == answer_of(b, NEW_QUESTION)

        # A document removed through one server is gone from the other's answers and searches.
        assert a.delete(f"/documents/{quote(ANSWERING)}").status_code == 200
        assert ANSWERING not in [d["doc_id"] for d in b.get("/documents").json()["documents"]]
        assert all(c["doc_id"] != ANSWERING for c in answer_of(b, QUESTION)["citations"])
        assert all(p["doc_id"] != ANSWERING
                   for p in b.get("/search", params={"q": "Kadyrov spy network inside Isis", "top_k": 10}
                                  ).json()["results"])
        assert answer_of(a, QUESTION) == answer_of(b, QUESTION)
    finally:
        first.stop()
        second.stop()
