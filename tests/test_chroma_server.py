"""The scale-out path: the same index and queries against a real Chroma server on 127.0.0.1."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from qa.config import Config
from qa.service import Assistant


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def chroma_server(tmp_path):
    chroma = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    port = free_port()
    server = subprocess.Popen(
        [chroma, "run", "--path", str(tmp_path / "chroma-server"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail("the Chroma server did not start")
            time.sleep(0.3)
    yield port
    server.terminate()
    server.wait(timeout=20)


def test_ingest_and_answer_through_a_chroma_server(chroma_server, tmp_path, corpus_copy, embedder):
    config = Config(index_dir=tmp_path / "index", corpus_dir=corpus_copy,
                    chroma_host="127.0.0.1", chroma_port=chroma_server)
    assistant = Assistant(config, embedder=embedder)
    report = assistant.ingest()
    assert report.added == 4 and report.errors == []
    assert not (config.index_dir / "chroma").exists()  # the vectors live in the server

    answer = assistant.ask("How many people have left Chechnya to join the fighting in Syria?")
    assert "405" in answer.answer

    (corpus_copy / "003_5086438d16222152.txt").unlink()
    assert assistant.ingest().removed == 1
    assert all(p.doc_id != "003_5086438d16222152.txt" for p in assistant.search("Kadyrov spy network", 5))
