"""The HTTP API (its shapes in docs/openapi.json): a thin JSON layer over `Assistant`, served beside the chat app.

Every error leaves as `{"error": "..."}` with a status that says whose fault it was: 4xx for the
request (409: another write is under way, retry), 502 for the LLM endpoint, 503 for a missing or
unreadable index. A bad request never produces a 500 or a traceback.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, FastAPI, File, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from index.ingest import IngestBusyError
from qa.web import redact
from qa.web.api_schema import (
    AddedReply,
    AskReply,
    AskRequest,
    DocumentList,
    DocumentReply,
    Health,
    HealthUnavailable,
    RemovedReply,
    ResolvedCitationReply,
    SearchReply,
    SearchRequest,
    VerifyReply,
    VerifyRequest,
    errors,
)
from qa.errors import BadInputError, IndexStoreError, LLMError, NotFoundError, ReadOnlyError, SupportModelError
from qa.web.limits import BodyLimit, BodyTooLarge, too_large_message
from qa.service import Assistant
from qa.uploads import Upload

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_000_000  # far above any real question; stops a client streaming gigabytes at us


def router(assistant: Assistant) -> APIRouter:
    """The routes, each calling one method of `assistant`.

    The endpoints are plain `def`s on purpose: the Assistant blocks on torch and SQLite, and
    FastAPI runs sync endpoints in its threadpool (the Assistant lets a few questions run at once
    and the others wait their turn).
    """
    routes = APIRouter()

    @routes.get("/health", response_model=Health, responses={
        503: {"model": HealthUnavailable, "description": "the index is missing or cannot be read"}, **errors(401)})
    def health():
        try:
            documents = len(assistant.reader.documents)  # a count, not the full listing
        except IndexStoreError as exc:
            return JSONResponse({"status": "unavailable", "error": redact.index_error(exc)}, status_code=503)
        return {"status": "ok", "documents": documents, "mode": assistant.config.mode}

    @routes.post("/ask", response_model=AskReply, responses=errors(400, 401, 404, 413, 422, 502, 503))
    def ask(body: AskRequest):
        filters = body.filters.model_dump() if body.filters else None
        answer = assistant.ask(body.question, body.history, top_k=body.top_k, mode=body.mode, filters=filters)
        return answer.to_dict()

    @routes.get("/search", response_model=SearchReply, responses=errors(400, 401, 422, 503))
    def search(q: Annotated[str, Query(json_schema_extra={"minLength": 1})],
               top_k: Annotated[int | None, Query()] = None):
        results = assistant.search(q, top_k)
        return {"query": redact.text(q), "results": [p.to_dict() for p in results]}

    @routes.post("/search", response_model=SearchReply, responses=errors(400, 401, 404, 413, 422, 503))
    def search_filtered(body: SearchRequest):
        filters = body.filters.model_dump() if body.filters else None
        results = assistant.search(body.query, body.top_k, filters=filters)
        return {"query": redact.text(body.query), "results": [p.to_dict() for p in results]}

    @routes.post("/verify", response_model=VerifyReply, responses=errors(400, 401, 413, 422, 503))
    def verify(body: VerifyRequest):
        return assistant.verify(body.answer, body.question, body.passages).to_dict()

    # `:path` because ids may hold `/` (documents in sub-folders); the path arrives URL-decoded,
    # so a `#` in an id travels as %23.
    @routes.get("/citations/{citation_id:path}", response_model=ResolvedCitationReply,
                responses=errors(400, 401, 404, 422, 503))
    def citation(citation_id: str):
        return assistant.cite(citation_id).to_dict()

    @routes.get("/documents", response_model=DocumentList, responses=errors(401, 503))
    def documents():
        return {"documents": assistant.documents()}

    @routes.get("/documents/{doc_id:path}", response_model=DocumentReply, responses=errors(401, 404, 422, 503))
    def document(doc_id: str):
        return assistant.document(doc_id)

    @routes.post("/documents", response_model=AddedReply, responses=errors(400, 401, 403, 409, 413, 422, 503))
    def add_documents(files: Annotated[list[UploadFile], File()]):
        """Index uploaded files (multipart, field `files`), each whole or not at all, under uploads/."""
        with tempfile.TemporaryDirectory(prefix="qa-upload-") as folder:
            uploads = []
            for i, sent in enumerate(files):
                path = Path(folder) / str(i)  # never a name the client chose
                with open(path, "wb") as stored:
                    while block := sent.file.read(1024 * 1024):
                        stored.write(block)
                uploads.append(Upload(sent.filename or "", path))
            outcomes = list(assistant.add_files(uploads))
        return {"files": [{"name": o.name, "ok": o.ok, "detail": o.detail} for o in outcomes]}

    @routes.delete("/documents/{doc_id:path}", response_model=RemovedReply,
                   responses=errors(401, 403, 404, 409, 422, 503))
    def remove_document(doc_id: str):
        assistant.remove_document(doc_id)
        return {"removed": doc_id}

    return routes


def build_api(assistant: Assistant) -> FastAPI:
    """The API as its own app, to mount at /api, so that its error handlers and its 404s
    answer in JSON without touching the Gradio app mounted beside it."""
    # No /docs or /redoc: their pages load scripts from a CDN, and nothing here may reach out.
    api = FastAPI(title="qa", docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    api.include_router(router(assistant))
    config = assistant.config
    api.add_middleware(BodyLimit, limit=MAX_BODY_BYTES,
                       uploads=config.max_upload_files * config.max_upload_bytes + MAX_BODY_BYTES)

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": redact.text(message)}, status_code=status)

    @api.exception_handler(BadInputError)
    async def bad_input(request: Request, exc: BadInputError) -> JSONResponse:
        return error(400, str(exc))

    @api.exception_handler(ReadOnlyError)
    async def read_only(request: Request, exc: ReadOnlyError) -> JSONResponse:
        return error(403, str(exc))

    @api.exception_handler(NotFoundError)
    async def not_found(request: Request, exc: NotFoundError) -> JSONResponse:
        return error(404, f"{exc}; GET /api/documents lists them" if exc.doc_ids else str(exc))

    @api.exception_handler(IngestBusyError)
    async def busy(request: Request, exc: IngestBusyError) -> JSONResponse:
        return error(409, redact.index_error(exc))

    @api.exception_handler(IndexStoreError)
    async def index_unavailable(request: Request, exc: IndexStoreError) -> JSONResponse:
        return error(503, redact.index_error(exc))

    @api.exception_handler(SupportModelError)
    async def model_unavailable(request: Request, exc: SupportModelError) -> JSONResponse:
        log.error("%s", exc)
        return error(503, "the support model is missing or unreadable; reinstall the package")

    @api.exception_handler(LLMError)
    async def llm_failed(request: Request, exc: LLMError) -> JSONResponse:
        return error(502, redact.llm_error(exc))

    @api.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error(422, describe_validation(exc.errors()))

    @api.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        if isinstance(exc.__cause__, BodyTooLarge):  # FastAPI wraps errors met while reading the body
            return error(413, too_large_message(exc.__cause__.args[0]))
        if exc.status_code == 404:
            message = f"no route {request.url.path}; the API has /api/health, /api/ask, /api/search, " \
                      "/api/verify, /api/citations/{id}, /api/documents (GET; POST adds files) and " \
                      "/api/documents/{doc_id} (GET, DELETE)"
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
            parts.append("the request needs a JSON object as its body")
        elif item.get("type") in ("model_attributes_type", "model_type") and not where:
            parts.append(f"the body must be a JSON object, not {_json_kind(item.get('input'))}")
        else:
            parts.append(f"{where}: {item.get('msg', 'invalid')}" if where else str(item.get("msg", "invalid")))
    return "; ".join(dict.fromkeys(parts)) or "invalid request"


def _json_kind(value) -> str:
    """A JSON value that is not an object, as an error names it: "a list", "a string", "null"."""
    if isinstance(value, (bool, type(None))):
        return json.dumps(value)
    return {list: "a list", str: "a string"}.get(type(value), "a number")
