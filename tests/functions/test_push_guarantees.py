"""sync-to-odoo's guarantees against the mock Odoo and a real PostgreSQL: a lost answer or a fault never
duplicates a create in Odoo (counted there), a create that commits late is waited out and found by its ref,
two invocations at once and a Python pusher beside the function push each change once, conflicts go as the
contact's policy (field_merge) says."""
from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from bridge.store.db import connect
from bridge.sync.pull import pull_entity
from bridge.sync.push import Pusher
from tests.functions.push_support import add_contact, drain, invoke, open_rows, serve_push
from tests.functions.push_support import client, fn  # noqa: F401 (fixtures)
from tests.runtime.conftest import adapters, db_url, instance, migrated_template, odoo, sync_generated  # noqa: F401
from tests.runtime.support import fast_client

pytestmark = [pytest.mark.deno, pytest.mark.db]


def partners_by_ref(client) -> Counter:
    recs = client.search_read("res.partner", [["ref", "like", "specgen:"]], ["ref"], context={"active_test": False})
    return Counter(r["ref"] for r in recs)


def pushed_steps(db_url) -> Counter:
    """outbox id -> how many 'app change pushed' steps it has (each must have exactly one)."""
    with connect(db_url) as conn:
        rows = conn.execute("select (data->>'outbox_id')::bigint as id from ops.run_events "
                            "where event = 'app change pushed'").fetchall()
    return Counter(r["id"] for r in rows)


def assert_each_pushed_once(db_url, client, contact_ids: list[str]) -> None:
    refs = partners_by_ref(client)
    assert {f"specgen:{c}": 1 for c in contact_ids} == {r: n for r, n in refs.items() if r[8:] in contact_ids}, \
        "a contact is missing from Odoo or was created twice"
    with connect(db_url) as conn:
        rows = conn.execute("select c.id::text as id, c.odoo_id, m.odoo_id as mapped from app.contacts c "
                            "left join odoo.entity_mappings m on m.local_id = c.id where c.id = any(%s::uuid[])",
                            (contact_ids,)).fetchall()
        outbox = conn.execute("select id, status from odoo.outbox").fetchall()
    ids = {r[8:]: None for r in refs}
    found = {r["ref"][8:]: r["id"] for r in client.search_read("res.partner", [["ref", "like", "specgen:"]], ["ref"],
                                                               context={"active_test": False})}
    assert all(r["odoo_id"] == r["mapped"] == found[r["id"]] for r in rows), "the app row and mapping name that record"
    assert {o["status"] for o in outbox} == {"done"}
    steps = pushed_steps(db_url)
    assert set(steps) == {o["id"] for o in outbox} and set(steps.values()) == {1}, "each change pushed exactly once"
    del ids


def test_a_lost_answer_does_not_duplicate_the_create(db_url, instance, odoo, fn, client):
    """Odoo creates the record but the answer never arrives (the call hangs past the timeout): the retry
    finds it by its ref."""
    odoo.faults = "seed=1; res.partner/create: hang=1, hang_for=1.5"
    local_id = add_contact(db_url, instance["org_id"], full_name="Hung Create")
    answer = invoke(fn, odoo_timeout_s=0.5)
    assert (answer["failed"], answer["pushed"]) == (1, 0)
    with connect(db_url) as conn:
        row = conn.execute("select status, attempts, last_error from odoo.outbox").fetchone()
    assert row["status"] == "pending" and row["last_error"].startswith("AmbiguousCreate: ")
    odoo.faults = None
    time.sleep(1.2)  # the hung create has committed in the mock by now
    with connect(db_url) as conn:
        conn.execute("update odoo.outbox set available_at = now()")
    counts = drain(fn, db_url)
    assert counts.get("found_by_ref") == 1 and not counts.get("created")
    assert_each_pushed_once(db_url, client, [local_id])


def test_a_create_that_commits_late_is_waited_out_then_found(db_url, instance, odoo, fn, client):
    with connect(db_url) as conn:
        conn.execute("update odoo.instances set request_limit_seconds = 4 where id = %s", (instance["id"],))
    odoo.faults = "seed=3; res.partner/create: late_execute=1, after=2.5"  # every create: 504 now, commit later
    local_id = add_contact(db_url, instance["org_id"], full_name="Late Lara")
    assert invoke(fn)["failed"] == 1
    with connect(db_url) as conn:
        row = conn.execute("select status, last_error, available_at - now() as wait from odoo.outbox").fetchone()
        step = conn.execute("select data from ops.run_events where event like 'create unanswered%%'").fetchone()
    assert row["status"] == "pending" and "504" in row["last_error"]
    assert row["wait"].total_seconds() > 3 and step["data"]["wait_s"] == 4  # not before the request limit
    assert invoke(fn)["claimed"] == 0  # nothing is tried meanwhile
    time.sleep(2.8)  # the first create commits now, behind the push's back
    deadline = time.monotonic() + 10
    while open_rows(db_url) and time.monotonic() < deadline:
        invoke(fn)
        time.sleep(0.3)
    odoo.faults = None
    assert_each_pushed_once(db_url, client, [local_id])


def test_faults_on_every_call_duplicate_nothing(db_url, instance, odoo, fn, client):
    """Resets, 500s, lock errors and hung answers on searches, creates and writes, seeded: every contact
    ends in Odoo exactly once, linked, and every outbox row done with one step."""
    ids = [add_contact(db_url, instance["org_id"], full_name=f"Faulty {i}", email=f"f{i}@example.com") for i in range(12)]
    with connect(db_url) as conn:
        conn.execute("update app.contacts set phone = '+1' where full_name like 'Faulty %%'")
    odoo.faults = ("seed=11; res.partner/create: hang=0.3, hang_for=0.8, reset=0.2, error500=0.2; "
                   "res.partner/search: reset=0.2, error500=0.2; res.partner/write: reset=0.2, lock=0.2; "
                   "res.partner/read: error500=0.2")
    try:
        counts = drain(fn, db_url, rounds=40, odoo_timeout_s=0.5, odoo_retry_attempts=2, max_attempts=100)
        assert counts.get("retried", 0) >= 3, counts  # the faults did reach the push
    finally:
        odoo.faults = None
    time.sleep(1)
    drain(fn, db_url, max_attempts=100)
    assert_each_pushed_once(db_url, client, ids)


def _concurrently(*calls) -> list:
    out: list = [None] * len(calls)
    errors: list = []

    def go(i, f):
        try:
            out[i] = f()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
    threads = [threading.Thread(target=go, args=(i, f)) for i, f in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    return out


def test_two_invocations_at_once_push_each_change_once(db_url, instance, odoo, fn, client):
    ids = [add_contact(db_url, instance["org_id"], full_name=f"Twice {i}") for i in range(30)]
    odoo.faults = "seed=4; res.partner: latency=10ms"  # so the two overlap
    try:
        answers = _concurrently(lambda: invoke(fn, batch_limit=5), lambda: invoke(fn, batch_limit=5))
    finally:
        odoo.faults = None
    assert sum(a["pushed"] for a in answers) == 30 and all(a["pushed"] for a in answers), answers
    assert_each_pushed_once(db_url, client, ids)


def test_a_python_pusher_and_the_function_at_once_push_each_change_once(db_url, instance, adapters, odoo, fn, client):
    ids = [add_contact(db_url, instance["org_id"], full_name=f"Both {i}") for i in range(30)]
    with connect(db_url) as conn:  # a write of each too: two rows per record, in order
        conn.execute("update app.contacts set email = full_name || '@example.com' where full_name like 'Both %%'")
    odoo.faults = "seed=5; res.partner: latency=10ms"
    py_client = fast_client(instance)
    pusher = Pusher(db_url, adapters, lambda inst: py_client, retry_base=0.0)

    def python_drain():
        n = 0
        for _ in range(50):
            counts = pusher.run_once(limit=5)
            n += sum(counts.get(k, 0) for k in ("created", "written", "unchanged", "found_by_ref"))
            if not counts.get("claimed"):
                break
        return n
    try:
        py, answer = _concurrently(python_drain, lambda: invoke(fn, batch_limit=5))
    finally:
        odoo.faults = None
        py_client.close()
    assert py and answer["pushed"] and py + answer["pushed"] == 60, (py, answer)
    assert_each_pushed_once(db_url, client, ids)
    emails = {r["name"]: r["email"] for r in client.search_read("res.partner", [["name", "like", "Both "]], ["name", "email"])}
    assert emails == {f"Both {i}": f"Both {i}@example.com" for i in range(30)}, "a write was lost or out of order"


def test_a_killed_invocations_claim_is_taken_again_after_the_lease(db_url, instance, odoo, fn, client):
    local_id = add_contact(db_url, instance["org_id"], full_name="Orphaned Claim")
    with connect(db_url) as conn:  # claimed by a worker that died 10 s ago
        conn.execute("update odoo.outbox set status = 'processing', claimed_by = 'dead:1', attempts = 1, "
                     "claimed_at = now() - interval '10 seconds'")
    assert invoke(fn, lease_s=60)["claimed"] == 0  # still leased
    answer = invoke(fn, lease_s=5)
    assert answer["pushed"] == 1
    with connect(db_url) as conn:
        assert conn.execute("select attempts from odoo.outbox").fetchone()["attempts"] == 2
    assert_each_pushed_once(db_url, client, [local_id])


# -- conflicts (contact: shared, field_merge) ------------------------------------------------------------

def test_field_merge_keeps_both_sides_changes_and_odoo_wins_a_field_changed_on_both(db_url, instance, adapters, odoo,
                                                                                    fn, client):
    pull_entity(db_url, instance, adapters, adapters["contact"], client)
    with connect(db_url) as conn:
        c = conn.execute("select id::text as id, odoo_id from app.contacts where instance_id = %s order by odoo_id "
                         "limit 1", (instance["id"],)).fetchone()
    client.write("res.partner", [c["odoo_id"]], {"phone": "+32 ODOO", "name": "Name From Odoo"})
    with connect(db_url) as conn:
        conn.execute("update app.contacts set email = 'app@example.com', full_name = 'Name From App' where id = %s",
                     (c["id"],))
    counts = drain(fn, db_url)
    assert counts.get("written") == 1
    rec = client.read("res.partner", [c["odoo_id"]], ["email", "phone", "name"])[0]
    with connect(db_url) as conn:
        row = conn.execute("select * from app.contacts where id = %s", (c["id"],)).fetchone()
        mapping = conn.execute("select synced_values from odoo.entity_mappings where local_id = %s", (c["id"],)).fetchone()
        queued = conn.execute("select count(*) as n from odoo.outbox where status = 'pending'").fetchone()["n"]
        step = conn.execute("select data from ops.run_events where event = 'app change pushed'").fetchone()
    assert rec["email"] == "app@example.com" and rec["phone"] == "+32 ODOO" and rec["name"] == "Name From Odoo"
    assert (row["email"], row["phone"], row["full_name"]) == ("app@example.com", "+32 ODOO", "Name From Odoo")
    assert mapping["synced_values"]["email"] == "app@example.com" and mapping["synced_values"]["phone"] == "+32 ODOO"
    assert queued == 0, "what Odoo won is written to the app as the sync's: no echo"
    assert step["data"]["took_from_odoo"] == ["full_name", "phone"]


def test_a_row_locked_by_another_claim_is_skipped_not_waited_for(db_url, instance, odoo, fn, client):
    """Another worker is in the middle of claiming the oldest row (its transaction holds the row lock):
    the function claims the others at once instead of queueing behind it (FOR UPDATE SKIP LOCKED)."""
    ids = [add_contact(db_url, instance["org_id"], full_name=f"Skip {i}") for i in range(3)]
    with connect(db_url) as other:
        other.execute("select id from odoo.outbox where local_id = %s for update", (ids[0],))
        answer = invoke(fn, timeout=20)  # would wait for `other` to commit without SKIP LOCKED
        assert answer["pushed"] == 2
    assert drain(fn, db_url).get("created") == 1
    assert_each_pushed_once(db_url, client, ids)


def test_an_invocation_killed_during_a_create_loses_nothing(db_url, instance, odoo, client):
    """The function is killed (SIGKILL) while Odoo works on a create: the row stays claimed, and once its
    lease is over the next invocation finds the record by its ref and links it. Nothing is acknowledged
    before Odoo has it and the link is stored."""
    fn = serve_push(db_url)
    local_id = add_contact(db_url, instance["org_id"], full_name="Killed Mid Create")
    odoo.faults = "seed=6; res.partner/create: hang=1, hang_for=3"
    caller = threading.Thread(target=lambda: _ignore(lambda: invoke(fn, timeout=30)))
    caller.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not client.search("res.partner", [["name", "=", "Killed Mid Create"]],
                                                            context={"active_test": False}):
        time.sleep(0.1)
    fn.process.kill()
    fn.process.wait(10)
    caller.join(30)
    odoo.faults = None
    with connect(db_url) as conn:
        assert conn.execute("select status from odoo.outbox").fetchone()["status"] == "processing"
    again = serve_push(db_url)
    try:
        time.sleep(1.2)
        answer = invoke(again, lease_s=1)
        assert answer["counts"].get("found_by_ref") == 1
    finally:
        again.stop()
    assert_each_pushed_once(db_url, client, [local_id])


def _ignore(f):
    try:
        f()
    except Exception:  # noqa: BLE001 - the call dies with the function, by design
        pass
