"""The Model Context Protocol server: the assistant's tools and documents for agents and desktop
assistants, built with the official SDK.

    qa mcp          on stdio, for a desktop client's config (`run_stdio`)
    /mcp            on streamable HTTP beside the app (`http_app`, mounted by qa.web.server), behind
                    the same access layer as /api: key, Host allowlist, body cap

Tools: `search`, `ask`, `cite`, `verify`, `documents`, each a thin call of one `Assistant` method.
Resources: each indexed document, its text as citations' offsets count it, at `qa://documents/<doc_id>`.
An error the user can act on comes back as a tool error (`isError`) carrying the product's own
one-line message (the CLI's, naming the `documents` tool where the CLI names `qa docs`); arguments
of the wrong shape are said in one line too.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any
from urllib.parse import quote, unquote

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types import CallToolResult, Resource, TextContent
from pydantic import BaseModel, Field, ValidationError

from index.errors import CorpusError
from qa.errors import IndexStoreError, LLMError, NotFoundError, SupportModelError
from qa.service import MAX_TOP_K, Assistant
from qa.web import redact
from qa.web.api import describe_validation
from qa.web.api_schema import (
    CitationReply,
    DocumentList,
    FilterSpec,
    ResolvedCitationReply,
    SearchReply,
    VerifyReply,
)

log = logging.getLogger(__name__)

NAME = "qa-corpus"
DOCUMENT_URI = "qa://documents/"
MAX_BODY_BYTES = 1_000_000  # as the API's
INSTRUCTIONS = (
    "Questions about the documents of this corpus: `ask` answers with numbered citations to exact "
    "passages (or declines when the corpus does not say), `search` finds passages, `cite` resolves a "
    "citation id to its quote and context, `verify` checks any answer against the corpus or given "
    "passages, `documents` lists what is indexed. Each document is a resource, qa://documents/<doc_id>."
)

TopK = Annotated[int | None, Field(ge=1, le=MAX_TOP_K, description="how many passages to retrieve (default: the server's, 5 unless set)")]
Filters = Annotated[FilterSpec | None, Field(description=(
    "only some documents: doc_ids (as `documents` lists them), a part of the title, "
    "since/until dates YYYY-MM-DD (inclusive; undated documents are left out)"))]


class CitedReply(ResolvedCitationReply):
    uri: str  # the document as a resource


class AskToolReply(BaseModel):
    """`/api/ask`'s reply without the passages, sentences and timings: what an agent acts on."""

    answer: str
    abstained: bool
    support: float | None
    mode: str
    citations: list[CitationReply]


def document_uri(doc_id: str) -> str:
    return DOCUMENT_URI + quote(doc_id, safe="/")


class CorpusServer(MCPServer):
    """MCPServer whose resources are the index's documents as they are now (uploads come and go),
    and whose argument errors read as one line."""

    def __init__(self, assistant: Assistant):
        super().__init__(NAME, instructions=INSTRUCTIONS, log_level="WARNING")
        self.assistant = assistant

    async def list_resources(self) -> list[Resource]:
        documents = await anyio.to_thread.run_sync(self.assistant.documents)
        return [Resource(uri=document_uri(d["doc_id"]), name=d["doc_id"], title=d["title"] or d["doc_id"],
                         description=f"dated {d['date']}" if d["date"] else None, mime_type="text/plain")
                for d in documents]

    async def read_resource(self, uri, context=None) -> list[ReadResourceContents]:
        uri = str(uri)
        if not uri.startswith(DOCUMENT_URI):
            raise ResourceNotFoundError(f"no resource {uri[:200]}; documents are {DOCUMENT_URI}<doc_id>")
        doc_id = unquote(uri[len(DOCUMENT_URI):])
        try:
            document = await anyio.to_thread.run_sync(self.assistant.document, doc_id)
        except NotFoundError as exc:
            raise ResourceNotFoundError(f"{exc}; the documents tool lists them") from None
        except CorpusError as exc:
            raise ResourceNotFoundError(message(exc)) from None
        meta = {"doc_id": document["doc_id"], "title": document["title"], "date": document["date"]}
        return [ReadResourceContents(content=document["text"], mime_type="text/plain", meta=meta)]

    async def call_tool(self, name: str, arguments: dict[str, Any], context=None):
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):  # pydantic's several lines, as one
                return failure(describe_validation(exc.__cause__.errors()))
            raise


def build_server(assistant: Assistant) -> CorpusServer:
    """The tools, each a thin call of one `Assistant` method."""
    server = CorpusServer(assistant)

    @server.tool(description="Find the passages of the corpus that best match a query, best first; each "
                             "`id` is a citation id that `cite` resolves.")
    def search(query: Annotated[str, Field(description="what to look for, in words or as a question")],
               top_k: TopK = None, filters: Filters = None) -> Annotated[CallToolResult, SearchReply]:
        return reply(lambda: {"query": query, "results": [p.to_dict() for p in assistant.search(
            query, top_k, filters=_filters(filters))]})

    @server.tool(description="Answer a question from the corpus, every claim cited to an exact passage "
                             "([n] in the answer is citations[n-1]); declines when the corpus does not say.")
    def ask(question: Annotated[str, Field(description="the question")],
            history: Annotated[list[str] | None, Field(description=(
                "the earlier questions of the conversation, oldest first, for a follow-up"))] = None,
            top_k: TopK = None, filters: Filters = None) -> Annotated[CallToolResult, AskToolReply]:
        def answer() -> dict:
            found = assistant.ask(question, history, top_k=top_k, filters=_filters(filters)).result()
            return {"answer": found.answer, "abstained": found.abstained, "support": found.support,
                    "mode": found.mode, "citations": [c.to_dict() for c in found.citations]}

        return reply(answer)

    @server.tool(description="Resolve a citation id (doc_id:start-end) to its exact quote, the sentences "
                             "around it, and its document's title, date, page and resource uri.")
    def cite(id: Annotated[str, Field(description="a citation id, e.g. 000_3cdf5aa040d08496.txt:738-905")]
             ) -> Annotated[CallToolResult, CitedReply]:
        def resolved() -> dict:
            found = assistant.cite(id)
            return found.to_dict() | {"uri": document_uri(found.doc_id)}

        return reply(resolved)

    @server.tool(description="Check an answer sentence by sentence: against the given passages, or else "
                             "against the corpus; says which sentences are supported, by what, and any conflict.")
    def verify(answer: Annotated[str, Field(description="the answer to check, from any system")],
               question: Annotated[str | None, Field(description="the question it answers")] = None,
               passages: Annotated[list[str] | None, Field(description=(
                   "the texts to check it against; without them, the corpus is searched"))] = None,
               ) -> Annotated[CallToolResult, VerifyReply]:
        return reply(lambda: assistant.verify(answer, question, passages).to_dict())

    @server.tool(description="List the indexed documents (doc_id, title, date, size); read one whole as "
                             "the resource qa://documents/<doc_id>.")
    def documents() -> Annotated[CallToolResult, DocumentList]:
        return reply(lambda: {"documents": assistant.documents()})

    return server


def _filters(filters: FilterSpec | None) -> dict | None:
    return filters.model_dump() if filters else None


def reply(work) -> CallToolResult:
    """The tool's result, as structured content and as its JSON text; a user's error as a tool error."""
    try:
        data = work()
    except CorpusError as exc:
        return failure(message(exc))
    text = json.dumps(data, ensure_ascii=False)
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)


def failure(text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


def message(exc: CorpusError) -> str:
    """The product's one line for an error, without the server's paths (a remote client reads it)."""
    if isinstance(exc, NotFoundError) and exc.doc_ids:
        return f"{exc}; the documents tool lists them"
    if isinstance(exc, IndexStoreError):
        return redact.index_error(exc)
    if isinstance(exc, SupportModelError):
        log.error("%s", exc)
        return "the support model is missing or unreadable; reinstall the package"
    if isinstance(exc, LLMError):
        return redact.llm_error(exc)
    return " ".join(str(exc).split())


def http_app(server: CorpusServer):
    """The server as an ASGI app for streamable HTTP, to mount at /mcp, with its requests' lifetime
    in `server.session_manager.run()`, which the app that mounts it enters on start.

    Stateless (each request stands alone, so any worker may answer it) and answered in JSON. The
    SDK's own Host check is off: the access layer in front of the whole app checks Host names
    against QA_ALLOWED_HOSTS, and the key, for /mcp as for /api."""
    from qa.web.limits import BodyLimit

    app = server.streamable_http_app(
        streamable_http_path="/", stateless_http=True, json_response=True, max_request_body_size=MAX_BODY_BYTES,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    return _NoStream(BodyLimit(app, MAX_BODY_BYTES))


class _NoStream:
    """A GET asks for a stream of the server's own messages; a stateless server has none to send,
    and the SDK would hold the connection open for ever. It gets a 405, which clients expect."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope.get("method") == "GET":
            from starlette.responses import JSONResponse

            refusal = JSONResponse({"error": "this endpoint sends no stream of its own; POST MCP requests to it"},
                                   status_code=405, headers={"Allow": "POST"})
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)


@asynccontextmanager
async def serving(server: CorpusServer) -> AsyncIterator[None]:
    """While the app that mounts `http_app(server)` runs: mounted apps' own lifespans are not run."""
    async with server.session_manager.run():
        yield


def run_stdio(assistant: Assistant) -> None:
    """Serve on stdin and stdout until the client closes them. The index and the models load in the
    background meanwhile, so that the first question does not wait for them."""
    threading.Thread(target=_warm, args=(assistant,), name="qa-mcp-warm", daemon=True).start()
    anyio.run(build_server(assistant).run_stdio_async)


def _warm(assistant: Assistant) -> None:
    try:
        assistant.reader
        assistant.support_model
    except CorpusError as exc:  # said again, to the client, by the first tool it calls
        log.warning("%s", exc)
