"""sync-to-odoo under plain Deno, over real HTTP, against the mock Odoo and a migrated PostgreSQL: creates and
writes reach Odoo once and the mapping and link are stored as the Python pusher stores them; deletes;
dead letters; the push's runs and steps."""
from __future__ import annotations

import pytest

from bridge.store.db import connect
from tests.functions.push_support import add_contact, drain, invoke, serve_push
from tests.functions.push_support import client, fn  # noqa: F401 (fixtures)
from tests.runtime.conftest import adapters, db_url, instance, migrated_template, odoo, sync_generated  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.deno, pytest.mark.db]


def test_app_contact_is_created_in_odoo_once_and_linked(db_url, instance, odoo, fn, client):
    local_id = add_contact(db_url, instance["org_id"], full_name="Zed Pusher", email="zed@example.com")
    answer = invoke(fn)
    assert (answer["pushed"], answer["failed"], answer["dead"], answer["claimed"]) == (1, 0, 0, 1)
    found = client.search("res.partner", [["name", "=", "Zed Pusher"]], context={"active_test": False})
    assert len(found) == 1
    with connect(db_url) as conn:
        row = conn.execute("select * from app.contacts where id=%s", (local_id,)).fetchone()
        outbox = conn.execute("select status, count(*) as n from odoo.outbox group by status").fetchall()
        mapping = conn.execute("select * from odoo.entity_mappings where local_id=%s", (local_id,)).fetchone()
        runs = conn.execute("select * from ops.runs where kind = 'push' order by started_at").fetchall()
        steps = conn.execute("select e.* from ops.run_events e join ops.runs r on r.id = e.run_id "
                             "where r.kind = 'push' and e.event = 'app change pushed'").fetchall()
    assert row["odoo_id"] == found[0] and row["instance_id"] == instance["id"]
    assert mapping["odoo_id"] == found[0] and mapping["odoo_model"] == "res.partner"
    assert mapping["synced_values"] == {"full_name": "Zed Pusher", "email": "zed@example.com", "phone": None,
                                        "company_id": None, "notes": None}
    assert [(o["status"], o["n"]) for o in outbox] == [("done", 1)], "the link write must not echo into the outbox"
    rec = client.read("res.partner", found, ["email", "ref"])[0]
    assert rec["email"] == "zed@example.com" and rec["ref"] == f"specgen:{local_id}"
    # a run per claim, as `specgen sync push`: the claim of the contact, then the empty claim that ends the drain
    assert [(r["entity"], r["status"], r["counts"]["claimed"], r["counts"].get("created")) for r in runs] == [
        ("contact", "succeeded", 1, 1), (None, "succeeded", 0, None)]
    assert len(steps) == 1 and steps[0]["data"]["action"] == "created" and steps[0]["data"]["odoo_id"] == found[0]
    assert steps[0]["data"]["local_id"] == local_id and steps[0]["run_id"] == runs[0]["id"]
    # the next invocation finds nothing to do: one empty run, nothing sent
    assert invoke(fn)["claimed"] == 0


def test_edit_and_delete_in_the_app_reach_odoo_in_order(db_url, instance, odoo, fn, client):
    local_id = add_contact(db_url, instance["org_id"], full_name="Edit Me")
    with connect(db_url) as conn:
        conn.execute("update app.contacts set phone = '+32 1', notes = 'line one\nA & B' where id=%s", (local_id,))
    counts = drain(fn, db_url)
    assert counts.get("created") == 1 and counts.get("unchanged") == 1  # the edit's row: already in the create
    oid = client.search("res.partner", [["ref", "=", f"specgen:{local_id}"]], context={"active_test": False})[0]
    rec = client.read("res.partner", [oid], ["phone", "comment"])[0]
    assert rec["phone"] == "+32 1" and rec["comment"] == "<p>line one<br>A &amp; B</p>"  # text -> html
    with connect(db_url) as conn:
        conn.execute("update app.contacts set full_name = 'Edited' where id=%s", (local_id,))
    assert drain(fn, db_url).get("written") == 1
    assert client.read("res.partner", [oid], ["name"])[0]["name"] == "Edited"
    with connect(db_url) as conn:
        conn.execute("update app.contacts set email = 'late@example.com' where id=%s", (local_id,))
        conn.execute("delete from app.contacts where id=%s", (local_id,))
    counts = drain(fn, db_url)
    assert counts.get("skipped_deleted") == 1 and counts.get("unlinked") == 1
    assert client.existing_ids("res.partner", [oid]) == set()
    with connect(db_url) as conn:
        assert conn.execute("select count(*) as n from odoo.entity_mappings").fetchone()["n"] == 0
        assert [r["status"] for r in conn.execute("select status from odoo.outbox order by id").fetchall()] == ["done"] * 5


def test_a_contact_edited_in_the_app_but_deleted_in_odoo_is_a_dead_letter_and_a_tombstone(db_url, instance, odoo, fn, client):
    local_id = add_contact(db_url, instance["org_id"], full_name="Doomed")
    drain(fn, db_url)
    oid = client.search("res.partner", [["name", "=", "Doomed"]], context={"active_test": False})[0]
    client.unlink("res.partner", [oid])
    with connect(db_url) as conn:
        conn.execute("update app.contacts set email = 'late@example.com' where id=%s", (local_id,))
    answer = invoke(fn)
    assert (answer["pushed"], answer["dead"]) == (0, 1)
    with connect(db_url) as conn:
        dl = conn.execute("select * from odoo.dead_letters").fetchall()
        last = conn.execute("select status, last_error from odoo.outbox order by id desc limit 1").fetchone()
        row = conn.execute("select odoo_deleted_at from app.contacts where id = %s", (local_id,)).fetchone()
        pending = conn.execute("select count(*) as n from odoo.outbox where status = 'pending'").fetchone()["n"]
    assert len(dl) == 1 and dl[0]["source"] == "push" and dl[0]["error_class"] == "MissingError"
    assert dl[0]["reason"] == f"MissingError: res.partner {oid} no longer exists in Odoo" == last["last_error"]
    assert dl[0]["attempts"] == 1 and dl[0]["payload"]["local_id"] == local_id and dl[0]["record_ref"] == local_id
    assert dl[0]["payload"]["row"]["email"] == "late@example.com" and dl[0]["odoo_model"] == "res.partner"
    assert last["status"] == "dead" and row["odoo_deleted_at"] is not None
    assert pending == 0, "the tombstone is the sync's write: not echoed into the outbox"


def test_a_row_queued_for_another_tenants_instance_is_refused(db_url, instance, odoo, fn, client):
    from tests.runtime.support import add_instance
    other = add_instance(db_url, odoo.url, name="other")
    local_id = add_contact(db_url, instance["org_id"], full_name="Carol A")
    with connect(db_url) as conn:
        conn.execute("update odoo.outbox set instance_id = %s where local_id = %s", (other["id"], local_id))
    answer = invoke(fn, instance=str(other["id"]))
    assert answer["dead"] == 1
    with connect(db_url) as conn:
        letter = conn.execute("select * from odoo.dead_letters where source = 'push'").fetchone()
    assert letter["error_class"] == "TenantMismatch" and letter["reason"] == (
        f"TenantMismatch: not sent to instance {other['id']}: contact {local_id} belongs to another org")
    assert client.search("res.partner", [["name", "=", "Carol A"]], context={"active_test": False}) == []


def test_transient_errors_exhaust_attempts_then_dead_letter(db_url, instance, odoo, fn):
    add_contact(db_url, instance["org_id"], full_name="Never Lands")
    odoo.faults = "seed=2; res.partner: error500=1"
    try:
        drain(fn, db_url, rounds=6, max_attempts=3, odoo_retry_attempts=1)
    finally:
        odoo.faults = None
    with connect(db_url) as conn:
        dl = conn.execute("select * from odoo.dead_letters").fetchall()
        runs = conn.execute("select status, error from ops.runs where kind = 'push' and entity = 'contact' "
                            "order by started_at").fetchall()
        health = conn.execute("select error_rate from ops.sync_health where entity = 'contact'").fetchone()
    assert len(dl) == 1 and dl[0]["attempts"] == 3 and "500" in dl[0]["reason"]
    assert [r["status"] for r in runs] == ["failed"] * 3 and all("1 of 1 failed, last: " in r["error"] for r in runs)
    assert health["error_rate"] == 1.0


def test_budget_spent_claims_nothing(db_url, instance, odoo, fn, client):
    add_contact(db_url, instance["org_id"], full_name="Not Yet")
    answer = invoke(fn, budget_s=0)
    assert answer["claimed"] == 0 and answer["pushed"] == 0
    with connect(db_url) as conn:
        assert conn.execute("select status, attempts from odoo.outbox").fetchone() == {"status": "pending", "attempts": 0}


def test_the_token_guards_the_function(db_url, fn):
    import httpx
    assert httpx.post(fn.url, json={}).status_code == 401
    token = {"x-specgen-function-token": "push-function-token-0123456789"}
    assert httpx.post(fn.url, json={"batch_limit": "x"}, headers=token).status_code == 400
    typo = httpx.post(fn.url, json={"batch_limt": 5}, headers=token)
    assert typo.status_code == 400 and typo.json()["error"].startswith("unknown key batch_limt; known: instance,")
    nobody = httpx.post(fn.url, json={"instance": "no-such-instance"}, headers=token)
    assert nobody.status_code == 400
    assert nobody.json()["error"].startswith('no active instance has the id or name "no-such-instance"')
    with connect(db_url) as conn:  # refused before any work: no run
        assert conn.execute("select count(*) as n from ops.runs").fetchone()["n"] == 0


def test_a_refused_login_skips_the_instance_and_dead_letters_nothing(db_url, instance, odoo):
    """A rotated password (the function's secret no longer Odoo's): the instance is skipped with the reason
    and its rows stay pending for when the secret is fixed, as the Python worker does; then they go."""
    from tests.runtime.support import SECRET_ENV
    for i in range(3):
        add_contact(db_url, instance["org_id"], full_name=f"Waiting {i}", email=f"waiting{i}@example.com")
    wrong = serve_push(db_url, **{SECRET_ENV: "not-the-password"})
    try:
        answer = invoke(wrong)
    finally:
        wrong.stop()
    assert (answer["pushed"], answer["dead"], answer["claimed"]) == (0, 0, 0), answer
    assert [s["reason"] for s in answer["skipped_instances"]] == [
        "login refused: check the instance's secret or its configuration (AccessDenied)"]
    with connect(db_url) as conn:
        assert conn.execute("select count(*) as n from odoo.dead_letters").fetchone()["n"] == 0
        assert {r["status"] for r in conn.execute("select status from odoo.outbox").fetchall()} == {"pending"}
    fixed = serve_push(db_url)
    try:
        assert drain(fixed, db_url)["created"] == 3
    finally:
        fixed.stop()
