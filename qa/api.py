"""The HTTP API of SPEC.md: a thin JSON layer over `Assistant`, served beside the chat app.

Every error leaves as `{"error": "..."}` with a status that says whose fault it was: 4xx for the
request, 502 for the LLM endpoint, 503 for a missing or unreadable index. A bad request never
produces a 500 or a traceback.
"""

from __future__ import annotations

import logging
import threading
from contextlib import nullcontext
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.errors import BadInputError, IndexStoreError, LLMError, NotFoundError
from qa.service import Assistant

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_000_000  # far above any real question; stops a client streaming gigabytes at us


class AskRequest(BaseModel):
    # strict: a number is not a question and "5" is not a top_k; extra keys are typos worth telling
    model_config = ConfigDict(strict=True, extra="forbid")

    question: str
    history: list[str] = []
    top_k: int | None = None
    mode: str | None = None


def router(assistant: Assistant, slots: threading.Semaphore | None = None) -> APIRouter:
    """The routes, each calling one method of `assistant`.

    The endpoints are plain `def`s on purpose: the Assistant blocks on torch and SQLite, and
    FastAPI runs sync endpoints in its threadpool. `slots` caps how many questions are answered
    at once; the rest wait their turn instead of all slowing each other down.
    """
    routes = APIRouter()
    busy = slots if slots is not None else nullcontext()

    @routes.get("/health")
    def health() -> JSONResponse:
        try:
            documents = len(assistant.reader.documents)  # a count, not the full listing
        except IndexStoreError as exc:
            return JSONResponse({"status": "unavailable", "error": str(exc)}, status_code=503)
        return JSONResponse({"status": "ok", "documents": documents, "mode": assistant.config.mode})

    @routes.post("/ask")
    def ask(body: AskRequest) -> dict:
        with busy:
            answer = assistant.ask(body.question, body.history, top_k=body.top_k, mode=body.mode)
        return answer.to_dict()

    @routes.get("/search")
    def search(q: Annotated[str, Query()], top_k: Annotated[int | None, Query()] = None) -> dict:
        with busy:
            results = assistant.search(q, top_k)
        return {"query": q, "results": [p.to_dict() for p in results]}

    # `:path` because ids may hold `/` (documents in sub-folders); the path arrives URL-decoded,
    # so a `#` in an id travels as %23.
    @routes.get("/citations/{citation_id:path}")
    def citation(citation_id: str) -> dict:
        return assistant.cite(citation_id).to_dict()

    @routes.get("/documents")
    def documents() -> dict:
        return {"documents": assistant.documents()}

    @routes.get("/documents/{doc_id:path}")
    def document(doc_id: str) -> dict:
        return assistant.document(doc_id)

    return routes


def build_api(assistant: Assistant, slots: threading.Semaphore | None = None) -> FastAPI:
    """The API as its own app, to mount at /api, so that its error handlers and its 404s
    answer in JSON without touching the Gradio app mounted beside it."""
    # No /docs or /redoc: their pages load scripts from a CDN, and nothing here may reach out.
    api = FastAPI(title="qa", docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    api.include_router(router(assistant, slots))
    api.add_middleware(_BodyLimit, limit=MAX_BODY_BYTES)

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    @api.exception_handler(BadInputError)
    async def bad_input(request: Request, exc: BadInputError) -> JSONResponse:
        return error(400, str(exc))

    @api.exception_handler(NotFoundError)
    async def not_found(request: Request, exc: NotFoundError) -> JSONResponse:
        return error(404, str(exc))

    @api.exception_handler(IndexStoreError)
    async def index_unavailable(request: Request, exc: IndexStoreError) -> JSONResponse:
        return error(503, str(exc))

    @api.exception_handler(LLMError)
    async def llm_failed(request: Request, exc: LLMError) -> JSONResponse:
        return error(502, str(exc))

    @api.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error(422, describe_validation(exc.errors()))

    @api.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        if isinstance(exc.__cause__, _TooLarge):  # FastAPI wraps errors met while reading the body
            return error(413, _too_large_message(MAX_BODY_BYTES))
        if exc.status_code == 404:
            message = f"no route {request.url.path}; the API has /api/health, /api/ask, /api/search, " \
                      "/api/citations/{id}, /api/documents and /api/documents/{doc_id}"
        return error(exc.status_code, message)

    @api.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return error(500, f"internal error: {type(exc).__name__}")

    return api


def describe_validation(errors: list[dict]) -> str:
    """One readable line out of pydantic's error list, e.g. "question: Input should be a valid string"."""
    parts = []
    for item in errors[:5]:
        where = ".".join(str(part) for part in item.get("loc", ()) if part not in ("body", "query", "path"))
        if item.get("type") == "json_invalid":
            parts.append("the body is not valid JSON")
        elif item.get("type") == "missing" and tuple(item.get("loc", ())) == ("body",):
            parts.append('the request needs a JSON body such as {"question": "..."}')
        elif item.get("type") == "model_attributes_type":
            parts.append('the body must be a JSON object such as {"question": "..."}')
        else:
            parts.append(f"{where}: {item.get('msg', 'invalid')}" if where else str(item.get("msg", "invalid")))
    return "; ".join(dict.fromkeys(parts)) or "invalid request"


class _TooLarge(Exception):
    pass


class _BodyLimit:
    """Refuse bodies over `limit` bytes with a 413, whether or not they declare their length."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = JSONResponse({"error": _too_large_message(self.limit)}).body
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _too_large_message(limit: int) -> str:
    return f"the request body is over {limit:,} bytes"
