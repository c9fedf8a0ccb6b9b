"""The sync health dashboard: one page that says whether every instance and model is in sync.

Pages (HTML, server-rendered, no JavaScript) and the same facts as JSON under /api/:
- ``/``: per instance and entity the facts and alert flags of ``ops.sync_health`` (last success,
  lag behind Odoo, last change, error rate, the oldest waiting outbox row, dead letters, event-to-row
  p99), queue depths, latency percentiles (p50/p95/p99) over time, and the recent runs with their
  trace ids (consecutive no-op runs of one entity as one line);
- ``/dead-letters``: a browser with filters, each letter's payload, and replay (one or many);
- ``/trace/{trace_id}``: everything the database knows about one trace (``specgen sync trace``).

Every page needs the dashboard token or the service-role key (see `bridge.http.dashboard.auth`).

Modules: `app` assembles the routes, `pages` holds the handlers, `web` their shared state (`Dashboard`)
and the access check, `filters` the templates' formatting.
"""
from __future__ import annotations

from importlib import resources

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from bridge.http.dashboard import pages
from bridge.http.dashboard.auth import Auth
# re-exported: what tests and callers have imported from here
from bridge.http.dashboard.filters import ago, chart, duration, environment, flags, percent, to_json, utc  # noqa: F401
from bridge.http.dashboard.pages import MAX_HOURS, PAGE_SIZE  # noqa: F401
from bridge.http.dashboard.web import HEADERS, MAX_FORM_BYTES, RETRY, Dashboard, Form, RefuseNul, read_form  # noqa: F401


def create_app(url: str, auth: Auth) -> Starlette:
    css = resources.files("bridge.http.dashboard").joinpath("dashboard.css").read_bytes()
    dash = Dashboard(url, auth, environment(), css)
    routes = [
        Route("/", dash.guarded(pages.index)),
        Route("/login", dash.open(pages.login), methods=["GET", "POST"]),
        Route("/logout", dash.guarded(pages.logout), methods=["POST"]),
        Route("/dead-letters", dash.guarded(pages.letters_page)),
        Route("/dead-letters/replay", dash.guarded(pages.replay), methods=["POST"]),
        Route("/dead-letters/{letter_id}", dash.guarded(pages.letter_page)),
        Route("/trace/{trace_id}", dash.guarded(pages.trace_page)),
        Route("/api/health", dash.api(pages.api_health)),
        Route("/api/summary", dash.api(pages.api_summary)),
        Route("/api/skipped-instances", dash.api(pages.api_skipped)),
        Route("/api/runs", dash.api(pages.api_runs)),
        Route("/api/latency", dash.api(pages.api_latency)),
        Route("/api/dead-letters", dash.api(pages.api_letters)),
        Route("/static/dashboard.css", dash.open(pages.css_file)),
        Route("/healthz", dash.open(pages.healthz)),
    ]
    return Starlette(routes=routes, middleware=[Middleware(RefuseNul)])
