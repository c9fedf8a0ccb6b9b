"""Lag means lag: ops.sync_health's cursor lag is how far the mirror is behind Odoo's newest write_date
(read by each pull), not how long Odoo has been quiet; when Odoo last changed is a column of its own."""
from __future__ import annotations

import pytest

from bridge.store.db import connect
from bridge.sync.pull import pull_entity
from tests.runtime.support import fast_client, odoo_records

pytestmark = pytest.mark.db


def health(db_url, instance_id) -> dict:
    with connect(db_url) as conn:
        return conn.execute("select cursor_lag_seconds, last_change_at from ops.sync_health "
                            "where instance_id = %s and entity = 'partner'", (instance_id,)).fetchone()


def test_cursor_lag_is_the_distance_to_odoos_newest_change(db_url, odoo, instance, adapters):
    client = fast_client(instance)
    newest = max(r["write_date"] for r in odoo_records(odoo, "res.partner", ["write_date"]).values())
    # demo partners carry ten records per second over several seconds: stopping after one page of ten
    # leaves the cursor seconds behind Odoo's head
    pull_entity(db_url, instance, adapters, adapters["partner"], client, batch_size=10, should_stop=lambda: True)
    behind = health(db_url, instance["id"])
    assert behind["cursor_lag_seconds"] >= 2
    assert behind["last_change_at"].strftime("%Y-%m-%d %H:%M:%S") == newest
    pull_entity(db_url, instance, adapters, adapters["partner"], client, batch_size=1000)
    caught_up = health(db_url, instance["id"])
    client.close()
    assert caught_up["cursor_lag_seconds"] == 0  # years after the demo data's write_dates: still no lag
    assert caught_up["last_change_at"] == behind["last_change_at"]
