"""Deletions and the smaller Odoo 17 behaviours the sync must get right, against the strict mock:

- a record deleted in Odoo is tombstoned by reconcile and by the event processor, although Odoo's
  `read(ids, ['id'])` still answers its id (existence is `search` on the ids, active_test off);
- a push writing a record deleted in Odoo takes the tombstone path on Odoo's own MissingError text,
  over XML-RPC (fault 2, text only) and JSON-RPC (exception name);
- `psycopg2.errors.LockNotAvailable` after Odoo's own retries is transient: retried, not dead-lettered;
- a login Odoo refuses is not retried every cycle (Odoo's login cooldown would lock out the IP).
"""
from __future__ import annotations

import httpx
import pytest

from bridge.store import queries
from bridge.store.db import connect
from bridge.odoo.retry import RetryPolicy
from bridge.sync.processor import Processor
from bridge.sync.pull import pull_entity, reconcile_entity
from bridge.sync.push import Pusher
from bridge.sync.worker import Worker
from tests.runtime.support import SECRET_ENV, add_instance, fast_client, runtime_settings, table_rows
from tests.runtime.test_push import add_contact, drain
from tests.runtime.test_webhooks import hook_url, receiver  # noqa: F401 - the receiver fixture

pytestmark = pytest.mark.db


def test_reconcile_tombstones_a_deleted_record_whose_id_read_still_answers(db_url, instance, adapters, odoo):
    """Odoo 17 answers `read([id], ['id'])` for a deleted id; reconcile must not take that as alive. An
    archived record is not deleted: it stays live."""
    client = fast_client(instance)
    victim = client.create("res.partner", {"name": "Deleted In Odoo"})
    archived = client.create("res.partner", {"name": "Archived In Odoo"})
    pull_entity(db_url, instance, adapters, adapters["partner"], client)
    client.unlink("res.partner", [victim])
    client.write("res.partner", [archived], {"active": False})
    assert client.read("res.partner", [victim], ["id"]) == [{"id": victim}]  # the strict mock, as Odoo
    counts = reconcile_entity(db_url, instance, adapters, adapters["partner"], client)
    rows = table_rows(db_url, "odoo.partners", instance["id"])
    assert rows[victim]["odoo_deleted_at"] is not None and counts["tombstoned"] == 1
    assert rows[archived]["odoo_deleted_at"] is None
    client.close()


def test_an_event_without_unlink_for_a_deleted_record_tombstones_it(receiver, db_url, instance, adapters, odoo):  # noqa: F811
    """A write notification (Odoo 17's default body: `_action`, `_id`, `_model` only) processed after the
    record was deleted: the processor finds it gone by searching, and tombstones the row."""
    client = fast_client(instance)
    victim = client.create("res.partner", {"name": "Edited Then Deleted"})
    pull_entity(db_url, instance, adapters, adapters["partner"], client)
    body = {"_action": "Send Webhook Notification(#3)", "_id": victim, "_model": "res.partner"}
    assert httpx.post(hook_url(receiver, instance), json=body).status_code == 202
    client.unlink("res.partner", [victim])
    counts = Processor(db_url, adapters, lambda inst: client).run_once()
    assert counts["processed"] == 1
    assert table_rows(db_url, "odoo.partners", instance["id"])[victim]["odoo_deleted_at"] is not None
    client.close()


@pytest.mark.parametrize("protocol", ["xmlrpc", "jsonrpc"])
def test_a_push_writing_a_record_deleted_in_odoo_takes_the_tombstone_path(db_url, adapters, odoo, protocol):
    """The record is deleted in Odoo between the push's read and its write: Odoo's MissingError ("One of
    the records you are trying to modify has already been deleted ...", fault 2 over XML-RPC) marks the
    app row deleted in Odoo and dead-letters the edit, instead of a plain UserError."""
    instance = add_instance(db_url, odoo.url, protocol=protocol)
    client = fast_client(instance)
    pusher = Pusher(db_url, adapters, lambda inst: client, retry_base=0.0)
    local_id = add_contact(db_url, instance["org_id"], full_name="Gone Mid Push")
    drain(pusher)
    with connect(db_url) as conn:
        oid = conn.execute("select odoo_id from app.contacts where id=%s", (local_id,)).fetchone()["odoo_id"]
        conn.execute("update app.contacts set email = 'late@example.com' where id=%s", (local_id,))
    other = fast_client(instance)
    real_read = client.read

    def read_then_deleted(model, ids, fields, context=None):  # someone deletes it in Odoo right after
        out = real_read(model, ids, fields, context)
        other.unlink(model, ids)
        return out
    client.read = read_then_deleted
    drain(pusher)
    with connect(db_url) as conn:
        row = conn.execute("select odoo_deleted_at from app.contacts where id=%s", (local_id,)).fetchone()
        dead = conn.execute("select reason from odoo.dead_letters").fetchall()
    assert other.search("res.partner", [["id", "=", oid]], context={"active_test": False}) == []
    assert row["odoo_deleted_at"] is not None, "the write's MissingError must tombstone the row"
    assert len(dead) == 1 and "already been deleted" in dead[0]["reason"]
    client.close()
    other.close()


def test_lock_not_available_after_odoos_retries_is_retried_not_dead_lettered(db_url, instance, adapters, odoo):
    """Odoo's `retrying` gives up on a busy row with psycopg2's LockNotAvailable: the push tries later."""
    client = fast_client(instance, retry=RetryPolicy(attempts=2, base=0.01, cap=0.02))
    pusher = Pusher(db_url, adapters, lambda inst: client, retry_base=0.0, max_attempts=8)
    local_id = add_contact(db_url, instance["org_id"], full_name="Busy Row")
    odoo.faults = "res.partner/create: lock=1"
    pusher.run_once()
    with connect(db_url) as conn:
        row = conn.execute("select status, attempts, last_error from odoo.outbox").fetchone()
        assert conn.execute("select count(*) as n from odoo.dead_letters").fetchone()["n"] == 0
    assert row["status"] == "pending" and row["attempts"] == 1 and "could not obtain lock" in row["last_error"]
    odoo.faults = None
    drain(pusher)
    found = client.search("res.partner", [["ref", "=", f"specgen:{local_id}"]], context={"active_test": False})
    assert len(found) == 1
    client.close()


def test_a_refused_login_is_not_retried_every_cycle(db_url, adapters, odoo):
    """A wrong secret: the worker tries the login once, skips the instance with a clear reason, and does
    not try again on later cycles (5 failures from one IP would put Odoo's login cooldown on everyone
    behind it); the other instance syncs. A changed secret (the instance names another variable) is
    tried at the next cycle."""
    good = add_instance(db_url, odoo.url, name="good")
    wrong = add_instance(db_url, odoo.url, name="wrong-secret", protocol="xmlrpc")
    with connect(db_url) as conn:
        conn.execute("update odoo.instances set secret_ref = 'SPECGEN_TEST_WRONG_SECRET' where id = %s", (wrong["id"],))
    worker = Worker(db_url, adapters, settings=runtime_settings(SPECGEN_TEST_WRONG_SECRET="not-the-password"),
                    interval=0, reconcile_every=0, client_kw={"retry": RetryPolicy(attempts=2, base=0.01, cap=0.02)})
    before = odoo.services.login_attempts
    for _ in range(8):
        totals = worker.cycle()
        assert totals["instances.skipped"] == 1
    attempts = odoo.services.login_attempts - before
    assert attempts <= 2, f"{attempts} logins in 8 cycles: a refused login must not be retried every cycle"
    with connect(db_url) as conn:
        skipped = queries.skipped_instances(conn)
        mirrored = conn.execute("select count(*) as n from odoo.partners where instance_id = %s",
                                (good["id"],)).fetchone()["n"]
    assert [s["name"] for s in skipped] == ["wrong-secret"] and mirrored > 0
    assert skipped[0]["reason"].startswith("login refused: check the instance's secret; not retried until ")
    assert "not-the-password" not in skipped[0]["reason"]

    with connect(db_url) as conn:  # fixed: tried at once, synced, flag cleared
        conn.execute("update odoo.instances set secret_ref = %s where id = %s", (SECRET_ENV, wrong["id"]))
    totals = worker.cycle()
    assert "instances.skipped" not in totals
    with connect(db_url) as conn:
        assert conn.execute("select count(*) as n from odoo.partners where instance_id = %s",
                            (wrong["id"],)).fetchone()["n"] > 0
        assert queries.skipped_instances(conn) == []
