"""The dashboard's handlers: each takes the `Dashboard` state and the request (bridge.http.dashboard.web)."""
from __future__ import annotations

import math
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from bridge.http.dashboard.auth import SESSION_COOKIE, SESSION_TTL_S, client_of
from bridge.http.dashboard.web import HEADERS, Dashboard, read_form
from bridge.store import db, deadletters, queries

PAGE_SIZE = 50
# Percentiles are computed on request: 48 h of runs and events take ~1 s at ~140,000 runs/day;
# a week ~2.5 s (benchmarks/results/dashboard.md). Longer windows belong to Prometheus/Grafana.
MAX_HOURS = 48


def query_int(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    try:
        return min(hi, max(lo, int(request.query_params.get(name, default))))
    except ValueError:
        return default


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path on this site only."""
    return value if value and value.startswith("/") and not value.startswith("//") else "/"


# -- sign in ------------------------------------------------------------------------------------
async def login(dash: Dashboard, request: Request):
    if request.method == "GET":
        return dash.page(request, "login.html.j2", next=safe_next(request.query_params.get("next")), failed=False)
    form = await read_form(request)
    target = safe_next(form.get("next"))
    accepted, retry_after = dash.auth.attempt(client_of(request), form.get("token"))
    if retry_after:
        response = dash.page(request, "login.html.j2", 429, next=target, failed=False,
                             retry_after=math.ceil(retry_after))
        response.headers["retry-after"] = str(math.ceil(retry_after))
        return response
    if not accepted:
        return dash.page(request, "login.html.j2", 401, next=target, failed=True)
    response = RedirectResponse(target, status_code=303, headers=HEADERS)
    response.set_cookie(SESSION_COOKIE, dash.auth.new_session(), max_age=SESSION_TTL_S, httponly=True,
                        samesite="strict", secure=request.url.scheme == "https", path="/")
    return response


async def logout(dash: Dashboard, request: Request):
    """Sign this session out, or with `everywhere`, every session (a Bearer caller gets JSON)."""
    form = await read_form(request)
    everywhere = form.get("everywhere") not in (None, "", "0")
    if everywhere:
        dash.auth.revoke_all()
    else:
        dash.auth.revoke(request.cookies.get(SESSION_COOKIE))
    if request.headers.get("authorization"):
        return JSONResponse({"signed_out": "everywhere" if everywhere else "this session"}, headers=HEADERS)
    response = RedirectResponse("/login", status_code=303, headers=HEADERS)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# -- pages --------------------------------------------------------------------------------------
async def index(dash: Dashboard, request: Request):
    hours = query_int(request, "hours", 6, 1, MAX_HOURS)
    with db.connect(dash.url) as conn:
        data = {"health": queries.health(conn), "summary": queries.summary(conn),
                "runs": queries.recent_runs(conn, 30, collapse=True), "failures": queries.recent_runs(conn, 10, "failed"),
                "latency": queries.latency(conn, hours), "skipped": queries.skipped_instances(conn)}
        letters, letters_total = queries.dead_letters(conn, limit=5)
    refresh = request.query_params.get("refresh", "30")
    return dash.page(request, "index.html.j2", hours=hours, letters=letters, letters_total=letters_total,
                     refresh=refresh if refresh.isdigit() and refresh != "0" else None, **data)


async def letters_page(dash: Dashboard, request: Request):
    state = request.query_params.get("state", "open")
    state = state if state in queries.DEAD_LETTER_STATES else "open"
    source, entity = request.query_params.get("source") or None, request.query_params.get("entity") or None
    pageno = query_int(request, "page", 1, 1, 100000)
    rows, total = dash.read(queries.dead_letters, state=state, source=source, entity=entity, limit=PAGE_SIZE,
                            offset=(pageno - 1) * PAGE_SIZE)
    filters = {k: v for k, v in (("state", state), ("source", source), ("entity", entity)) if v}
    return dash.page(request, "dead_letters.html.j2", rows=rows, total=total, state=state, source=source or "",
                     entity=entity or "", pageno=pageno, pages=max(1, math.ceil(total / PAGE_SIZE)),
                     filters=filters, replayed=request.query_params.get("replayed"),
                     skipped=request.query_params.get("skipped"),
                     replay_trace=request.query_params.get("trace"))


async def letter_page(dash: Dashboard, request: Request):
    try:
        letter_id = int(request.path_params["letter_id"])
    except ValueError:
        letter_id = -1
    row = dash.read(queries.dead_letter, letter_id)
    if row is None:
        return dash.page(request, "error.html.j2", 404, message=f"no dead letter {request.path_params['letter_id']}")
    return dash.page(request, "dead_letter.html.j2", letter=row)


async def replay(dash: Dashboard, request: Request):
    form = await read_form(request)
    # a row's own Replay button sends `one` (only that letter); "Replay selected" sends the ticked `id`s
    chosen = form.getlist("one") or form.getlist("id")
    ids = sorted({int(v) for v in chosen if str(v).isdigit()})
    back = safe_next(form.get("back")) if form.get("back") else "/dead-letters"
    if not ids:
        return dash.page(request, "error.html.j2", 400, message="choose at least one dead letter to replay")
    counts, trace_id = deadletters.replay_run(dash.url, note="replayed from the dashboard", ids=ids)
    if request.headers.get("authorization"):
        return JSONResponse({**counts, "trace_id": trace_id}, headers=HEADERS)
    sep = "&" if "?" in back else "?"
    done = {"replayed": counts["outbox"] + counts["events"], "skipped": counts["skipped"], "trace": trace_id}
    return RedirectResponse(f"{back}{sep}{urlencode(done)}",
                            status_code=303, headers=HEADERS)


async def trace_page(dash: Dashboard, request: Request):
    trace_id = request.path_params["trace_id"][:64]
    story = queries.trace_story(dash.url, trace_id)
    return dash.page(request, "trace.html.j2", trace_id=trace_id, story=story, status=200 if story else 404)


async def css_file(dash: Dashboard, request: Request):
    return Response(dash.css, media_type="text/css", headers={**HEADERS, "cache-control": "max-age=300"})


async def healthz(dash: Dashboard, request: Request):
    return JSONResponse({"ok": True})


# -- JSON (Dashboard.api answers what these return) ---------------------------------------------
def api_health(dash: Dashboard, request: Request):
    return dash.read(queries.health)


def api_summary(dash: Dashboard, request: Request):
    return dash.read(queries.summary)


def api_skipped(dash: Dashboard, request: Request):
    return dash.read(queries.skipped_instances)


def api_runs(dash: Dashboard, request: Request):
    return dash.read(queries.recent_runs, query_int(request, "limit", 50, 1, 500),
                     request.query_params.get("status") or None,
                     collapse=request.query_params.get("collapse") == "1")


def api_latency(dash: Dashboard, request: Request):
    return dash.read(queries.latency, query_int(request, "hours", 6, 1, MAX_HOURS))


def api_letters(dash: Dashboard, request: Request):
    rows, total = dash.read(queries.dead_letters, state=request.query_params.get("state", "open"),
                            source=request.query_params.get("source"), entity=request.query_params.get("entity"),
                            limit=query_int(request, "limit", PAGE_SIZE, 1, 500),
                            offset=query_int(request, "offset", 0, 0, 10**9))
    return {"total": total, "dead_letters": rows}
