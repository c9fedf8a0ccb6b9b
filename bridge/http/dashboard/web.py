"""What every dashboard page shares: response headers, form parsing, the NUL guard, and `Dashboard`,
the state the handlers take (database url, auth, templates) with rendering and the access check."""
from __future__ import annotations

import datetime as dt
import math
from urllib.parse import parse_qs, urlencode

import orjson
import psycopg
from jinja2 import Environment
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response

from bridge.adapters import json_default
from bridge.http.dashboard.auth import SESSION_COOKIE, Auth
from bridge.observe import jsonlog
from bridge.store import db

HEADERS = {
    "content-security-policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
RETRY = {"retry-after": "5"}  # on a 503 while the database is down, as the receiver says
MAX_FORM_BYTES = 64 * 1024


class Form:
    """An urlencoded form body (the only kind these pages post). Parsed with the standard library:
    Starlette's own form parser needs python-multipart, a dependency for multipart uploads we never take."""

    def __init__(self, body: bytes):
        self.values = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=1000)
        if any("\x00" in k or any("\x00" in v for v in vs) for k, vs in self.values.items()):
            raise HTTPException(400, "a NUL character is not accepted")

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.values.get(name, [default])[0]

    def getlist(self, name: str) -> list[str]:
        return self.values.get(name, [])


async def read_form(request: Request) -> Form:
    if not hasattr(request.state, "form"):
        body = b""
        try:
            async for chunk in request.stream():
                body += chunk
                if len(body) > MAX_FORM_BYTES:
                    raise HTTPException(413, "form too large")
        except ClientDisconnect:  # also a body that did not arrive within the read deadline
            raise HTTPException(400, "the form did not arrive") from None
        request.state.form = Form(body)
    return request.state.form


class RefuseNul:
    """ASGI middleware: a NUL in the path or the query string is a 400. PostgreSQL text cannot hold
    one, so it would otherwise reach a query and come back as a 500."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and ("\x00" in scope["path"] or b"%00" in scope["query_string"]
                                        or b"\x00" in scope["query_string"]):
            response = PlainTextResponse("a NUL character is not accepted in the URL", status_code=400, headers=HEADERS)
            return await response(scope, receive, send)
        return await self.app(scope, receive, send)


class Dashboard:
    """The handlers' state. `guarded`, `api` and `open` turn a handler `(dashboard, request)` into an endpoint."""

    def __init__(self, url: str, auth: Auth, templates: Environment, css: bytes):
        self.url, self.auth, self.templates, self.css = url, auth, templates, css

    def page(self, request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
        cookie = request.cookies.get(SESSION_COOKIE)
        html = self.templates.get_template(name).render(
            request=request, csrf=self.auth.csrf_token(cookie) if cookie else "",
            now=dt.datetime.now(dt.timezone.utc), **context)
        return HTMLResponse(html, status_code=status, headers=HEADERS)

    def read(self, fn, *args, **kw):
        with db.connect(self.url) as conn:
            return fn(conn, *args, **kw)

    def open(self, handler):
        """An endpoint anyone may call (the sign-in page)."""
        async def endpoint(request: Request):
            return await handler(self, request)
        return endpoint

    def guarded(self, handler, api: bool = False):
        """An endpoint for the holder of a credential (else 401, or to /login), CSRF-checked on a
        session's POST, with a 503 while the database is not reachable."""
        async def endpoint(request: Request):
            refused = await self.refusal(request, api)
            if refused is not None:
                return refused
            try:
                return await handler(self, request)
            except psycopg.OperationalError as exc:
                # transient: the next request connects afresh, so say when to come back
                message = f"the database is not reachable: {type(exc).__name__}"
                if api:
                    return JSONResponse({"error": message}, status_code=503, headers={**HEADERS, **RETRY})
                response = self.page(request, "error.html.j2", 503, message=message)
                response.headers.update(RETRY)
                return response
        return endpoint

    def api(self, fn):
        """A guarded JSON endpoint answering what `fn(dashboard, request)` returns, redacted."""
        async def handler(dashboard: Dashboard, request: Request):
            body = orjson.dumps(jsonlog.redact(fn(dashboard, request)), default=json_default)
            return Response(body, media_type="application/json", headers=HEADERS)
        return self.guarded(handler, api=True)

    async def refusal(self, request: Request, api: bool) -> Response | None:
        """The answer to a request without access, or None when it may go on."""
        allowed, by_session, retry_after = self.auth.request_ok(request)
        if retry_after:
            return JSONResponse({"error": "too many failed attempts; retry later"}, status_code=429,
                                headers={"retry-after": str(math.ceil(retry_after)), **HEADERS})
        if not allowed:
            if api or request.headers.get("authorization"):
                return JSONResponse({"error": "a valid dashboard token or service-role key is required"},
                                    status_code=401, headers={"www-authenticate": "Bearer", **HEADERS})
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303, headers=HEADERS)
        if request.method == "POST" and by_session:
            form = await read_form(request)
            if not self.auth.csrf_ok(request.cookies.get(SESSION_COOKIE), form.get("csrf")):
                return self.page(request, "error.html.j2", 403, message="The form expired; reload the page.")
        return None
