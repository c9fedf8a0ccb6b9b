"""Tenancy through the sync: two orgs, each with its own Odoo. A record in one tenant's Odoo that names
another tenant's row (``ref = 'specgen:<uuid>'``) must not take that row over, and nothing of one tenant
may be pushed into the other tenant's Odoo (issue 13, point 1)."""
from __future__ import annotations

import pytest

from bridge.store.db import connect
from mock_odoo.server import MockOdooServer
from bridge.sync.processor import Processor
from bridge.sync.pull import pull_entity, reconcile_entity
from bridge.sync.push import Pusher
from tests.runtime.support import add_instance, fast_client
from tests.runtime.helpers import odoo_partners

pytestmark = pytest.mark.db


def contact(db_url, contact_id) -> dict:
    with connect(db_url) as conn:
        return dict(conn.execute("select * from app.contacts where id = %s", (contact_id,)).fetchone())


def push_all(db_url, adapters, clients, instance_id):
    pusher = Pusher(db_url, adapters, lambda inst: clients[str(inst["id"])], retry_base=0.0)
    for _ in range(5):
        if not pusher.run_once(limit=50, instance_id=instance_id)["claimed"]:
            break


@pytest.fixture
def two_tenants(db_url):
    with MockOdooServer(demo=5) as odoo_a, MockOdooServer(demo=5) as odoo_b:
        a, b = add_instance(db_url, odoo_a.url, name="a"), add_instance(db_url, odoo_b.url, name="b")
        clients = {str(a["id"]): fast_client(a), str(b["id"]): fast_client(b)}
        try:
            yield {"a": a, "b": b, "odoo_a": odoo_a, "odoo_b": odoo_b, "clients": clients}
        finally:
            for c in clients.values():
                c.close()


def test_a_record_naming_another_tenants_row_is_a_dead_letter_and_moves_nothing(db_url, adapters, two_tenants):
    a, b, clients = two_tenants["a"], two_tenants["b"], two_tenants["clients"]
    cb = clients[str(b["id"])]
    with connect(db_url) as conn:
        linked = str(conn.execute("insert into app.contacts (org_id, full_name, email) values (%s, 'Ann A', "
                                  "'ann@a.example') returning id", (a["org_id"],)).fetchone()["id"])
    push_all(db_url, adapters, clients, a["id"])  # Ann is in A's Odoo now, linked
    with connect(db_url) as conn:  # Bob is created in the app, not yet pushed (no instance, no odoo id)
        unlinked = str(conn.execute("insert into app.contacts (org_id, full_name, email) values (%s, 'Bob A', "
                                    "'bob@a.example') returning id", (a["org_id"],)).fetchone()["id"])
    before = {cid: contact(db_url, cid) for cid in (linked, unlinked)}
    assert before[linked]["instance_id"] == a["id"] and before[unlinked]["instance_id"] is None
    # the attacker, in B's Odoo: partners whose ref names A's contacts; the first gets the same odoo id
    # as Ann in A's Odoo (both mocks hold the same demo data), so neither the id nor the ref may decide
    evil = [cb.create("res.partner", {"name": f"Mallory {i}", "email": "m@b.example", "ref": f"specgen:{cid}"})
            for i, cid in enumerate((linked, unlinked))]
    assert evil[0] == before[linked]["odoo_id"], "the test needs an odoo id shared by both Odoos"

    contact_adapter = adapters["contact"]
    for adapter in (adapters["partner"], contact_adapter):
        pull_entity(db_url, b, adapters, adapter, cb)
        reconcile_entity(db_url, b, adapters, adapter, cb)
    with connect(db_url) as conn:  # and through a webhook event, re-read by the processor
        conn.execute("insert into odoo.webhook_events (instance_id, idempotency_key, odoo_model, odoo_id, payload, "
                     "trace_id) values (%s, 'evil', 'res.partner', %s, %s, 'abc')",
                     (b["id"], evil[1], '{"_model": "res.partner", "_id": %d}' % evil[1]))
    Processor(db_url, adapters, lambda inst: clients[str(inst["id"])], retry_base=0.0).run_once(instance_id=b["id"])

    for cid in (linked, unlinked):
        after = contact(db_url, cid)
        assert after == before[cid], f"A's contact {cid} changed: " + str(
            {k: (before[cid][k], after[k]) for k in after if after[k] != before[cid][k]})
    with connect(db_url) as conn:
        letters = conn.execute("select * from odoo.dead_letters where instance_id = %s and error_class = "
                               "'TenantMismatch' order by record_ref", (b["id"],)).fetchall()
        stolen = conn.execute("select count(*) as n from app.contacts where instance_id = %s and odoo_id = any(%s)",
                              (b["id"], evil)).fetchone()["n"]
        mapped = conn.execute("select count(*) as n from odoo.entity_mappings where instance_id = %s and local_id = "
                              "any(%s::uuid[])", (b["id"], [linked, unlinked])).fetchone()["n"]
    assert {int(d["record_ref"]) for d in letters} == set(evil)
    assert all("belongs to another org" in d["reason"] and "nothing was written" in d["reason"] for d in letters)
    assert stolen == 0 and mapped == 0

    # A edits both contacts; the pushes reach A's Odoo and only A's
    b_before = odoo_partners(two_tenants["odoo_b"].url)
    with connect(db_url) as conn:
        conn.execute("update app.contacts set full_name = full_name || ' (edited)' where id = any(%s::uuid[])",
                     ([linked, unlinked],))
        queued = conn.execute("select distinct instance_id from odoo.outbox where status = 'pending'").fetchall()
    assert [r["instance_id"] for r in queued] == [a["id"]]
    push_all(db_url, adapters, clients, a["id"])
    push_all(db_url, adapters, clients, b["id"])
    b_after = odoo_partners(two_tenants["odoo_b"].url)
    assert b_after == b_before, "something of org A reached org B's Odoo"
    assert not [p for p in b_after.values() if "(edited)" in (p["name"] or "") or "@a.example" in (p["email"] or "")]
    a_names = {p["name"] for p in odoo_partners(two_tenants["odoo_a"].url).values()}
    assert {"Ann A (edited)", "Bob A (edited)"} <= a_names


def test_an_outbox_row_queued_for_another_tenants_instance_is_not_pushed(db_url, adapters, two_tenants):
    """Defence in depth: even a queue row that names the wrong instance never reaches that Odoo."""
    a, b, clients = two_tenants["a"], two_tenants["b"], two_tenants["clients"]
    with connect(db_url) as conn:
        cid = str(conn.execute("insert into app.contacts (org_id, full_name) values (%s, 'Carol A') returning id",
                               (a["org_id"],)).fetchone()["id"])
        conn.execute("update odoo.outbox set instance_id = %s where local_id = %s", (b["id"], cid))
    b_before = odoo_partners(two_tenants["odoo_b"].url)
    push_all(db_url, adapters, clients, b["id"])
    assert odoo_partners(two_tenants["odoo_b"].url) == b_before
    with connect(db_url) as conn:
        letter = conn.execute("select * from odoo.dead_letters where source = 'push'").fetchone()
        row = conn.execute("select status from odoo.outbox where local_id = %s", (cid,)).fetchone()
    assert letter["error_class"] == "TenantMismatch" and "belongs to another org" in letter["reason"]
    assert row["status"] == "dead" and contact(db_url, cid)["instance_id"] is None
