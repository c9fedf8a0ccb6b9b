"""Guarantees with Odoo's webhooks: notifications lost, duplicated (through both receivers), telling the
only news of a deletion, or refused by the database; each change lands once all the same. Each scenario
runs against both runtimes (the `runtime` fixture, tests/runtime/conftest.py), with the mock Odoo and a
real PostgreSQL."""
from __future__ import annotations

import json
import time
from collections import Counter

import pytest

from bridge.http.receiver import create_app
from bridge.http.serve import ThreadedServer
from bridge.odoo.errors import ValidationError
from bridge.store.db import connect
from mock_odoo.server import MockOdooServer
from tests.runtime.helpers import mirror_problems
from tests.runtime.support import WEBHOOK_TOKEN, add_instance, fast_client, table_rows

pytestmark = pytest.mark.db


def test_dropped_webhooks_are_caught_up_by_the_pull(db_url, adapters, runtime):
    """When Odoo loses half its webhook notifications, the next pull still brings every change."""
    with MockOdooServer(demo=80, webhook_drop=0.5) as odoo, ThreadedServer(create_app(db_url)) as receiver:
        instance = add_instance(db_url, odoo.url)
        client = fast_client(instance)
        for a in ("partner", "contact"):
            runtime.pull(db_url, instance, adapters, a, client)
        odoo.webhooks.configure(urls=[f"{receiver.url}/webhooks/odoo/{instance['id']}/{WEBHOOK_TOKEN}"],
                                models=["res.partner"])
        ids = sorted(client.search("res.partner", [], context={"active_test": False}))[:40]
        for i, pid in enumerate(ids):
            client.write("res.partner", [pid], {"city": f"Dropped {i}"})
        assert odoo.webhooks.wait_idle(10)
        stats = odoo.webhooks.to_dict()["stats"]
        assert stats["dropped"] > 0
        runtime.process(db_url, adapters, client)
        rows = table_rows(db_url, "odoo.partners", instance["id"])
        via_webhook = sum(1 for i, pid in enumerate(ids) if rows[pid]["city"] == f"Dropped {i}")
        assert 0 < via_webhook < len(ids)
        for a in ("partner", "contact"):
            runtime.pull(db_url, instance, adapters, a, client)
        assert mirror_problems(db_url, odoo.url, instance["id"], adapters) == []
        client.close()


@pytest.mark.deno
@pytest.mark.parametrize("fields", [["write_date", "city"], []], ids=["with write_date", "Odoo's default"])
def test_duplicate_webhooks_through_both_receivers_are_applied_once(db_url, adapters, runtime, fields):
    """Odoo's webhook posted three times per change, to the Python receiver twice and to the receiver
    function once. With a write_date in the body each change is stored once, whichever receiver came
    first; with Odoo 17's default body (no fields: every delivery looks alike, bridge/sync/events.py) each
    delivery is stored and processed, which costs a re-read. Either way the runtime's processing applies
    each change, once, and the mirror equals Odoo."""
    from tests.functions.support import db_env, serve
    function = serve("webhook-receiver", db_env(db_url))
    try:
        with MockOdooServer(demo=60) as odoo, ThreadedServer(create_app(db_url)) as receiver:
            instance = add_instance(db_url, odoo.url)
            client = fast_client(instance)
            for a in ("partner", "contact"):
                runtime.pull(db_url, instance, adapters, a, client)
            path = f"/webhooks/odoo/{instance['id']}/{WEBHOOK_TOKEN}"
            odoo.webhooks.configure(urls=[receiver.url + path, function.url + path, receiver.url + path],
                                    models=["res.partner"], fields=fields)
            ids = sorted(client.search("res.partner", [], context={"active_test": False}))[:30]
            for i, pid in enumerate(ids):
                client.write("res.partner", [pid], {"city": f"Twice {i}"})
            assert odoo.webhooks.wait_idle(20)
            assert odoo.webhooks.to_dict()["stats"].get("dropped", 0) == 0
            with connect(db_url) as conn:
                stored = conn.execute("select odoo_id, count(*) as n from odoo.webhook_events "
                                      "where instance_id = %s group by odoo_id", (instance["id"],)).fetchall()
            assert {r["odoo_id"]: r["n"] for r in stored} == {pid: 1 if fields else 3 for pid in ids}
            runtime.process(db_url, adapters, client)
            with connect(db_url) as conn:
                states = conn.execute("select status, count(*) as n from odoo.webhook_events group by status").fetchall()
            assert {r["status"]: r["n"] for r in states} == {"done": len(ids) * (1 if fields else 3)}
            rows = table_rows(db_url, "odoo.partners", instance["id"])
            assert [rows[pid]["city"] for pid in ids] == [f"Twice {i}" for i in range(len(ids))]
            assert mirror_problems(db_url, odoo.url, instance["id"], adapters) == []
            client.close()
    finally:
        function.stop()


def test_deletions_in_odoo_reach_the_mirror_through_their_webhooks(db_url, adapters, runtime):
    """A record deleted in Odoo is tombstoned from its webhook notification: the pull cannot see a
    deletion, and reconcile runs only on its own (hours apart) schedule, so here none runs at all."""
    with MockOdooServer(demo=80) as odoo, ThreadedServer(create_app(db_url)) as receiver:
        instance = add_instance(db_url, odoo.url)
        client = fast_client(instance)
        for a in ("partner", "contact"):
            runtime.pull(db_url, instance, adapters, a, client)
        odoo.webhooks.configure(urls=[f"{receiver.url}/webhooks/odoo/{instance['id']}/{WEBHOOK_TOKEN}"],
                                models=["res.partner"])
        deleted = []
        for pid in sorted(client.search("res.partner", [["is_company", "=", False]])):
            try:
                client.unlink("res.partner", [pid])
            except ValidationError:  # a sale order points to it: Odoo refuses
                continue
            deleted.append(pid)
            if len(deleted) == 8:
                break
        assert len(deleted) >= 3, "nothing could be deleted; the test proved nothing"
        client.write("res.partner", client.search("res.partner", [], limit=3), {"city": "Edited Too"})
        assert odoo.webhooks.wait_idle(10)
        runtime.process(db_url, adapters, client)
        for a in ("partner", "contact"):
            runtime.pull(db_url, instance, adapters, a, client)
        assert mirror_problems(db_url, odoo.url, instance["id"], adapters) == []
        client.close()


def _notification(payload) -> str:
    return json.dumps({k: payload[k] for k in ("_action", "_model", "_id")}, sort_keys=True)


def test_every_webhook_answered_2xx_is_stored(db_url, adapters):
    """Acknowledge only after commit: while the database refuses the receiver's inserts (a trigger that
    raises, as a full disk or a broken constraint would), a notification may be refused, but every one
    Odoo saw answered 2xx is in odoo.webhook_events."""
    with MockOdooServer(demo=40) as odoo, ThreadedServer(create_app(db_url)) as receiver:
        instance = add_instance(db_url, odoo.url)
        client = fast_client(instance)
        odoo.webhooks.configure(urls=[f"{receiver.url}/webhooks/odoo/{instance['id']}/{WEBHOOK_TOKEN}"],
                                models=["res.partner"])
        ids = sorted(client.search("res.partner", [], context={"active_test": False}))[:30]
        for pid in ids[:10]:
            client.write("res.partner", [pid], {"city": "Before"})
        with connect(db_url) as conn:
            conn.execute("create function refuse_webhook_events() returns trigger language plpgsql as "
                         "$$ begin raise exception 'no space left on device (test)'; end $$")
            conn.execute("create trigger refuse before insert on odoo.webhook_events "
                         "for each row execute function refuse_webhook_events()")
        for pid in ids[10:20]:
            client.write("res.partner", [pid], {"city": "Refused"})
        time.sleep(0.5)  # anything the receiver still had in flight meets the refusal too
        with connect(db_url) as conn:
            conn.execute("drop trigger refuse on odoo.webhook_events")
            conn.execute("drop function refuse_webhook_events()")
        for pid in ids[20:]:
            client.write("res.partner", [pid], {"city": "After"})
        assert odoo.webhooks.wait_idle(10)
        time.sleep(0.5)  # and anything still in flight commits
        log = list(odoo.webhooks.log)
        answered = Counter(_notification(e["payload"]) for e in log
                           if isinstance(e["status"], int) and 200 <= e["status"] < 300)
        refused = [e for e in log if not (isinstance(e["status"], int) and 200 <= e["status"] < 300)]
        with connect(db_url) as conn:
            stored = Counter(_notification(r["payload"]) for r in conn.execute(
                "select payload from odoo.webhook_events where instance_id = %s", (instance["id"],)).fetchall())
        assert answered - stored == Counter(), "answered 2xx but not stored"
        assert len(answered) >= 20
        assert refused, "the database never refused an insert; the test proved nothing"
        client.close()
