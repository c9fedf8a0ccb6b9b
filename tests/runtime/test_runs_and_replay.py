"""Run tracking, JSON logs and the replay of dead letters."""
from __future__ import annotations

import io
import json

import pytest

from bridge.observe import jsonlog

from bridge.store import deadletters
from bridge.store.db import connect
from bridge.sync.processor import Processor
from bridge.sync.pull import pull_entity
from bridge.sync.push import Pusher
from tests.runtime.support import fast_client, table_rows

pytestmark = pytest.mark.db


def test_every_run_is_recorded_with_counts_duration_trace_and_events(db_url, instance, adapters, odoo):
    """ops.runs and ops.run_events show each pull with counts, duration and one trace id, like the logs."""
    stream = io.StringIO()
    jsonlog.setup("info", stream)
    try:
        client = fast_client(instance)
        with client.traced("f" * 32):  # a caller's trace: the run continues it
            pull_entity(db_url, instance, adapters, adapters["partner"], client)
        pull_entity(db_url, instance, adapters, adapters["partner"], client)  # a trace of its own
    finally:
        jsonlog.setup("warning")
    with connect(db_url) as conn:
        run, second = conn.execute("select * from ops.runs order by started_at").fetchall()
        events = conn.execute("select * from ops.run_events where run_id = %s", (run["id"],)).fetchall()
    assert run["status"] == "succeeded" and run["kind"] == "pull" and run["trace_id"] == "f" * 32
    assert second["trace_id"] not in ("f" * 32, client.trace_id) and len(second["trace_id"]) == 32
    assert run["counts"]["read"] > 0 and run["counts"]["duration_s"] >= 0 and run["finished_at"]
    assert events and all(e["trace_id"] == "f" * 32 for e in events)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert any(line["msg"] == "pull succeeded" and line["trace_id"] == "f" * 32 for line in lines)
    client.close()


def test_a_failing_run_is_marked_failed_with_its_error(db_url, instance, adapters, odoo):
    """When Odoo keeps failing, the run is recorded as failed with the reason, not left running."""
    client = fast_client(instance)
    client.retry.attempts = 2
    odoo.faults = "seed=1; res.partner/search_read: error500=1"
    with pytest.raises(Exception):
        pull_entity(db_url, instance, adapters, adapters["partner"], client)
    odoo.faults = None
    with connect(db_url) as conn:
        run = conn.execute("select * from ops.runs").fetchone()
    assert run["status"] == "failed" and "500" in run["error"]
    client.close()


def test_dead_lettered_push_is_replayed_by_id(db_url, instance, adapters, odoo):
    """A push that died while Odoo was down succeeds once replayed, exactly once."""
    client = fast_client(instance)
    client.retry.attempts = 1
    pusher = Pusher(db_url, adapters, lambda inst: client, max_attempts=1, retry_base=0)
    with connect(db_url) as conn:
        cid = conn.execute("insert into app.contacts (org_id, full_name) values (%s, 'Replay Me') returning id",
                           (instance["org_id"],)).fetchone()["id"]
    odoo.faults = "seed=1; res.partner: error500=1"
    pusher.run_once()
    odoo.faults = None
    with connect(db_url) as conn:
        dl = conn.execute("select * from odoo.dead_letters").fetchone()
        counts = deadletters.replay(conn, ids=[dl["id"]], trace_id="r" * 32)
        again = deadletters.replay(conn, ids=[dl["id"]], trace_id="r" * 32)
    assert counts["outbox"] == 1 and again["outbox"] == 0
    pusher.run_once()
    assert len(client.search("res.partner", [["name", "=", "Replay Me"]])) == 1
    with connect(db_url) as conn:
        assert conn.execute("select odoo_id from app.contacts where id=%s", (cid,)).fetchone()["odoo_id"]
        assert conn.execute("select replayed_at from odoo.dead_letters").fetchone()["replayed_at"]
    client.close()


def test_dead_lettered_events_are_replayed_by_time_window(db_url, instance, adapters, odoo):
    """Events dead-lettered during an outage come back through replay --since and fill the mirror."""
    client = fast_client(instance)
    client.retry.attempts = 1
    pid = client.search("res.partner", [], limit=1)[0]
    with connect(db_url) as conn:
        conn.execute("insert into odoo.webhook_events (instance_id, idempotency_key, odoo_model, odoo_id, payload, trace_id) "
                     "values (%s, 'k1', 'res.partner', %s, %s, 't')", (instance["id"], pid,
                                                                     json.dumps({"_model": "res.partner", "_id": pid})))
    odoo.faults = "seed=1; res.partner: error500=1"
    Processor(db_url, adapters, lambda inst: client, max_attempts=1).run_once()
    odoo.faults = None
    with connect(db_url) as conn:
        assert conn.execute("select count(*) as n from odoo.dead_letters where source='webhook'").fetchone()["n"] == 1
        since = conn.execute("select min(created_at) as t from odoo.dead_letters").fetchone()["t"]
        counts = deadletters.replay(conn, since=since, trace_id="r" * 32)
    assert counts["events"] == 1
    Processor(db_url, adapters, lambda inst: client).run_once()
    assert pid in table_rows(db_url, "odoo.partners", instance["id"])
    client.close()
