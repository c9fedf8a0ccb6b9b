"""Prometheus metrics of the runtime: what a pull, a webhook delivery and the worker's cycle report,
read back from the exposition exactly as Prometheus scrapes it."""
from __future__ import annotations

import shutil
import subprocess

import httpx
import pytest
from tests.needs import INSTALLS, unavailable
from prometheus_client.parser import text_string_to_metric_families

from bridge.observe import metrics
from bridge.store.db import connect
from bridge.sync.processor import Processor
from bridge.sync.pull import pull_entity
from bridge.http.receiver import create_app
from bridge.http.serve import ThreadedServer
from bridge.sync.worker import Worker
from tests.runtime.support import WEBHOOK_TOKEN, fast_client, runtime_settings

pytestmark = pytest.mark.db


def samples(text: str | bytes) -> dict[tuple, float]:
    """{(sample name, sorted labels): value} from an exposition."""
    text = text.decode() if isinstance(text, bytes) else text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(text, name: str, **labels) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


def test_a_pull_reports_records_success_call_latency_and_cursor_lag(db_url, odoo, instance, adapters):
    """After a pull, /metrics shows the records read, the time of the last success, Odoo call latencies,
    and (after a worker cycle) the cursor lag and queue depths."""
    before = metrics.exposition()
    inst = str(instance["id"])
    client = fast_client(instance)
    try:
        counts = pull_entity(db_url, instance, adapters, adapters["partner"], client)
    finally:
        client.close()
    after = metrics.exposition()
    read = value(after, "specgen_sync_records_total", instance=inst, entity="partner", direction="pull") - \
        value(before, "specgen_sync_records_total", instance=inst, entity="partner", direction="pull")
    assert read == counts["read"] > 0
    assert value(after, "specgen_sync_last_success_timestamp_seconds", instance=inst, entity="partner") > 0
    calls = value(after, "specgen_odoo_call_duration_seconds_count", model="res.partner", method="search_read") - \
        value(before, "specgen_odoo_call_duration_seconds_count", model="res.partner", method="search_read")
    assert calls >= 1
    with connect(db_url) as conn:  # one app change waiting to be pushed
        conn.execute("insert into app.contacts (org_id, full_name) values (%s, 'Ada')", (instance["org_id"],))
    Worker(db_url, adapters, settings=runtime_settings())._update_metrics()
    cycle = metrics.exposition()
    # the pull read everything Odoo has: no lag behind Odoo's head, and Odoo's last change is known
    lag = ("specgen_sync_cursor_lag_seconds", tuple(sorted({"instance": inst, "entity": "partner"}.items())))
    assert samples(cycle)[lag] == 0
    assert value(cycle, "specgen_sync_last_change_timestamp_seconds", instance=inst, entity="partner") > 1.7e9
    assert value(cycle, "specgen_queue_depth", queue="outbox", instance=inst) == 1


def test_receiver_counts_accepted_and_rejected_deliveries_and_serves_metrics(db_url, odoo, instance, adapters):
    """The receiver's /metrics counts every delivery as received, and as accepted or rejected."""
    inst = str(instance["id"])
    with ThreadedServer(create_app(db_url)) as server:
        before = httpx.get(f"{server.url}/metrics").text
        good = httpx.post(f"{server.url}/webhooks/odoo/{inst}/{WEBHOOK_TOKEN}",
                          json={"_model": "res.partner", "_id": 3, "id": 3})
        bad = httpx.post(f"{server.url}/webhooks/odoo/{inst}/wrong-token", json={"_model": "res.partner", "_id": 3})
        assert (good.status_code, bad.status_code) == (202, 401)
        response = httpx.get(f"{server.url}/metrics")
    after = response.text
    assert response.headers["content-type"].startswith("text/plain")

    def delta(outcome):
        return value(after, "specgen_webhook_events_total", instance=inst, outcome=outcome) - \
            value(before, "specgen_webhook_events_total", instance=inst, outcome=outcome)
    assert (delta("received"), delta("accepted"), delta("rejected")) == (2, 1, 1)
    client = fast_client(instance)
    try:
        Processor(db_url, adapters, lambda _: client).run_once()
    finally:
        client.close()
    assert value(metrics.exposition(), "specgen_event_to_row_seconds_count", entity="partner") >= 1


def test_exposition_passes_promtool(db_url, odoo, instance, adapters, tmp_path):
    """promtool accepts the exposition format and metric names (where promtool is installed)."""
    promtool = shutil.which("promtool")
    if not promtool:
        unavailable(INSTALLS["promtool"])
    client = fast_client(instance)
    try:
        pull_entity(db_url, instance, adapters, adapters["partner"], client)
    finally:
        client.close()
    result = subprocess.run([promtool, "check", "metrics"], input=metrics.exposition(), capture_output=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


def test_sync_trace_tells_a_webhook_story_end_to_end(db_url, odoo, instance, adapters):
    """A webhook sent with a W3C traceparent is stored under its trace id, processed into the row, and
    `specgen sync trace` prints the whole story: received, the processing step, the record applied."""
    import json as _json
    import os
    import sys as _sys
    inst = str(instance["id"])
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    with ThreadedServer(create_app(db_url)) as server:
        sent = httpx.post(f"{server.url}/webhooks/odoo/{inst}/{WEBHOOK_TOKEN}", json={"_model": "res.partner", "_id": 5},
                          headers={"traceparent": f"00-{trace}-00f067aa0ba902b7-01"})
    assert sent.status_code == 202 and sent.json()["trace_id"] == trace
    client = fast_client(instance, debug=True)  # debug: each Odoo call becomes a step of the trace it carried
    try:
        Processor(db_url, adapters, lambda _: client).run_once()
    finally:
        client.close()
    with connect(db_url) as conn:
        calls = conn.execute("select trace_id, data from ops.run_events where event = 'odoo call'").fetchall()
    assert calls and {c["trace_id"] for c in calls} == {trace}  # the event's trace, not the client's or the run's
    assert {c["data"]["method"] for c in calls} >= {"search_read"}
    result = subprocess.run([_sys.executable, "-m", "specgen", "sync", "trace", trace, "--database-url", db_url,
                             "--json"], capture_output=True, text=True, timeout=60, env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    story = _json.loads(result.stdout)
    assert story[0]["what"] == "webhook received" and {s["what"] for s in story} == {"webhook received", "step"}
    assert "odoo call" in {s["event"] for s in story if s["what"] == "step"}
    assert story[0]["status"] == "done" and story[0]["odoo_id"] == 5
    applied = next(s for s in story if s["what"] == "step" and s["event"] == "webhook event applied")
    assert set(applied["data"]["entities"]) == {"partner", "contact"}  # both adapters of res.partner
    with connect(db_url) as conn:
        assert conn.execute("select count(*) as n from odoo.partners where odoo_id = 5").fetchone()["n"] == 1
    missing = subprocess.run([_sys.executable, "-m", "specgen", "sync", "trace", "0" * 32, "--database-url", db_url],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and "0 entries" in missing.stdout


@pytest.mark.parametrize("race", ["UniqueViolation", "ForeignKeyViolation"])
def test_losing_an_insert_race_is_retried_not_dead_lettered(db_url, odoo, instance, adapters, monkeypatch, race):
    """Two workers inserting the same record: the loser's unique violation sends the event back to the
    queue for another attempt, never to dead letters (it once did, under three concurrent workers).
    So does a foreign key broken because another writer stored a parent of the batch under its own id."""
    import psycopg

    from bridge.sync import processor as processor_module
    inst = str(instance["id"])
    with ThreadedServer(create_app(db_url)) as server:
        assert httpx.post(f"{server.url}/webhooks/odoo/{inst}/{WEBHOOK_TOKEN}",
                          json={"_model": "res.partner", "_id": 6}).status_code == 202
    real_upsert, calls = processor_module.upsert, []

    def racing_upsert(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise getattr(psycopg.errors, race)(f"simulated {race}")
        return real_upsert(*args, **kwargs)
    monkeypatch.setattr(processor_module, "upsert", racing_upsert)
    client = fast_client(instance)
    try:
        Processor(db_url, adapters, lambda _: client, retry_base=0).run_once()
        with connect(db_url) as conn:
            state = conn.execute("select status, attempts from odoo.webhook_events").fetchone()
            dead = conn.execute("select count(*) as n from odoo.dead_letters").fetchone()["n"]
        assert (state["status"], dead) == ("pending", 0)
        Processor(db_url, adapters, lambda _: client, retry_base=0).run_once()
    finally:
        client.close()
    with connect(db_url) as conn:
        assert conn.execute("select status from odoo.webhook_events").fetchone()["status"] == "done"
        assert conn.execute("select count(*) as n from odoo.partners where odoo_id = 6").fetchone()["n"] == 1
