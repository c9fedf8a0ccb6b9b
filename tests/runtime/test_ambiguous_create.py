"""A create whose answer is lost can commit long after (issue 14 point 3): the retry waits out the
instance's request limit, then finds the record by its ref; no second partner appears in Odoo.

The mock's `late_execute` fault answers 504 at once (a proxy giving up) and runs the call `after` seconds
later, with the write_date of when it came in, as one long Odoo transaction does (write_date is its
start, odoo/sql_db.py Cursor.now); a call re-run by odoo/service/model.py `retrying` commits late too."""
from __future__ import annotations

import time

import pytest

from bridge.store.db import connect
from tests.runtime.test_push import add_contact, make_pusher

pytestmark = pytest.mark.db


def _set_request_limit(db_url, instance, seconds: int) -> dict:
    with connect(db_url) as conn:
        return dict(conn.execute("update odoo.instances set request_limit_seconds = %s where id = %s returning *",
                                 (seconds, instance["id"])).fetchone())


def _outbox(db_url) -> dict:
    with connect(db_url) as conn:
        return conn.execute("select status, attempts, last_error, available_at - now() as wait from odoo.outbox "
                            "order by id desc limit 1").fetchone()


def test_a_create_that_commits_late_is_found_not_created_twice(db_url, instance, adapters, odoo):
    instance = _set_request_limit(db_url, instance, 4)
    pusher, client = make_pusher(db_url, adapters, instance)
    odoo.faults = "seed=3; res.partner/create: late_execute=1, after=2.5"  # every create: 504 now, commit later
    local_id = add_contact(db_url, instance["org_id"], full_name="Late Lara")

    assert pusher.run_once().get("retried") == 1
    row = _outbox(db_url)
    assert row["status"] == "pending" and "HTTP 504" in row["last_error"]
    assert row["wait"].total_seconds() > 3  # not before the request limit has passed
    assert not pusher.run_once().get("created")  # nothing is tried meanwhile

    time.sleep(2.8)  # the first create commits now, behind the push's back
    assert len(client.search("res.partner", [["name", "=", "Late Lara"]], context={"active_test": False})) == 1
    deadline = time.monotonic() + 10
    while _outbox(db_url)["status"] != "done" and time.monotonic() < deadline:
        pusher.run_once()
        time.sleep(0.3)
    odoo.faults = None
    found = client.search("res.partner", [["name", "=", "Late Lara"]], context={"active_test": False})
    assert len(found) == 1, f"{len(found)} partners for one contact"
    with connect(db_url) as conn:
        assert conn.execute("select odoo_id from app.contacts where id = %s", (local_id,)).fetchone()["odoo_id"] == found[0]
    client.close()


def test_the_pull_re_reads_the_instances_own_request_limit(db_url, instance, adapters, odoo):
    """The lookback is per instance: a pull starts request_limit_seconds before its cursor, so with a
    limit of 900 s a write committed 300 s after its write_date is pulled, not left to reconcile."""
    from bridge.store import db
    from bridge.sync.pull import instance_lookback, pull_entity
    from generator.load.platform_tables import ENTITIES
    from tests.runtime.support import fast_client, table_rows
    spec_default = next(f["default"] for e in ENTITIES if e["name"] == "platform:instances"
                        for f in e["fields"] if f["name"] == "request_limit_seconds")
    assert db.DEFAULT_REQUEST_LIMIT == spec_default  # the runtime's fallback is the column's default
    assert instance_lookback(instance).total_seconds() == 180  # the default: above Odoo's 120 s
    instance = _set_request_limit(db_url, instance, 900)
    assert instance_lookback(instance).total_seconds() == 900
    client = fast_client(instance)
    ids = sorted(r["id"] for r in client.search_read("res.partner", [], ["id"], context={"active_test": False}))
    client.write("res.partner", [ids[1]], {"city": "Moves the head"})  # the cursor reaches now
    pull_entity(db_url, instance, adapters, adapters["partner"], client)
    odoo.faults = "seed=5; res.partner/write: late_commit=1, lag=300"
    client.write("res.partner", [ids[0]], {"city": "Late but covered"})
    odoo.faults = None
    pull_entity(db_url, instance, adapters, adapters["partner"], client)
    assert table_rows(db_url, "odoo.partners", instance["id"])[ids[0]]["city"] == "Late but covered"
    client.close()


def test_a_change_committed_after_the_lookback_is_repaired_by_reconcile(db_url, instance, adapters, odoo):
    """An Odoo write that commits 300 s after its write_date (a long import, a threaded server) lands
    behind a cursor that passed it, beyond the 180 s lookback: the pull cannot see it; reconcile compares
    write_dates and re-reads it."""
    from bridge.sync.pull import pull_entity, reconcile_entity
    from tests.runtime.support import fast_client, table_rows
    client = fast_client(instance)
    partner = adapters["partner"]
    ids = sorted(r["id"] for r in client.search_read("res.partner", [], ["id"], context={"active_test": False}))
    client.write("res.partner", [ids[1]], {"city": "Moves the head"})  # the cursor reaches now
    pull_entity(db_url, instance, adapters, partner, client)
    target = ids[0]
    odoo.faults = "seed=5; res.partner/write: late_commit=1, lag=300"
    client.write("res.partner", [target], {"city": "Late Town"})  # dated 300 s ago: behind cursor - 180 s
    odoo.faults = None
    pull_entity(db_url, instance, adapters, partner, client)
    assert table_rows(db_url, "odoo.partners", instance["id"])[target]["city"] != "Late Town"  # missed
    counts = reconcile_entity(db_url, instance, adapters, partner, client)
    assert counts["stale"] >= 1
    assert table_rows(db_url, "odoo.partners", instance["id"])[target]["city"] == "Late Town"
    again = reconcile_entity(db_url, instance, adapters, partner, client)
    assert again["stale"] == 0  # converged: nothing is re-read without a change
    client.close()
