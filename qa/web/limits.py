"""A cap on request bodies, for the API and the upload route alike."""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(Exception):
    """Raised from `receive` once a body passes the limit (its argument); FastAPI may wrap it in an
    HTTP error."""


class BodyLimit:
    """Refuse bodies over `limit` bytes with a 413, whether or not they declare their length;
    with `uploads`, a POST to a path ending in /documents (files being added) may have that many."""

    def __init__(self, app: ASGIApp, limit: int, uploads: int | None = None):
        self.app = app
        self.limit = limit
        self.uploads = uploads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit
        adding_files = scope.get("method") == "POST" and scope["path"].rstrip("/").endswith("/documents")
        if self.uploads is not None and adding_files:
            limit = self.uploads
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(send, limit)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(send, limit)

    async def _refuse(self, send: Send, limit: int) -> None:
        body = JSONResponse({"error": too_large_message(limit)}).body
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def too_large_message(limit: int) -> str:
    return f"the request body is over {limit:,} bytes"
