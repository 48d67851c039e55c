"""The real server on 127.0.0.1 for the API and browser tests, and the hostile document they use."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from qa.config import Config
from qa.web.server import build_app
from qa.service import Assistant

# A document whose sentences carry markup: shown anywhere, it must read as text and run nothing.
EVIL_DOC_ID = "zanzibar_notes.txt"
EVIL_QUESTION = "Why did the lighthouse keepers of Zanzibar go on strike?"
EVIL_TEXT = """Notes on the Zanzibar lighthouse keepers

The lighthouse keepers of Zanzibar went on strike in 1931 because they wanted brass oil lamps <script>window.__pwned = "script"</script><img src="x" onerror="window.__pwned = 'img'"> <b>instead</b> of tallow candles.
The strike ended after twelve days, when the harbour office promised forty lamps <a href="javascript:window.__pwned='link'">by spring</a> ${window.__pwned = 'template'} {{constructor.constructor('window.__pwned = 1')()}}.
Later accounts put the number of keepers at nine, *not* the [eleven](javascript:alert(1)) that the first report gave.
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def sample_corpus_with_pdf(sample_corpus: Path, root: Path, embedder, name: str, pages: list[list[str]]
                           ) -> Iterator[LiveServer]:
    """The real server over a copy of the sample corpus and a PDF of `pages` (lines each)."""
    from tests.pdf_files import write_pdf

    shutil.copytree(sample_corpus, root / "corpus")
    write_pdf(root / "corpus" / name, pages)
    assistant = Assistant(Config(index_dir=root / "index", corpus_dir=root / "corpus"), embedder=embedder)
    assistant.ingest()
    with LiveServer(assistant) as live:
        yield live


def corpus_with_evil_document(sample_corpus: Path, target: Path) -> Path:
    shutil.copytree(sample_corpus, target)
    (target / EVIL_DOC_ID).write_text(EVIL_TEXT, encoding="utf-8")
    return target


class LiveServer:
    """uvicorn serving `build_app` in a thread, on a free port of 127.0.0.1."""

    def __init__(self, assistant: Assistant):
        config: Config = assistant.config.with_(port=free_port())
        self.url = f"http://127.0.0.1:{config.port}"
        self.assistant = assistant
        app = build_app(config, assistant)
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=config.port,
                                                     log_level="warning", lifespan="on"))
        self._thread = threading.Thread(target=self._server.run, name="live-server", daemon=True)

    def __enter__(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 60
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)


class ScriptedChat:
    """A stand-in for the LLM endpoint (the one seam faked here): it streams a fixed answer, one
    true sentence and one that no passage supports, so the UI's LLM path can be seen end to end."""

    ANSWER = ("A total of 405 people have left Chechnya to join the fighting in Syria [1]. "
              "All of them were trained by penguins on the Moon before leaving [1].")

    def __init__(self, pause: float = 0.02):
        self.pause = pause

    def complete(self, system: str, user: str) -> str:
        return self.ANSWER

    def stream(self, system: str, user: str):
        for word in self.ANSWER.split(" "):
            time.sleep(self.pause)
            yield word + " "
