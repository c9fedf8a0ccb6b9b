"""Push failures are visible: with every res.partner.create failing, push runs are failed runs of their
entity, the entity's error rate counts them, and ops.sync_health shows the oldest waiting change."""
from __future__ import annotations

import pytest

from bridge.store.db import connect
from tests.runtime.test_push import add_contact, make_pusher

pytestmark = pytest.mark.db


def test_failing_creates_show_as_failed_push_runs_and_a_waiting_outbox(db_url, instance, adapters, odoo):
    pusher, client = make_pusher(db_url, adapters, instance, max_attempts=10)
    client.retry.attempts = 1
    add_contact(db_url, instance["org_id"], full_name="Never Lands")
    odoo.faults = "seed=3; res.partner/create: error500=1"
    try:
        for _ in range(4):  # four rounds, each one attempt that fails
            pusher.run_once(limit=50)
            with connect(db_url) as conn:
                conn.execute("update odoo.outbox set available_at = now() where status = 'pending'")
    finally:
        odoo.faults = None
    with connect(db_url) as conn:
        runs = conn.execute("select entity, status, error from ops.runs where kind = 'push' order by started_at").fetchall()
        health = conn.execute("select * from ops.sync_health where instance_id = %s and entity = 'contact'",
                              (instance["id"],)).fetchone()
    client.close()
    assert [(r["entity"], r["status"]) for r in runs] == [("contact", "failed")] * 4
    assert all("500" in r["error"] for r in runs)
    assert health["error_rate"] == 1.0 and health["error_rate_high"]
    assert health["outbox_waiting"] == 1 and health["outbox_oldest_attempts"] == 4
    assert "500" in health["outbox_oldest_error"] and health["outbox_oldest_age_seconds"] >= 0
    assert health["push_retrying"]  # 4 attempts >= the default threshold of 3
