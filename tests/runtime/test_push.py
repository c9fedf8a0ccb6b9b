"""Push from app.contacts to Odoo through the outbox: create/write/unlink, idempotency, echo, dead letters."""
from __future__ import annotations


import pytest

from bridge.store.db import connect
from bridge.sync.push import Pusher
from bridge.sync.pull import pull_entity
from tests.runtime.support import fast_client

pytestmark = pytest.mark.db


def make_pusher(db_url, adapters, instance, **kw):
    client = fast_client(instance, timeout=kw.pop("timeout", 5.0))
    kw.setdefault("retry_base", 0.0)
    return Pusher(db_url, adapters, lambda inst: client, **kw), client


def add_contact(db_url, org_id, **values) -> str:
    with connect(db_url) as conn:
        row = conn.execute("insert into app.contacts (org_id, full_name, email) values (%s, %s, %s) returning id",
                           (org_id, values.get("full_name", "Ann Example"), values.get("email"))).fetchone()
    return str(row["id"])


def drain(pusher, rounds=20):
    total = {}
    for _ in range(rounds):
        counts = pusher.run_once(limit=50)
        for k, v in counts.items():
            total[k] = total.get(k, 0) + v
        with connect(pusher.url) as conn:
            open_ = conn.execute("select count(*) as n from odoo.outbox where status in ('pending','processing')").fetchone()["n"]
        if not open_:
            break
        with connect(pusher.url) as conn:
            conn.execute("update odoo.outbox set available_at = now() where status = 'pending'")
    return total


def test_app_contact_is_created_in_odoo_once_and_linked(db_url, instance, adapters, odoo):
    """A contact added in the app appears in Odoo exactly once and the app row learns its odoo_id."""
    pusher, client = make_pusher(db_url, adapters, instance)
    local_id = add_contact(db_url, instance["org_id"], full_name="Zed Pusher", email="zed@example.com")
    drain(pusher)
    found = client.search("res.partner", [["name", "=", "Zed Pusher"]], context={"active_test": False})
    assert len(found) == 1
    with connect(db_url) as conn:
        row = conn.execute("select * from app.contacts where id=%s", (local_id,)).fetchone()
        outbox = conn.execute("select status, count(*) as n from odoo.outbox group by status").fetchall()
        mapping = conn.execute("select * from odoo.entity_mappings where local_id=%s", (local_id,)).fetchone()
    assert row["odoo_id"] == found[0] and row["instance_id"] == instance["id"]
    assert mapping["odoo_id"] == found[0] and mapping["synced_values"]["full_name"] == "Zed Pusher"
    assert [(o["status"], o["n"]) for o in outbox] == [("done", 1)], "the link write must not echo into the outbox"
    rec = client.read("res.partner", found, ["email", "ref"])[0]
    assert rec["email"] == "zed@example.com" and rec["ref"] == f"specgen:{local_id}"
    client.close()


def test_edit_and_delete_in_the_app_reach_odoo_in_order(db_url, instance, adapters, odoo):
    """An app edit then a delete end with the Odoo partner updated then removed, never resurrected."""
    pusher, client = make_pusher(db_url, adapters, instance)
    local_id = add_contact(db_url, instance["org_id"], full_name="Edit Me")
    with connect(db_url) as conn:
        conn.execute("update app.contacts set phone = '+32 1' where id=%s", (local_id,))
    drain(pusher)
    oid = client.search("res.partner", [["ref", "=", f"specgen:{local_id}"]], context={"active_test": False})[0]
    assert client.read("res.partner", [oid], ["phone"])[0]["phone"] == "+32 1"
    with connect(db_url) as conn:
        conn.execute("update app.contacts set full_name = 'Edited' where id=%s", (local_id,))
        conn.execute("delete from app.contacts where id=%s", (local_id,))
    drain(pusher)
    assert client.read("res.partner", [oid], ["name"]) == []
    client.close()


def test_timeout_after_odoo_created_the_record_does_not_duplicate_it(db_url, instance, adapters, odoo):
    """If Odoo creates the record but the answer never arrives, the retry finds it instead of creating another."""
    pusher, client = make_pusher(db_url, adapters, instance, timeout=0.5)
    odoo.faults = "seed=1; res.partner/create: hang=1, hang_for=1.5"
    local_id = add_contact(db_url, instance["org_id"], full_name="Hung Create")
    counts = pusher.run_once()
    assert counts.get("retried") == 1
    odoo.faults = None
    drain(pusher)
    found = client.search("res.partner", [["name", "=", "Hung Create"]], context={"active_test": False})
    assert len(found) == 1
    with connect(db_url) as conn:
        assert conn.execute("select odoo_id from app.contacts where id=%s", (local_id,)).fetchone()["odoo_id"] == found[0]
    client.close()


def test_permanent_odoo_error_goes_to_dead_letters_with_reason_and_payload(db_url, instance, adapters, odoo):
    """A change Odoo refuses (record deleted there) is dead-lettered with reason, attempts and payload."""
    pusher, client = make_pusher(db_url, adapters, instance)
    local_id = add_contact(db_url, instance["org_id"], full_name="Doomed")
    drain(pusher)
    oid = client.search("res.partner", [["name", "=", "Doomed"]], context={"active_test": False})[0]
    client.unlink("res.partner", [oid])
    with connect(db_url) as conn:
        conn.execute("update app.contacts set email = 'late@example.com' where id=%s", (local_id,))
    drain(pusher)
    with connect(db_url) as conn:
        dl = conn.execute("select * from odoo.dead_letters").fetchall()
        status = conn.execute("select status from odoo.outbox order by id desc limit 1").fetchone()["status"]
    assert len(dl) == 1 and dl[0]["source"] == "push" and "no longer exists" in dl[0]["reason"]
    assert dl[0]["attempts"] == 1 and dl[0]["payload"]["local_id"] == local_id
    assert dl[0]["payload"]["row"]["email"] == "late@example.com" and status == "dead"
    client.close()


def test_transient_errors_exhaust_attempts_then_dead_letter(db_url, instance, adapters, odoo):
    """With Odoo failing every call, the row is retried max_attempts times, then dead-lettered."""
    pusher, client = make_pusher(db_url, adapters, instance, max_attempts=3)
    client.retry.attempts = 1
    add_contact(db_url, instance["org_id"], full_name="Never Lands")
    odoo.faults = "seed=2; res.partner: error500=1"
    drain(pusher, rounds=6)
    odoo.faults = None
    with connect(db_url) as conn:
        dl = conn.execute("select * from odoo.dead_letters").fetchall()
    assert len(dl) == 1 and dl[0]["attempts"] == 3 and "500" in dl[0]["reason"]
    client.close()


def test_pulled_contact_is_not_echoed_back_to_odoo(db_url, instance, adapters, odoo):
    """Contacts pulled from Odoo create no outbox rows (echo suppression)."""
    client = fast_client(instance)
    counts = pull_entity(db_url, instance, adapters, adapters["contact"], client)
    with connect(db_url) as conn:
        n_contacts = conn.execute("select count(*) as n from app.contacts").fetchone()["n"]
        n_outbox = conn.execute("select count(*) as n from odoo.outbox").fetchone()["n"]
    assert counts["inserted"] == n_contacts > 0 and n_outbox == 0
    client.close()


def test_contact_deleted_in_the_app_is_not_resurrected_by_a_pull_before_the_push(db_url, instance, adapters, odoo):
    """Deleting a contact in the app removes it from Odoo too, even if a pull runs before the push."""
    pusher, client = make_pusher(db_url, adapters, instance)
    pull_entity(db_url, instance, adapters, adapters["contact"], client)
    with connect(db_url) as conn:
        victim = conn.execute("select * from app.contacts order by odoo_id limit 1").fetchone()
        conn.execute("delete from app.contacts where id = %s", (victim["id"],))
    client.write("res.partner", [victim["odoo_id"]], {"city": "Touched"})  # so the pull re-reads it
    pull_entity(db_url, instance, adapters, adapters["contact"], client)
    drain(pusher)
    pull_entity(db_url, instance, adapters, adapters["contact"], client)
    with connect(db_url) as conn:
        again = conn.execute("select count(*) as n from app.contacts where odoo_id = %s", (victim["odoo_id"],)).fetchone()["n"]
    assert again == 0
    # gone from Odoo: asked with search (Odoo 17's read(ids, ['id']) answers deleted ids too)
    assert client.existing_ids("res.partner", [victim["odoo_id"]]) == set()
    client.close()


def test_an_app_change_is_traced_from_the_outbox_to_odoo(db_url, instance, adapters, odoo):
    """The app transaction's specgen.trace_id goes onto the outbox row, onto every Odoo call of its push
    (debug recording shows what was sent) and onto the step that says what reached Odoo; `sync trace`
    tells it in that order."""
    from bridge.store.queries import trace_story
    trace = "feed" * 8
    with connect(db_url) as conn:
        conn.execute("select set_config('specgen.trace_id', %s, true)", (trace,))
        local_id = str(conn.execute("insert into app.contacts (org_id, full_name) values (%s, 'Traced Ann') returning id",
                                    (instance["org_id"],)).fetchone()["id"])
    client = fast_client(instance, debug=True)
    drain(Pusher(db_url, adapters, lambda inst: client, retry_base=0.0))
    odoo_id = client.search("res.partner", [["name", "=", "Traced Ann"]])[0]
    client.close()
    story = trace_story(db_url, trace)
    assert story[0]["what"] == "app change queued" and str(story[0]["local_id"]) == local_id
    steps = [s for s in story if s["what"] == "step"]
    calls = [s["data"]["method"] for s in steps if s["event"] == "odoo call"]
    assert "create" in calls and "search" in calls  # the external-id check, then the create
    pushed = [s for s in steps if s["event"] == "app change pushed"]
    assert len(pushed) == 1 and pushed[0]["data"]["action"] == "created" and pushed[0]["data"]["odoo_id"] == odoo_id
    assert pushed[0]["data"]["local_id"] == local_id and steps[-1] is pushed[0]
