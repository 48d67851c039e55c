"""Who may reach the server: the Host allowlist, the Origin check, the key and read-only mode.

One ASGI layer in front of the API and the chat app together, so that no route of either (Gradio
adds dozens) is left out:
- a Host header outside the allowlist gets a 400, so a web page whose name was rebound to
  127.0.0.1 (DNS rebinding) reaches nothing;
- a request that changes something and comes from a page of another site (its Origin) gets a 403;
- with a key, the APIs (/api, /v1, /mcp) want `Authorization: Bearer <key>` and the chat app a
  login, which sets a signed session cookie; without either, pages redirect to the login and every
  other route answers 401;
- Gradio's upload route gets a body cap, and answers 403 on a read-only server;
- the routes by which Gradio fetches a URL for a client (`/gradio_api/file=https://...`, `/proxy=`)
  answer 403: this server reaches out to nothing;
- only the app's own origin gets CORS headers: Gradio grants them to any page on localhost, so a
  page served from another local port could read its replies with the visitor's session.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from urllib.parse import parse_qs, urlsplit

from starlette.datastructures import Headers
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.web import ui_html
from qa.config import Config
from qa.web.limits import BodyLimit

SESSION_COOKIE = "qa_session"
SESSION_SECONDS = 12 * 3600
UPLOAD_ROUTE = "/gradio_api/upload"
LOGIN_BODY_BYTES = 4096
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# `file=` followed by a scheme (`http:`, `HTTPS:`, ...), or any `proxy=`, anywhere in the path.
FETCHING_ROUTE = re.compile(r"/(?:file=[a-z][a-z0-9+.-]*:|proxy=)", re.IGNORECASE)


class Access:
    def __init__(self, app: ASGIApp, config: Config):
        self.app = app
        self.hosts = config.served_hosts()
        self.key = config.api_key
        self.read_only = config.read_only
        # Gradio caps each file; this caps a request, so 1,000 files of the maximum size are not stored first.
        self.uploads = BodyLimit(app, config.max_upload_files * config.max_upload_bytes + 1024 * 1024)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        path = "/" + "/".join(part for part in scope["path"].split("/") if part)
        method = scope.get("method", "GET")
        origin = headers.get("origin")
        if scope["type"] == "http" and origin is not None and not _own_origin(origin, headers.get("host")):
            send = _without_cors(send)
        if not self._allowed(host_name(headers.get("host"))):
            refusal = _error(400, "this server does not answer to that host name; "
                                  "list the names it is reached by in QA_ALLOWED_HOSTS", openai=path.startswith("/v1"))
        elif FETCHING_ROUTE.search(scope["path"]):  # the path as sent: collapsing "//" would hide "http://"
            refusal = _error(403, "this server fetches no URLs for its clients")
        elif method not in SAFE_METHODS and not self._same_site(headers.get("origin")):
            refusal = _error(403, "requests from pages of another site are refused", openai=path.startswith("/v1"))
        elif self.key and path in ("/login", "/logout"):
            refusal = await self._login(scope, receive, path, method, headers)
        elif self.key and not self._authorized(headers):
            refusal = self._unauthorized(path, method, headers)
        elif path == UPLOAD_ROUTE and self.read_only:
            refusal = _error(403, "this server is read-only: adding files is turned off")
        elif path == UPLOAD_ROUTE:
            await self.uploads(scope, receive, send)
            return
        else:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
        else:
            await refusal(scope, receive, send)

    # --- who is asking ---------------------------------------------------------------------------
    def _allowed(self, name: str | None) -> bool:
        return name is not None and ("*" in self.hosts or name in self.hosts)

    def _same_site(self, origin: str | None) -> bool:
        """No Origin (not a browser, or a same-origin GET) passes; a page's Origin must be ours."""
        if origin is None:
            return True
        try:
            name = urlsplit(origin).hostname
        except ValueError:
            return False
        return origin != "null" and self._allowed(name)

    def _authorized(self, headers: Headers) -> bool:
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(credentials.strip().encode(), self.key.encode()):
            return True
        return self._valid_session(_cookie(headers, SESSION_COOKIE))

    # --- sessions ---------------------------------------------------------------------------------
    def _session(self) -> str:
        expires = str(int(time.time()) + SESSION_SECONDS)
        return f"{expires}.{self._sign(expires)}"

    def _valid_session(self, token: str | None) -> bool:
        expires, _, signature = (token or "").partition(".")
        if not expires.isdigit() or int(expires) < time.time():
            return False
        return hmac.compare_digest(signature.encode(), self._sign(expires).encode())

    def _sign(self, expires: str) -> str:
        return hmac.new(self.key.encode(), f"qa-session:{expires}".encode(), hashlib.sha256).hexdigest()

    # --- replies ----------------------------------------------------------------------------------
    def _unauthorized(self, path: str, method: str, headers: Headers) -> Response:
        api = path.startswith(("/api", "/v1", "/mcp"))
        if not api and method == "GET" and "text/html" in headers.get("accept", ""):
            return RedirectResponse("/login", status_code=303)
        message = "this server needs its key: send Authorization: Bearer <key>" if api else "log in first"
        return _error(401, message, {"WWW-Authenticate": 'Bearer realm="qa"'}, openai=path.startswith("/v1"))

    async def _login(self, scope: Scope, receive: Receive, path: str, method: str, headers: Headers) -> Response:
        if path == "/logout":
            response = RedirectResponse("/login", status_code=303)
            response.delete_cookie(SESSION_COOKIE, path="/")
            return response
        if method != "POST":
            return HTMLResponse(ui_html.login_page())
        form = await _read_form(receive, LOGIN_BODY_BYTES)
        given = (form.get("key") or [""])[0].strip()
        if not given or not hmac.compare_digest(given.encode(), self.key.encode()):
            return HTMLResponse(ui_html.login_page("That key is not right."), status_code=401)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(SESSION_COOKIE, self._session(), max_age=SESSION_SECONDS, path="/",
                            httponly=True, samesite="strict")
        return response


def host_name(header: str | None) -> str | None:
    """The name in a Host header, lower case, without the port: `[::1]:7860` gives `::1`."""
    header = (header or "").strip().lower()
    if header.startswith("["):
        end = header.find("]")
        return header[1:end] if end > 1 else None
    name, _, port = header.partition(":")
    if not name or ":" in port:
        return None
    return name.rstrip(".")


def _own_origin(origin: str, host: str | None) -> bool:
    """Whether a page's Origin is this app as the request reached it (scheme aside: a proxy may end TLS)."""
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(host) and parts.netloc.lower() == host.strip().lower()


def _without_cors(send: Send) -> Send:
    """`send` with the reply's Access-Control-* headers taken out, so that a browser lets no other
    origin's page read it."""

    async def send_without(message: Message) -> None:
        if message["type"] == "http.response.start":
            kept = [(k, v) for k, v in message.get("headers", []) if not k.lower().startswith(b"access-control-")]
            message = {**message, "headers": kept}
        await send(message)

    return send_without


def _cookie(headers: Headers, name: str) -> str | None:
    for part in headers.get("cookie", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


async def _read_form(receive: Receive, limit: int) -> dict[str, list[str]]:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if len(body) > limit or not message.get("more_body"):
            break
    return parse_qs(body[:limit].decode("utf-8", "replace"))


def _error(status: int, message: str, headers: dict[str, str] | None = None, openai: bool = False) -> Response:
    """`{"error": message}`, or OpenAI's shape for its endpoint's clients."""
    error = {"message": message, "type": "invalid_request_error", "param": None, "code": None} if openai else message
    return JSONResponse({"error": error}, status_code=status, headers=headers)
