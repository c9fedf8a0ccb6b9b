"""OpenTelemetry spans carry the sync's own trace ids: a run's span is in ops.runs.trace_id's trace, its
Odoo calls are its children, a webhook delivery and the processing of its event share one trace, and a
push continues the outbox row's trace. Off when no OTEL_* variable asks for it."""
from __future__ import annotations

import os

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from bridge.observe import tracing
from bridge.settings import Settings
from bridge.store.db import connect
from bridge.sync.processor import Processor
from bridge.sync.pull import pull_entity
from bridge.sync.push import Pusher
from bridge.http.receiver import create_app
from bridge.http.serve import ThreadedServer
from tests.runtime.support import WEBHOOK_TOKEN, fast_client

pytestmark = pytest.mark.db


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    tracing.configure(exporter)
    yield exporter
    tracing.configure(None)


def hexid(span) -> str:
    return f"{span.context.trace_id:032x}"


def odoo_spans(finished):
    return [s for s in finished if s.name.startswith("odoo ")]


def under(span, root, finished) -> bool:
    """``span`` hangs under ``root`` through Odoo call spans only (a login sits under the call that needed it)."""
    by_id = {s.context.span_id: s for s in finished}
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        if span is root:
            return True
        if not span.name.startswith("odoo "):
            return False
    return False


def test_a_pull_run_span_is_in_the_run_trace_and_odoo_calls_are_its_children(spans, db_url, instance, adapters, odoo):
    client = fast_client(instance)
    pull_entity(db_url, instance, adapters, adapters["partner"], client)
    client.close()
    with connect(db_url) as conn:
        run = conn.execute("select * from ops.runs").fetchone()
    finished = spans.get_finished_spans()
    [root] = [s for s in finished if s.name == "pull partner"]
    assert hexid(root) == run["trace_id"] and root.parent is None
    assert root.attributes["specgen.run_id"] == str(run["id"]) and root.attributes["specgen.kind"] == "pull"
    assert root.attributes["specgen.entity"] == "partner"
    assert root.attributes["specgen.instance_id"] == str(instance["id"])
    assert root.status.status_code != StatusCode.ERROR
    calls = odoo_spans(finished)
    assert calls and all(hexid(c) == run["trace_id"] and under(c, root, finished) for c in calls)
    reads = [c for c in calls if c.attributes.get("odoo.method") == "search_read"]
    assert reads and reads[0].parent.span_id == root.context.span_id
    assert reads[0].attributes["odoo.model"] == "res.partner"


def test_odoo_calls_name_their_span_as_the_traceparent_parent(spans, instance, odoo):
    client = fast_client(instance)
    with client.traced("ab" * 16), tracing.span("caller", "ab" * 16) as outer:
        header = client._headers()["traceparent"]
    untraced = client._headers()["traceparent"]  # outside any span: a span id of its own, as before
    client.close()
    assert header == f"00-{'ab' * 16}-{outer.context.span_id:016x}-01"
    assert untraced.split("-")[1] == client.trace_id and untraced.split("-")[2] != f"{outer.context.span_id:016x}"


def test_a_failing_run_span_has_status_error(spans, db_url, instance, adapters, odoo):
    client = fast_client(instance)
    client.retry.attempts = 2
    odoo.faults = "seed=1; res.partner/search_read: error500=1"
    with pytest.raises(Exception):
        pull_entity(db_url, instance, adapters, adapters["partner"], client)
    odoo.faults = None
    client.close()
    with connect(db_url) as conn:
        run = conn.execute("select * from ops.runs").fetchone()
    finished = spans.get_finished_spans()
    [root] = [s for s in finished if s.name == "pull partner"]
    assert run["status"] == "failed" and hexid(root) == run["trace_id"]
    assert root.status.status_code == StatusCode.ERROR and "500" in root.status.description
    [read] = [c for c in odoo_spans(finished) if c.attributes.get("odoo.method") == "search_read"]
    assert read.status.status_code == StatusCode.ERROR
    assert [e.name for e in read.events].count("retry") == 1


@pytest.mark.parametrize("env, on", [
    ({}, False),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}, True),
    ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:9/v1/traces"}, True),
    ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
    ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}, False),
    ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}, False),
    ({"OTEL_TRACES_EXPORTER": "zipkin"}, False),
])
def test_configure_from_env_follows_the_otel_variables_and_is_off_by_default(env, on):
    try:
        assert tracing.configure_from_env(env) is on
        assert tracing.enabled() is on
        if not on:  # nothing recorded, no span object made
            assert tracing.start("run", "ab" * 16) is None
            assert tracing.span_id_for("ab" * 16) is None
    finally:
        tracing.configure(None)


def test_a_webhook_delivery_and_the_processing_of_its_event_share_one_trace(spans, db_url, instance, adapters,
                                                                             odoo, monkeypatch):
    settings = Settings(environ={"SPECGEN_WEBHOOK_HMAC_SECRET": "proxy-secret"})
    trace, caller_span = "c0ffee" * 5 + "00", "1234567890abcdef"
    event = {"_action": "Send Webhook Notification(#2)", "_id": 7, "_model": "res.partner", "id": 7,
             "name": "Azure", "write_date": "2024-05-01 10:00:00"}
    with ThreadedServer(create_app(db_url, max_body=4096, settings=settings)) as receiver:
        url = f"{receiver.url}/webhooks/odoo/{instance['id']}/{WEBHOOK_TOKEN}"
        plain = httpx.post(url, json={**event, "_id": 8, "id": 8}, headers={"X-Trace-Id": "not-hex"})
        fresh = httpx.post(url, json={**event, "_id": 9, "id": 9})
        r = httpx.post(url, json=event, headers={"traceparent": f"00-{trace}-{caller_span}-01"})
    assert r.status_code == 202 and r.json()["trace_id"] == trace
    odd, new, delivery = [s for s in spans.get_finished_spans() if s.name == "webhook delivery"]
    assert hexid(delivery) == trace and f"{delivery.parent.span_id:016x}" == caller_span
    assert delivery.attributes["http.response.status_code"] == 202
    assert hexid(new) == fresh.json()["trace_id"] and new.parent is None  # no header: a trace of its own
    assert odd.attributes["specgen.trace_id"] == plain.json()["trace_id"] == "not-hex"  # no OTel form: kept aside
    with connect(db_url) as conn:  # only the traceparent event is processed below
        conn.execute("delete from odoo.webhook_events where odoo_id <> 7")
    spans.clear()
    client = fast_client(instance)
    assert Processor(db_url, adapters, lambda inst: client).run_once()["processed"] == 1
    client.close()
    with connect(db_url) as conn:
        stored = conn.execute("select trace_id from odoo.webhook_events").fetchone()["trace_id"]
        runs = {r["trace_id"]: r for r in conn.execute("select * from ops.runs where kind = 'process'").fetchall()}
        applied = conn.execute("select trace_id from ops.run_events where event = 'webhook event applied'").fetchone()
    assert stored == applied["trace_id"] == trace
    finished = spans.get_finished_spans()
    [work] = [s for s in finished if s.name == "apply webhook events"]
    run_spans = [s for s in finished if s.name.startswith("process ")]  # one run per entity of the model
    assert hexid(work) == trace and {hexid(s) for s in run_spans} == set(runs) and trace not in runs
    assert {s.attributes["specgen.entity"] for s in run_spans} == {r["entity"] for r in runs.values()}
    assert {link.context.span_id for link in work.links} == {s.context.span_id for s in run_spans}
    calls = odoo_spans(finished)
    assert calls and all(hexid(c) == trace and under(c, work, finished) for c in calls)


def test_a_push_continues_the_outbox_row_trace(spans, db_url, instance, adapters, odoo):
    trace = "feed" * 8
    with connect(db_url) as conn:
        conn.execute("select set_config('specgen.trace_id', %s, true)", (trace,))
        conn.execute("insert into app.contacts (org_id, full_name) values (%s, 'Traced Ann')", (instance["org_id"],))
    client = fast_client(instance)
    Pusher(db_url, adapters, lambda inst: client, retry_base=0.0).run_once()
    client.close()
    with connect(db_url) as conn:
        run = conn.execute("select * from ops.runs where kind = 'push'").fetchone()
    finished = spans.get_finished_spans()
    [row] = [s for s in finished if s.name == "push outbox row"]
    [run_span] = [s for s in finished if s.name == "push contact"]
    assert run["entity"] == "contact" and row.attributes["specgen.operation"] in ("create", "upsert", "write")
    assert hexid(row) == trace and hexid(run_span) == run["trace_id"] != trace
    assert row.status.status_code != StatusCode.ERROR and row.links[0].context.span_id == run_span.context.span_id
    creates = [c for c in odoo_spans(finished) if c.attributes.get("odoo.method") == "create"]
    assert creates and creates[0].parent.span_id == row.context.span_id and hexid(creates[0]) == trace


def test_spans_reach_an_otlp_http_collector_configured_by_env(db_url, instance, adapters, odoo, monkeypatch):
    """The real exporter, over real HTTP: a pull's spans arrive at /v1/traces under the run's trace id."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    received: list[tuple[str, dict, ExportTraceServiceRequest]] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, dict(self.headers), ExportTraceServiceRequest.FromString(body)))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=sekrit")
    try:
        assert tracing.configure_from_env(os.environ)  # the exporter reads the process environment itself
        client = fast_client(instance)
        pull_entity(db_url, instance, adapters, adapters["partner"], client)
        client.close()
        tracing.configure(None)  # shutdown flushes the batch
    finally:
        tracing.configure(None)
        server.shutdown()
    with connect(db_url) as conn:
        run = conn.execute("select * from ops.runs").fetchone()
    assert received and all(path == "/v1/traces" and h.get("x-api-key") == "sekrit" for path, h, _ in received)
    exported = [(s.name, s.trace_id.hex()) for _, _, req in received for rs in req.resource_spans
                for ss in rs.scope_spans for s in ss.spans]
    service = {a.value.string_value for _, _, req in received for rs in req.resource_spans
               for a in rs.resource.attributes if a.key == "service.name"}
    assert ("pull partner", run["trace_id"]) in exported and service == {"specgen-sync"}
    assert any(name == "odoo res.partner.search_read" and t == run["trace_id"] for name, t in exported)
