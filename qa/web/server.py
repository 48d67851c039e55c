"""One server on 127.0.0.1: the HTTP API under /api, an OpenAI-compatible endpoint under /v1, an MCP
server under /mcp and the Gradio chat app at /, behind one access layer (qa.web.access: Host
allowlist, Origin check, key, read-only)."""

from __future__ import annotations

import errno
import os
import socket
import sys

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from qa.config import Config, ConfigError, is_loopback
from qa.service import Assistant
from qa.text import counted

STOP_SECONDS = 3  # a stopping server gives open requests to end
SERVICES = ("/api/", "/v1/", "/mcp/")  # mounted beside the chat app, which answers every other path


def _offline_gradio() -> None:
    """Gradio reads this when it builds and serves the app; nothing of it may phone home."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"


def build_app(config: Config, assistant: Assistant | None = None) -> FastAPI:
    """The API mounted first, so that /api/* never falls through to the UI's catch-all mount."""
    _offline_gradio()
    import gradio as gr

    from gradio.route_utils import FnIndexInferError

    from qa.web.access import Access
    from qa.web.api import build_api
    from qa.web.mcp_server import build_server, http_app, serving
    from qa.web.openai_api import build_openai
    from qa.web.ui import build_ui

    assistant = assistant or Assistant(config)
    mcp = build_server(assistant)
    app = FastAPI(title="qa", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lambda _: serving(mcp))
    app.mount("/api", build_api(assistant))
    app.mount("/v1", build_openai(assistant))
    app.mount("/mcp", http_app(mcp))
    demo = build_ui(assistant)
    # run_history off: it would keep every question in the browser. No footer ("Use via API"):
    # the API to use is ours, under /api, not the UI's internal event endpoints. show_error off:
    # Gradio's own errors name server paths; ours come back as the events' output.
    gr.mount_gradio_app(
        app, demo, path="/", server_name=config.host, server_port=config.port,
        footer_links=[], run_history=False, ssr_mode=False, mcp_server=False,
        max_file_size=config.max_upload_bytes, show_error=False, css=_css(), theme=_theme(),
    )
    # Gradio checks that an event's input files came through its upload route only once an app
    # is launched; mounted apps are never launched, so without this a client could name any file
    # on the server as an "upload". (qa.web.ui checks it again, on the resolved path.)
    demo.has_launched = True
    _gradio_app(app).add_exception_handler(FnIndexInferError, _no_such_event)
    app.add_middleware(_ApiPathsStayInTheApi)
    app.add_middleware(Access, config=config)
    return app


class _ApiPathsStayInTheApi:
    """Starlette's mounts match no path that holds a line break, so `/api/documents/a%0Ab` would
    fall through to the chat app's mount and answer in its format; it gets the API's 404. Nor do
    they match `/api`, `/v1` or `/mcp` themselves, which go to their mount as `/api/`, `/v1/` and
    `/mcp/` (the MCP endpoint itself; the others' 404s list the routes there are)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith(SERVICES) and ("\n" in path or "\r" in path):
            await JSONResponse({"error": "no such route or document"}, status_code=404)(scope, receive, send)
            return
        if path in ("/api", "/v1", "/mcp"):
            scope = {**scope, "path": path + "/", "raw_path": path.encode() + b"/"}
        await self.app(scope, receive, send)


def _gradio_app(app: FastAPI) -> FastAPI:
    from starlette.routing import Mount

    return next(route.app for route in app.routes if isinstance(route, Mount) and route.path == "")


async def _no_such_event(request, exc) -> JSONResponse:
    """Gradio meets an event name it does not have (`/gradio_api/call/<name>`, say a read-only
    server's `add_files`) with an exception, which would leave as a 500 and a dropped connection."""
    return JSONResponse({"error": "no such event"}, status_code=404)


def _theme():
    """Gradio's default look, with fonts it ships (no web-font CDN). Its SemiBold files hold only
    a few dozen glyphs, so semibold text came out in a mix of fonts; declaring Regular and Bold
    only makes the browser draw weight 600 with the complete Bold file."""
    import gradio as gr

    local = gr.themes.LocalFont
    return gr.themes.Default(
        font=[local("Source Sans Pro", weights=(400, 700)), "ui-sans-serif", "system-ui", "sans-serif"],
        font_mono=[local("IBM Plex Mono", weights=(400, 700)), "ui-monospace", "monospace"],
    )


def _css() -> str:
    from qa.web.ui_html import CSS

    return CSS


def prepare(config: Config, assistant: Assistant) -> None:
    """Build the index from the corpus dir if there is none, then open it, so that the first
    visitor does not wait for the model and a broken index stops the start, not a request."""
    if not assistant.index_exists():
        print(f"qa: no index in {config.index_dir}; building it from {config.corpus_dir} ...", file=sys.stderr,
              flush=True)
        report = assistant.ingest(progress=sys.stderr.isatty())
        for error in report.errors:
            print(f"qa: skipped {error}", file=sys.stderr)
        print(f"qa: indexed {counted(report.documents, 'document')}, {counted(report.chunks, 'chunk')} "
              f"in {report.seconds:.1f}s", file=sys.stderr, flush=True)
    documents = assistant.documents()
    assistant.support_model  # loaded now, like the embedder, and a missing model stops the start
    print(f"qa: {counted(len(documents), 'document')} ready", file=sys.stderr, flush=True)


def serve(config: Config, assistant: Assistant | None = None) -> None:
    """Build the index if missing, then serve the app and the API until interrupted."""
    problem = config.exposure_problem()
    if problem:
        raise ConfigError(problem)
    _offline_gradio()
    # Bound first, so that a port in use is said at once and plainly (not after building the
    # index, nor as uvicorn's errno), and handed to uvicorn, so that nothing takes it meanwhile.
    listening = bound_socket(config.host, config.port)
    config = config.with_(port=listening.getsockname()[1])  # the one the system chose, for --port 0
    try:
        assistant = assistant or Assistant(config)
        prepare(config, assistant)
        app = build_app(config, assistant)
    except BaseException:
        listening.close()
        raise
    server = _Server(uvicorn.Config(app, host=config.host, port=config.port, log_level="warning",
                                    timeout_graceful_shutdown=STOP_SECONDS), assistant, _serving_message(config))
    server.run(sockets=[listening])
    if not server.started:
        sys.exit(3)  # as uvicorn.run does when the server cannot start


def bound_socket(host: str, port: int) -> socket.socket:
    """A socket bound to the address as uvicorn binds one; ConfigError when it cannot be."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a port whose last server just stopped is free
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(f"port {port} on {host} is in use; choose another with --port") from None
        raise ConfigError(f"cannot listen on {host} port {port}: {exc.strerror or exc}; "
                          "choose another with --host or --port") from None
    return sock


def _serving_message(config: Config) -> str:
    """What `qa serve` says once it takes connections: where, and whether anyone may call it."""
    host = f"[{config.host}]" if ":" in config.host else config.host
    said = (f"qa: serving the chat app on http://{host}:{config.port}/, the API under /api and MCP under /mcp"
            + ("; a key is required" if config.api_key else "") + ("; read-only" if config.read_only else ""))
    if config.insecure and not config.api_key and not is_loopback(config.host):
        said += "\nqa: warning: no key; anyone who can reach this address can read and change the index"
    return said


class _Server(uvicorn.Server):
    """uvicorn's server, which says `serving` once it accepts connections, and on SIGTERM or Ctrl-C
    also stops an upload being indexed at its next part; open requests (an event stream of the chat
    app, say) get STOP_SECONDS to end."""

    def __init__(self, config: uvicorn.Config, assistant: Assistant, serving: str):
        super().__init__(config)
        self.assistant, self.serving = assistant, serving

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets)
        if self.started and not self.should_exit:  # not when stopped while starting
            print(self.serving, file=sys.stderr, flush=True)

    def handle_exit(self, sig, frame) -> None:
        self.assistant.stop_writing()
        super().handle_exit(sig, frame)
