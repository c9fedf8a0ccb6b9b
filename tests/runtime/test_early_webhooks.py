"""A webhook that arrives before Odoo commits (issue 14, point 5).

Odoo 17 posts "Send Webhook Notification" inside the ORM call, before the transaction commits, and for
an unlink before the delete (odoo/addons/base/models/ir_actions.py `_run_action_webhook`, called from
base_automation's patched create/write/unlink). A processor that reads the record at once can see it as
it was: no record yet for a create, the old values for a write, the record still there for an unlink.
The mock's slow_commit fault keeps the call's transaction open while the notification is processed;
the processor then reads the event's record once more when the instance's request limit has passed
since the event arrived, by which time the call has committed (or Odoo has killed it).
"""
from __future__ import annotations

import threading
import time

import pytest

from bridge.store.db import connect
from bridge.sync.processor import Processor
from bridge.sync.pull import pull_entity
from bridge.http.receiver import create_app
from bridge.http.serve import ThreadedServer
from tests.runtime.support import WEBHOOK_TOKEN, fast_client, table_rows

pytestmark = pytest.mark.db
LIMIT = 2  # the instance's request limit in these tests, seconds


@pytest.fixture
def receiver(db_url):
    with ThreadedServer(create_app(db_url)) as server:
        yield server


def _events(db_url) -> list[dict]:
    with connect(db_url) as conn:
        return conn.execute("select id, status, recheck_at, received_at from odoo.webhook_events order by id").fetchall()


def _wait(what: str, check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _held_call(odoo, method: str, fn):
    """Run fn (an Odoo call) with its transaction held open 1.5 s after its work; returns the thread."""
    odoo.faults = f"res.partner/{method}: slow_commit=1, after=1.5"
    thread = threading.Thread(target=fn)
    thread.start()
    return thread


@pytest.mark.parametrize("change", ["create", "write", "unlink"])
def test_an_event_read_before_the_commit_is_read_again_and_the_change_lands(
        change, receiver, instance, db_url, adapters, odoo):
    with connect(db_url) as conn:
        conn.execute("update odoo.instances set request_limit_seconds = %s where id = %s", (LIMIT, instance["id"]))
        instance = dict(conn.execute("select * from odoo.instances where id = %s", (instance["id"],)).fetchone())
    client = fast_client(instance)
    victim = client.create("res.partner", {"name": "Early Bird", "city": "Old Town"})
    pull_entity(db_url, instance, adapters, adapters["partner"], client)
    odoo.webhooks.configure(urls=[f"{receiver.url}/webhooks/odoo/{instance['id']}/{WEBHOOK_TOKEN}"],
                            models=["res.partner"])  # no fields chosen: Odoo 17's default
    caller = fast_client(instance, timeout=10.0)
    created: list[int] = []
    calls = {"create": lambda: created.append(caller.create("res.partner", {"name": "Hatched Late"})),
             "write": lambda: caller.write("res.partner", [victim], {"city": "New Town"}),
             "unlink": lambda: caller.unlink("res.partner", [victim])}
    thread = _held_call(odoo, change, calls[change])
    proc = Processor(db_url, adapters, lambda inst: client, retry_base=0.0)
    try:
        _wait("the notification", lambda: _events(db_url))
        first = proc.run_once()  # the call has not committed: the read sees the record as it was
        assert thread.is_alive(), "the call committed before the processor read: the test proves nothing"
    finally:
        thread.join(15)
        odoo.faults = None
    assert first["processed"] == 1
    rows = table_rows(db_url, "odoo.partners", instance["id"])
    before = {"create": lambda: [r for r in rows.values() if r["name"] == "Hatched Late"] == [],
              "write": lambda: rows[victim]["city"] == "Old Town",
              "unlink": lambda: rows[victim]["odoo_deleted_at"] is None}
    assert before[change](), "the first read already saw the change"
    (event,) = _events(db_url)
    assert event["status"] == "done" and event["recheck_at"] is not None
    assert proc.run_once()["claimed"] == 0  # not before the request limit has passed
    assert (event["recheck_at"] - event["received_at"]).total_seconds() == LIMIT
    again = _wait("the second read", lambda: (lambda c: c if c.get("claimed") else None)(proc.run_once()),
                  timeout=LIMIT + 5)
    assert again["rechecked"] == 1 and again.get("processed", 0) == 0
    rows = table_rows(db_url, "odoo.partners", instance["id"])
    if change == "create":
        assert created and rows[created[0]]["name"] == "Hatched Late"
    elif change == "write":
        assert rows[victim]["city"] == "New Town"
    else:
        assert rows[victim]["odoo_deleted_at"] is not None
    (event,) = _events(db_url)
    assert event["status"] == "done" and event["recheck_at"] is None  # read for the last time
    assert proc.run_once()["claimed"] == 0
    client.close()
    caller.close()
