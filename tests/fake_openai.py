"""A local server that speaks OpenAI's chat-completions protocol and answers from a script.

It stands in for a hosted LLM, which cannot run here. The script is a function from the request's
messages to the reply text, so a test can read the numbered sources it was sent and cite them
rightly or wrongly on purpose.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Script = Callable[[list[dict]], str]


class FakeOpenAI:
    def __init__(self, script: Script):
        self.script = script
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_POST(self):
                if not self.path.endswith("/chat/completions"):
                    self.send_error(404)
                    return
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(body)
                text = outer.script(body["messages"])
                if body.get("stream"):
                    self._stream(body["model"], text)
                else:
                    self._reply(body["model"], text)

            def _reply(self, model: str, text: str) -> None:
                payload = json.dumps({
                    "id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": model,
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": text}}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _stream(self, model: str, text: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                pieces = [text[i : i + 12] for i in range(0, len(text), 12)]
                for i, piece in enumerate(pieces):
                    chunk = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 0,
                             "model": model, "choices": [{"index": 0, "finish_reason": None,
                             "delta": ({"role": "assistant"} if i == 0 else {}) | {"content": piece}}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                done = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 0, "model": model,
                        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
                self.wfile.write(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode())

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


def source_number(messages: list[dict], needle: str) -> int:
    """The number of the source, in the prompt sent, whose text contains `needle`."""
    prompt = messages[-1]["content"]
    for block in prompt.split("Source [")[1:]:
        number, _, rest = block.partition("]")
        if needle in rest:
            return int(number)
    raise AssertionError(f"no source holds {needle!r}")
