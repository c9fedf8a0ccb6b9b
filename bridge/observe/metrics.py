"""Prometheus metrics of the worker and the receiver: the contract in docs/observability.md.

One registry per process. Runs report through `record_run` (called when every `Run` ends), the Odoo
client through `observe_call`, the receiver through `webhook`, the processor through `event_to_row`;
`update` sets queue depths, lag and the outbox's oldest waiting change from PostgreSQL once
per worker cycle.
"""
from __future__ import annotations

import datetime as dt
import threading

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, start_http_server
from prometheus_client import CONTENT_TYPE_LATEST  # noqa: F401 - re-exported for the receiver

REGISTRY = CollectorRegistry(auto_describe=True)

RECORDS = Counter("specgen_sync_records_total", "Records pulled or pushed.", ["instance", "entity", "direction"],
                  registry=REGISTRY)
ERRORS = Counter("specgen_sync_errors_total", "Failed runs or calls, by error class.",
                 ["instance", "entity", "error_class"], registry=REGISTRY)
RETRIES = Counter("specgen_sync_retries_total", "Retried Odoo calls and re-queued work.", ["instance", "entity"],
                  registry=REGISTRY)
DEAD_LETTERS = Counter("specgen_sync_dead_letters_total", "Work sent to dead letters.",
                       ["instance", "entity", "source"], registry=REGISTRY)
LAST_SUCCESS = Gauge("specgen_sync_last_success_timestamp_seconds", "End of the last successful run.",
                     ["instance", "entity"], registry=REGISTRY)
CURSOR_LAG = Gauge("specgen_sync_cursor_lag_seconds",
                   "How far the mirror is behind Odoo: Odoo's newest write_date minus the pull cursor's.",
                   ["instance", "entity"], registry=REGISTRY)
LAST_CHANGE = Gauge("specgen_sync_last_change_timestamp_seconds", "Odoo's newest write_date the sync has seen.",
                    ["instance", "entity"], registry=REGISTRY)
OUTBOX_AGE = Gauge("specgen_outbox_oldest_age_seconds", "Age of the oldest app change waiting to be pushed (0: none).",
                   ["instance", "entity"], registry=REGISTRY)
OUTBOX_ATTEMPTS = Gauge("specgen_outbox_max_attempts", "Most push attempts of an app change still waiting (0: none).",
                        ["instance", "entity"], registry=REGISTRY)
WEBHOOKS = Counter("specgen_webhook_events_total", "Webhook deliveries by outcome.", ["instance", "outcome"],
                   registry=REGISTRY)
QUEUE_DEPTH = Gauge("specgen_queue_depth", "Rows waiting.", ["queue", "instance"], registry=REGISTRY)
ODOO_CALLS = Histogram("specgen_odoo_call_duration_seconds", "Odoo RPC latency.", ["model", "method"],
                       buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30), registry=REGISTRY)
INSTANCE_SKIPPED = Gauge("specgen_sync_instance_skipped", "1 while the worker skips the instance: its configuration "
                         "is broken (e.g. its secret env var is unset).", ["instance"], registry=REGISTRY)
HTTP_REQUESTS = Counter("specgen_http_requests_total", "Requests to the receiver by route template and status class.",
                        ["route", "status_class"], registry=REGISTRY)
EVENT_TO_ROW = Histogram("specgen_event_to_row_seconds", "Webhook received to row written.", ["entity"],
                         buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300), registry=REGISTRY)

# The instance label of a delivery for an instance id that names no instance. Every label comes from a
# bounded set (instance ids that exist, entities and models of the spec, route templates, status
# classes, error class names): never a raw piece of a request, or strangers could grow /metrics.
UNKNOWN = "unknown"
UNMATCHED = "unmatched"

# What each kind of run counts as synced records, and in which direction.
_SYNCED = {"pull": ("read", "pull"), "process": ("processed", "pull"), "push": ("pushed", "push")}
_lock = threading.Lock()
_OUTBOX_SEEN: set = set()  # (instance, entity) pairs the outbox gauges have reported


def _label(value) -> str:
    return "" if value is None else str(value)


def record_run(kind: str, instance_id, entity: str | None, counts: dict, status: str,
               error_class: str | None = None) -> None:
    instance, entity_label = _label(instance_id), _label(entity)
    synced = _SYNCED.get(kind)
    if synced and counts.get(synced[0]):
        RECORDS.labels(instance, entity_label, synced[1]).inc(counts[synced[0]])
    if counts.get("retried"):
        RETRIES.labels(instance, entity_label).inc(counts["retried"])
    if counts.get("dead_lettered"):
        DEAD_LETTERS.labels(instance, entity_label, "webhook" if kind == "process" else kind).inc(counts["dead_lettered"])
    if status == "succeeded" and kind in ("pull", "push", "process", "reconcile"):
        LAST_SUCCESS.labels(instance, entity_label).set_to_current_time()
    elif status == "failed":
        # a run whose items failed one by one counts each of them; a run that broke counts once
        ERRORS.labels(instance, entity_label, error_class or "Error").inc(counts.get("failed") or 1)


def odoo_retry(instance_id, entity: str | None) -> None:
    """One retried Odoo call (a transient error: 5xx, 429, timeout, reset, serialization failure)."""
    RETRIES.labels(_label(instance_id), _label(entity)).inc()


def observe_call(model: str, method: str, seconds: float) -> None:
    ODOO_CALLS.labels(model, method).observe(seconds)


def webhook(instance_id, outcome: str) -> None:
    WEBHOOKS.labels(_label(instance_id), outcome).inc()


def instance_skipped(instance_id, skipped: bool) -> None:
    INSTANCE_SKIPPED.labels(_label(instance_id)).set(1 if skipped else 0)


class HttpRequests:
    """ASGI middleware: count each request by its route template (never the raw path) and status class."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        status = [500]

        async def counting_send(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)
        try:
            await self.app(scope, receive, counting_send)
        finally:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            HTTP_REQUESTS.labels(route, f"{status[0] // 100}xx").inc()


def event_to_row(entity: str, seconds: float) -> None:
    EVENT_TO_ROW.labels(entity).observe(max(seconds, 0.0))


def update(facts: dict) -> None:
    """Queue depths, lag, last change and the waiting outbox per entity, from what the store read once per
    worker cycle (bridge.store.queries.metric_facts)."""
    with _lock:
        for queue, rows in facts["queues"].items():
            for row in rows:
                QUEUE_DEPTH.labels(queue, _label(row["instance_id"])).set(row["n"])
        for row in facts["cursors"]:
            labels = (_label(row["instance_id"]), row["entity"])
            head = row["odoo_head_write_date"]
            if head is not None:
                CURSOR_LAG.labels(*labels).set(max((head - row["last_write_date"]).total_seconds(), 0.0))
            LAST_CHANGE.labels(*labels).set(max(filter(None, (head, row["last_write_date"]))).timestamp())
        # per entity with waiting changes; an entity drained since the last cycle goes back to 0
        now = dt.datetime.now(dt.timezone.utc)
        seen = set()
        for row in facts["outbox"]:
            labels = (_label(row["instance_id"]), row["entity"])
            seen.add(labels)
            OUTBOX_AGE.labels(*labels).set(max((now - row["oldest"]).total_seconds(), 0.0))
            OUTBOX_ATTEMPTS.labels(*labels).set(row["attempts"])
        for labels in _OUTBOX_SEEN - seen:
            OUTBOX_AGE.labels(*labels).set(0)
            OUTBOX_ATTEMPTS.labels(*labels).set(0)
        _OUTBOX_SEEN.update(seen)


def exposition() -> bytes:
    return generate_latest(REGISTRY)


def serve(port: int, host: str = "127.0.0.1"):
    """Expose /metrics on its own port (the worker has no HTTP server of its own)."""
    return start_http_server(port, addr=host, registry=REGISTRY)
