"""An OpenAI-compatible chat endpoint over `Assistant`, for chat clients that already speak it.

    POST /v1/chat/completions   {"model": "qa-corpus", "messages": [...], "stream": false}
    GET  /v1/models

The conversation's last user message is the question, and the user messages before it are its
history (follow-ups are made standalone as in the app). The reply's `content` is the cited answer
with its `[n]` markers, then a short list of the sources for clients that show only text. The
same citations, as the API gives them, are in the message's extra field `citations`, beside
`abstained` and `support`. An extra request field `filters` restricts the documents searched, as
in `/api/ask` (with the `openai` package: `extra_body={"filters": {...}}`).

Streaming (`"stream": true`) sends server-sent `chat.completion.chunk`s: the answer, then the
sources, then (with `"stream_options": {"include_usage": true}`) a chunk with no choices that holds
`usage`, then `[DONE]`. `usage` counts tokens with tiktoken's cl100k_base (`usage()`). An LLM
answer streams once its claims are checked: a chat client cannot take back text it has shown, so
nothing unchecked is sent. Errors have OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from index.chunking import cl100k_counter
from qa.web import redact
from qa.errors import BadInputError, IndexStoreError, LLMError, NotFoundError, SupportModelError
from qa.web.limits import BodyLimit, BodyTooLarge, too_large_message
from qa.results import Answer
from qa.service import Assistant

log = logging.getLogger(__name__)

MODEL_ID = "qa-corpus"
MAX_BODY_BYTES = 1_000_000
MAX_MESSAGES = 200
QUOTE_CHARS = 160  # of a quote in the text list of sources; the citations field has it whole


class ContentPart(BaseModel):
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")  # clients send name, tool_calls and more: not read here

    role: str
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "\n".join(part.text or "" for part in self.content if part.type == "text")
        return self.content or ""


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False  # a last chunk, with no choices, that holds the reply's `usage`


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, max_tokens and the like do not apply

    model: str = MODEL_ID
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int | None = None  # choices asked for: the corpus gives one answer, so more is refused, not cut to one
    filters: dict[str, Any] | None = None  # as in /api/ask: doc_ids, title, since, until


def question_and_history(messages: list[ChatMessage]) -> tuple[str, list[str]]:
    """The last user message, and the user messages before it, oldest first."""
    said = [m.text() for m in messages if m.role == "user"]
    if not said:
        raise BadInputError("the conversation has no user message: the last user message is the question")
    return said[-1], said[:-1]


def content(answer: Answer) -> str:
    """The cited answer, then its sources as text."""
    if not answer.citations:
        return answer.answer
    lines = [answer.answer, "", "Sources:"]
    for c in answer.citations:
        mark = "" if c.supported else " (does not support the claim)"
        page = f", p. {c.page}" if c.page else ""
        lines.append(f"[{c.n}] {c.title or c.doc_id}{page}: \u201c{_short(c.quote)}\u201d ({c.id}){mark}")
    return "\n".join(lines)


def _short(quote: str, limit: int = QUOTE_CHARS) -> str:
    """The quote as the sources list shows it: whole when short, else cut at a word, with "…"."""
    quote = quote.strip().strip("\u201c\u201d\"")
    return quote if len(quote) <= limit else quote[:limit].rsplit(" ", 1)[0] + "\u2026"


def extra(answer: Answer) -> dict[str, Any]:
    return {"citations": [c.to_dict() for c in answer.citations], "abstained": answer.abstained,
            "support": answer.support}


def usage(messages: list[ChatMessage], reply: str) -> dict[str, int]:
    """Tokens in tiktoken's cl100k_base, counted as OpenAI counts a chat for its models of that
    encoding: each message's role and text and 3 tokens around them, then 3 that start the reply.
    The completion is the content sent back (the cited answer and its sources); the citations
    field repeats it for programs and is not counted."""
    count = cl100k_counter()
    prompt = sum(3 + count(m.role) + count(m.text()) for m in messages) + 3
    completion = count(reply)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def completion(answer: Answer, body: ChatRequest) -> dict:
    text = content(answer)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
        "model": body.model,
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                     "message": {"role": "assistant", "content": text, **extra(answer)}}],
        "usage": usage(body.messages, text),
    }


def chunks(answer: Answer, body: ChatRequest) -> Iterator[str]:
    """Server-sent events: the role, the answer a sentence at a time, the sources, the usage if
    asked for, the end."""
    counted = body.stream_options is not None and body.stream_options.include_usage
    base = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": body.model}
    if counted:  # as OpenAI sends it: every chunk has the field, and only the last one a value
        base["usage"] = None

    def event(delta: dict, finish: str | None = None) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return f"data: {json.dumps(base | {'choices': [choice]})}\n\n"

    yield event({"role": "assistant", "content": ""})
    for piece in pieces(answer):
        yield event({"content": piece})
    text = content(answer)
    sources = text[len(answer.answer):]
    if sources:
        yield event({"content": sources})
    yield event(extra(answer), finish="stop")
    if counted:
        yield f"data: {json.dumps(base | {'choices': [], 'usage': usage(body.messages, text)})}\n\n"
    yield "data: [DONE]\n\n"


def pieces(answer: Answer) -> list[str]:
    """The answer a sentence at a time, each with its markers; they join into `answer.answer`."""
    parts = [s.text + "".join(f" [{n}]" for n in s.citations) for s in answer.sentences]
    parts = [part if i == 0 else " " + part for i, part in enumerate(parts)]
    return parts if "".join(parts) == answer.answer else [answer.answer]


def build_openai(assistant: Assistant) -> FastAPI:
    """The endpoint as its own app, to mount at /v1, with OpenAI's error shape."""
    app = FastAPI(title="qa (OpenAI-compatible)", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/models")
    def models():
        return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "qa"}]}

    @app.post("/chat/completions")
    def chat(body: ChatRequest):
        if body.n not in (None, 1):
            raise BadInputError(f"n is {body.n}; only n=1 is supported: one answer a request")
        question, history = question_and_history(body.messages)
        # Whole before the first byte: a chat client cannot take back text it has shown.
        answer = assistant.ask(question, history, filters=body.filters).result()
        if body.stream:
            return StreamingResponse(chunks(answer, body), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache"})
        return completion(answer, body)

    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)

    def error(status: int, message: str, kind: str = "invalid_request_error", code: str | None = None) -> JSONResponse:
        return JSONResponse({"error": {"message": redact.text(message), "type": kind, "param": None, "code": code}},
                            status_code=status)

    @app.exception_handler(BadInputError)
    async def bad_input(request: Request, exc: BadInputError) -> JSONResponse:
        return error(400, str(exc))

    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, exc: NotFoundError) -> JSONResponse:
        return error(404, str(exc), code="not_found")

    @app.exception_handler(IndexStoreError)
    async def index_unavailable(request: Request, exc: IndexStoreError) -> JSONResponse:
        return error(503, redact.index_error(exc), "server_error", "index_unavailable")

    @app.exception_handler(SupportModelError)
    async def model_unavailable(request: Request, exc: SupportModelError) -> JSONResponse:
        log.error("%s", exc)
        return error(503, "the support model is missing or unreadable", "server_error", "model_unavailable")

    @app.exception_handler(LLMError)
    async def llm_failed(request: Request, exc: LLMError) -> JSONResponse:
        return error(502, redact.llm_error(exc), "server_error", "llm_failed")

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        from qa.web.api import describe_validation

        return error(400, describe_validation(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc.__cause__, BodyTooLarge):
            return error(413, too_large_message(MAX_BODY_BYTES))
        if exc.status_code == 404:
            return error(404, f"no route {request.url.path}; this endpoint has /v1/chat/completions and /v1/models",
                         code="not_found")
        return error(exc.status_code, exc.detail if isinstance(exc.detail, str) else "request failed")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return error(500, f"internal error: {type(exc).__name__}", "server_error")

    return app

