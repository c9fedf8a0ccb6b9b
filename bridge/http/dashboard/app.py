"""The sync health dashboard: one page that says whether every instance and model is in sync.

Pages (HTML, server-rendered, no JavaScript) and the same facts as JSON under /api/:
- ``/``: per instance and entity the facts and alert flags of ``ops.sync_health`` (last success,
  lag behind Odoo, last change, error rate, the oldest waiting outbox row, dead letters, event-to-row
  p99), queue depths, latency percentiles (p50/p95/p99) over time, and the recent runs with their
  trace ids (consecutive no-op runs of one entity as one line);
- ``/dead-letters``: a browser with filters, each letter's payload, and replay (one or many);
- ``/trace/{trace_id}``: everything the database knows about one trace (``specgen sync trace``).

Every page needs the dashboard token or the service-role key (see `bridge.http.dashboard.auth`).
"""
from __future__ import annotations

import datetime as dt
import math
from importlib import resources
from urllib.parse import parse_qs, urlencode

import orjson
import psycopg
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from bridge.observe import jsonlog

from bridge.store import db, deadletters, queries
from bridge.adapters import json_default
from bridge.http.dashboard.auth import SESSION_COOKIE, SESSION_TTL_S, Auth, client_of

HEADERS = {
    "content-security-policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
PAGE_SIZE = 50
RETRY = {"retry-after": "5"}  # on a 503 while the database is down, as the receiver says
MAX_FORM_BYTES = 64 * 1024
# Percentiles are computed on request: 48 h of runs and events take ~1 s at ~140,000 runs/day;
# a week ~2.5 s (benchmarks/results/dashboard.md). Longer windows belong to Prometheus/Grafana.
MAX_HOURS = 48


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


# -- formatting helpers (jinja filters) ----------------------------------------------------------
def ago(value: dt.datetime | None, now: dt.datetime | None = None) -> str:
    if value is None:
        return "never"
    return f"{duration((now or dt.datetime.now(dt.timezone.utc)) - value)} ago"


def duration(value) -> str:
    if value is None:
        return "–"
    seconds = value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 90:
        return f"{seconds:.1f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def utc(value: dt.datetime | None) -> str:
    return "–" if value is None else value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def percent(value) -> str:
    return "–" if value is None else f"{float(value) * 100:.0f}%"


def to_json(value) -> str:
    return orjson.dumps(jsonlog.redact(value), default=json_default, option=orjson.OPT_INDENT_2).decode()


def flags(row: dict) -> list[str]:
    names = {"stalled": "stalled", "error_rate_high": "errors", "dead_letters_growing": "dead letters growing",
             "latency_high": "slow", "outbox_stuck": "outbox stuck", "push_retrying": "push retrying"}
    return [label for key, label in names.items() if row.get(key)]


def chart(series: dict, width: int = 360, height: int = 120) -> dict:
    """Lines (and a dot per bucket, so one bucket still shows) for p50/p95/p99 of one latency series,
    drawn by the template as an inline SVG."""
    points = series["points"]
    top = max([p["p99"] or 0 for p in points] + [0.001])
    n = max(len(points) - 1, 1)

    def xy(i, value):
        x = (i / n) * (width - 40) + 35 if len(points) > 1 else (width + 30) / 2
        return round(x, 1), round(height - 15 - (value or 0) / top * (height - 25), 1)

    lines = []
    for key in ("p50", "p95", "p99"):
        coords = [xy(i, p[key]) for i, p in enumerate(points)]
        lines.append({"name": key, "coords": coords, "points": " ".join(f"{x},{y}" for x, y in coords)})
    return {"width": width, "height": height, "top": duration(top), "lines": lines if points else []}


def _env() -> Environment:
    env = Environment(loader=PackageLoader("bridge.http.dashboard", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)
    env.filters.update(ago=ago, duration=duration, utc=utc, percent=percent, to_json=to_json)
    env.globals.update(flags=flags, chart=chart, urlencode=urlencode)
    return env


def create_app(url: str, auth: Auth) -> Starlette:
    templates = _env()
    css = resources.files("bridge.http.dashboard").joinpath("dashboard.css").read_bytes()

    def page(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
        cookie = request.cookies.get(SESSION_COOKIE)
        html = templates.get_template(name).render(
            request=request, csrf=auth.csrf_token(cookie) if cookie else "", now=dt.datetime.now(dt.timezone.utc),
            **context)
        return HTMLResponse(html, status_code=status, headers=HEADERS)

    def guarded(api: bool = False):
        def wrap(handler):
            async def endpoint(request: Request):
                allowed, by_session, retry_after = auth.request_ok(request)
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
                    if not auth.csrf_ok(request.cookies.get(SESSION_COOKIE), form.get("csrf")):
                        return page(request, "error.html.j2", 403, message="The form expired; reload the page.")
                try:
                    return await handler(request)
                except psycopg.OperationalError as exc:
                    # transient: the next request connects afresh, so say when to come back
                    message = f"the database is not reachable: {type(exc).__name__}"
                    if api:
                        return JSONResponse({"error": message}, status_code=503, headers={**HEADERS, **RETRY})
                    response = page(request, "error.html.j2", 503, message=message)
                    response.headers.update(RETRY)
                    return response
            return endpoint
        return wrap

    def read(fn, *args, **kw):
        with db.connect(url) as conn:
            return fn(conn, *args, **kw)

    def _int(request: Request, name: str, default: int, lo: int, hi: int) -> int:
        try:
            return min(hi, max(lo, int(request.query_params.get(name, default))))
        except ValueError:
            return default

    # -- sign in --------------------------------------------------------------------------------
    def _next(value: str | None) -> str:
        return value if value and value.startswith("/") and not value.startswith("//") else "/"

    async def login(request: Request):
        if request.method == "GET":
            return page(request, "login.html.j2", next=_next(request.query_params.get("next")), failed=False)
        form = await read_form(request)
        target = _next(form.get("next"))
        accepted, retry_after = auth.attempt(client_of(request), form.get("token"))
        if retry_after:
            response = page(request, "login.html.j2", 429, next=target, failed=False, retry_after=math.ceil(retry_after))
            response.headers["retry-after"] = str(math.ceil(retry_after))
            return response
        if not accepted:
            return page(request, "login.html.j2", 401, next=target, failed=True)
        response = RedirectResponse(target, status_code=303, headers=HEADERS)
        response.set_cookie(SESSION_COOKIE, auth.new_session(), max_age=SESSION_TTL_S, httponly=True,
                            samesite="strict", secure=request.url.scheme == "https", path="/")
        return response

    @guarded()
    async def logout(request: Request):
        """Sign this session out, or with `everywhere`, every session (a Bearer caller gets JSON)."""
        form = await read_form(request)
        everywhere = form.get("everywhere") not in (None, "", "0")
        if everywhere:
            auth.revoke_all()
        else:
            auth.revoke(request.cookies.get(SESSION_COOKIE))
        if request.headers.get("authorization"):
            return JSONResponse({"signed_out": "everywhere" if everywhere else "this session"}, headers=HEADERS)
        response = RedirectResponse("/login", status_code=303, headers=HEADERS)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    # -- pages ----------------------------------------------------------------------------------
    @guarded()
    async def index(request: Request):
        hours = _int(request, "hours", 6, 1, MAX_HOURS)
        with db.connect(url) as conn:
            data = {"health": queries.health(conn), "summary": queries.summary(conn),
                    "runs": queries.recent_runs(conn, 30, collapse=True), "failures": queries.recent_runs(conn, 10, "failed"),
                    "latency": queries.latency(conn, hours), "skipped": queries.skipped_instances(conn)}
            letters, letters_total = queries.dead_letters(conn, limit=5)
        refresh = request.query_params.get("refresh", "30")
        return page(request, "index.html.j2", hours=hours, letters=letters, letters_total=letters_total,
                    refresh=refresh if refresh.isdigit() and refresh != "0" else None, **data)

    @guarded()
    async def letters_page(request: Request):
        state = request.query_params.get("state", "open")
        state = state if state in queries.DEAD_LETTER_STATES else "open"
        source, entity = request.query_params.get("source") or None, request.query_params.get("entity") or None
        pageno = _int(request, "page", 1, 1, 100000)
        rows, total = read(queries.dead_letters, state=state, source=source, entity=entity, limit=PAGE_SIZE,
                           offset=(pageno - 1) * PAGE_SIZE)
        filters = {k: v for k, v in (("state", state), ("source", source), ("entity", entity)) if v}
        return page(request, "dead_letters.html.j2", rows=rows, total=total, state=state, source=source or "",
                    entity=entity or "", pageno=pageno, pages=max(1, math.ceil(total / PAGE_SIZE)),
                    filters=filters, replayed=request.query_params.get("replayed"),
                    skipped=request.query_params.get("skipped"),
                    replay_trace=request.query_params.get("trace"))

    @guarded()
    async def letter_page(request: Request):
        try:
            letter_id = int(request.path_params["letter_id"])
        except ValueError:
            letter_id = -1
        row = read(queries.dead_letter, letter_id)
        if row is None:
            return page(request, "error.html.j2", 404, message=f"no dead letter {request.path_params['letter_id']}")
        return page(request, "dead_letter.html.j2", letter=row)

    @guarded()
    async def replay(request: Request):
        form = await read_form(request)
        # a row's own Replay button sends `one` (only that letter); "Replay selected" sends the ticked `id`s
        chosen = form.getlist("one") or form.getlist("id")
        ids = sorted({int(v) for v in chosen if str(v).isdigit()})
        back = _next(form.get("back")) if form.get("back") else "/dead-letters"
        if not ids:
            return page(request, "error.html.j2", 400, message="choose at least one dead letter to replay")
        counts, trace_id = deadletters.replay_run(url, note="replayed from the dashboard", ids=ids)
        if request.headers.get("authorization"):
            return JSONResponse({**counts, "trace_id": trace_id}, headers=HEADERS)
        sep = "&" if "?" in back else "?"
        done = {"replayed": counts["outbox"] + counts["events"], "skipped": counts["skipped"], "trace": trace_id}
        return RedirectResponse(f"{back}{sep}{urlencode(done)}",
                                status_code=303, headers=HEADERS)

    @guarded()
    async def trace_page(request: Request):
        trace_id = request.path_params["trace_id"][:64]
        story = queries.trace_story(url, trace_id)
        return page(request, "trace.html.j2", trace_id=trace_id, story=story, status=200 if story else 404)

    # -- JSON -----------------------------------------------------------------------------------
    def api(fn):
        @guarded(api=True)
        async def endpoint(request: Request):
            body = orjson.dumps(jsonlog.redact(fn(request)), default=json_default)
            return Response(body, media_type="application/json", headers=HEADERS)
        return endpoint

    def api_letters(request: Request):
        rows, total = read(queries.dead_letters, state=request.query_params.get("state", "open"),
                           source=request.query_params.get("source"), entity=request.query_params.get("entity"),
                           limit=_int(request, "limit", PAGE_SIZE, 1, 500), offset=_int(request, "offset", 0, 0, 10**9))
        return {"total": total, "dead_letters": rows}

    async def css_file(request: Request):
        return Response(css, media_type="text/css", headers={**HEADERS, "cache-control": "max-age=300"})

    async def healthz(request: Request):
        return JSONResponse({"ok": True})

    routes = [
        Route("/", index),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/dead-letters", letters_page),
        Route("/dead-letters/replay", replay, methods=["POST"]),
        Route("/dead-letters/{letter_id}", letter_page),
        Route("/trace/{trace_id}", trace_page),
        Route("/api/health", api(lambda r: read(queries.health))),
        Route("/api/summary", api(lambda r: read(queries.summary))),
        Route("/api/skipped-instances", api(lambda r: read(queries.skipped_instances))),
        Route("/api/runs", api(lambda r: read(queries.recent_runs, _int(r, "limit", 50, 1, 500),
                                              r.query_params.get("status") or None,
                                              collapse=r.query_params.get("collapse") == "1"))),
        Route("/api/latency", api(lambda r: read(queries.latency, _int(r, "hours", 6, 1, MAX_HOURS)))),
        Route("/api/dead-letters", api(api_letters)),
        Route("/static/dashboard.css", css_file),
        Route("/healthz", healthz),
    ]
    return Starlette(routes=routes, middleware=[Middleware(RefuseNul)])
