"""Conflict policies for shared entities: property-based convergence, plus one end-to-end merge."""
from __future__ import annotations

import datetime as dt
import time

import pytest
from hypothesis import given, settings, strategies as st

from bridge.sync import conflicts
from bridge.sync.conflicts import POLICIES, resolve
from bridge.store.db import connect
from bridge.sync.pull import pull_entity
from bridge.sync.push import Pusher
from tests.runtime.support import fast_client

FIELDS = ("name", "email", "phone")
T0 = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
SKEW = dt.timedelta(seconds=2)

edit = st.tuples(st.sampled_from(["odoo", "app"]), st.sampled_from(FIELDS), st.integers(0, 3), st.integers(0, 5))
step = edit | st.just(("sync", None, None, 0))


def sync(policy, world):
    """What pull + push do together: resolve, then apply to both sides."""
    odoo, app, base = world["odoo"], world["app"], world["base"]
    res = resolve(policy, base, dict(app), dict(odoo), local_ts=world["app_ts"], remote_ts=world["odoo_ts"], skew=SKEW)
    if res.to_push:
        odoo.update(res.to_push)
        world["odoo_ts"] = world["now"]
    app.update(res.to_local)
    world["base"] = dict(res.values)
    return res


def expected(policy, base, app, odoo, app_ts, odoo_ts):
    """The policy, stated field by field, independently of the implementation."""
    app_changed = {f for f in FIELDS if app[f] != base[f]}
    odoo_changed = {f for f in FIELDS if odoo[f] != base[f]}
    if policy == "odoo_wins":
        return dict(odoo)
    if policy == "app_wins":
        return dict(app) if app_changed else dict(odoo)
    if policy == "last_write_wins":
        if app_changed and odoo_changed:
            return dict(app) if app_ts > odoo_ts + SKEW else dict(odoo)
        return dict(app) if app_changed else dict(odoo)
    return {f: (app[f] if f in app_changed and f not in odoo_changed else odoo[f]) for f in FIELDS}


@settings(max_examples=300, deadline=None, derandomize=True)
@given(policy=st.sampled_from(POLICIES), steps=st.lists(step, max_size=25))
def test_random_interleavings_converge_as_the_policy_says(policy, steps):
    """Random Odoo and app edits with syncs in between always end with both sides equal, per the policy."""
    start = {f: 0 for f in FIELDS}
    world = {"odoo": dict(start), "app": dict(start), "base": dict(start), "odoo_ts": T0, "app_ts": T0, "now": T0}
    for side, field, value, dt_s in steps + [("sync", None, None, 0)]:
        world["now"] += dt.timedelta(seconds=dt_s)
        if side == "sync":
            want = expected(policy, world["base"], world["app"], world["odoo"], world["app_ts"], world["odoo_ts"])
            sync(policy, world)
            assert world["odoo"] == world["app"] == world["base"] == want
        else:
            world[side][field] = value
            world[f"{side}_ts"] = world["now"]
    again = sync(policy, world)
    assert not again.to_push and not again.to_local, "a second sync must change nothing"


@settings(max_examples=200, deadline=None, derandomize=True)
@given(base=st.fixed_dictionaries({f: st.integers(0, 3) for f in FIELDS}),
       app_edits=st.dictionaries(st.sampled_from(FIELDS[:1]), st.integers(4, 6)),
       odoo_edits=st.dictionaries(st.sampled_from(FIELDS[1:]), st.integers(4, 6)))
def test_field_merge_keeps_both_sides_edits_on_different_fields(base, app_edits, odoo_edits):
    """With field_merge, an app edit and an Odoo edit to different fields both survive."""
    res = resolve("field_merge", base, {**base, **app_edits}, {**base, **odoo_edits})
    assert res.values == {**base, **app_edits, **odoo_edits}


def test_last_write_wins_within_the_skew_margin_prefers_odoo():
    """Clock readings closer than the skew margin are not trusted: Odoo wins the tie."""
    base, app, odoo = {"a": 0}, {"a": 1}, {"a": 2}
    near = resolve("last_write_wins", base, app, odoo, local_ts=T0 + dt.timedelta(seconds=1), remote_ts=T0, skew=SKEW)
    far = resolve("last_write_wins", base, app, odoo, local_ts=T0 + dt.timedelta(seconds=5), remote_ts=T0, skew=SKEW)
    assert near.values == {"a": 2} and far.values == {"a": 1}


def test_unknown_policy_is_refused():
    """A typo in the policy name fails loudly instead of silently picking a winner."""
    with pytest.raises(ValueError):
        resolve("app_first", {}, {}, {})


@pytest.mark.db
def test_shared_contact_edited_on_both_sides_merges_fields(db_url, instance, adapters, odoo):
    """A contact edited in the app (phone) and in Odoo (email) ends with both edits on both sides."""
    client = fast_client(instance)
    pusher = Pusher(db_url, adapters, lambda inst: client, retry_base=0.0)
    pull_entity(db_url, instance, adapters, adapters["contact"], client)
    with connect(db_url) as conn:
        row = conn.execute("select * from app.contacts order by odoo_id limit 1").fetchone()
        conn.execute("update app.contacts set phone = '+1 555' where id = %s", (row["id"],))
    client.write("res.partner", [row["odoo_id"]], {"email": "odoo-side@example.com"})
    pull_entity(db_url, instance, adapters, adapters["contact"], client)
    pusher.run_once()
    remote = client.read("res.partner", [row["odoo_id"]], ["phone", "email"])[0]
    with connect(db_url) as conn:
        local = conn.execute("select * from app.contacts where id = %s", (row["id"],)).fetchone()
        pending = conn.execute("select count(*) as n from odoo.outbox where status <> 'done'").fetchone()["n"]
    assert remote == {"id": row["odoo_id"], "phone": "+1 555", "email": "odoo-side@example.com"}
    assert (local["phone"], local["email"]) == ("+1 555", "odoo-side@example.com") and pending == 0
    client.close()


def _last_write_wins(adapters: dict) -> dict:
    """The sync tests' adapters with the shared contact under last_write_wins (the project's is field_merge)."""
    contact = adapters["contact"]
    return {**adapters, "contact": type(contact.__name__, (contact,), {"conflict": "last_write_wins"})}


def _push_function_under_last_write_wins(db_url: str, tmp_path):
    """sync-to-odoo rendered for the sync tests' project with the contact under last_write_wins."""
    import json
    import shutil
    from tests.functions.push_support import invoke, serve_push
    from tests.functions.support import deno, functions_dir
    deno()
    copy = tmp_path / "functions"
    shutil.copytree(functions_dir(), copy)
    spec = copy / "_shared" / "spec.ts"
    head, body = spec.read_text(encoding="utf-8").split("export const SPEC = ", 1)
    data, tail = body.split(" as const\n", 1)
    doc = json.loads(data)
    (contact,) = [e for e in doc["entities"] if e["entity"] == "contact"]
    contact["conflict"] = "last_write_wins"
    spec.write_text(head + "export const SPEC = " + json.dumps(doc, indent=2) + " as const\n" + tail, encoding="utf-8")
    served = serve_push(db_url, functions=copy)
    return served, lambda: invoke(served)


@pytest.mark.db
@pytest.mark.parametrize("pusher", ["python", pytest.param("function", marks=pytest.mark.deno)])
@pytest.mark.parametrize("later", ["app", "odoo"])
def test_last_write_wins_on_push_lets_the_later_edit_win(db_url, instance, adapters, odoo, later, pusher, tmp_path):
    """Both sides edit a contact's phone, more than the skew apart: the push (the Python pusher or the
    sync-to-odoo function) keeps the later edit on both sides. The push compares the app's updated_at with
    the write_date of the record it re-reads; without that date the later app edit lost to Odoo's older one."""
    lww = _last_write_wins(adapters)
    client = fast_client(instance)
    served = None
    if pusher == "python":
        push = Pusher(db_url, lww, lambda inst: client, retry_base=0.0).run_once
    else:
        served, push = _push_function_under_last_write_wins(db_url, tmp_path)
    pull_entity(db_url, instance, lww, lww["contact"], client)
    with connect(db_url) as conn:
        row = conn.execute("select * from app.contacts order by odoo_id limit 1").fetchone()

    def app_edit():
        with connect(db_url) as conn:
            conn.execute("update app.contacts set phone = '+1 app' where id = %s", (row["id"],))

    def odoo_edit():
        client.write("res.partner", [row["odoo_id"]], {"phone": "+1 odoo"})
    first, second = (odoo_edit, app_edit) if later == "app" else (app_edit, odoo_edit)
    try:
        first()
        time.sleep(conflicts.DEFAULT_SKEW.total_seconds() + 1.2)  # Odoo's write_date has whole seconds
        second()
        push()
    finally:
        if served is not None:
            served.stop()
    remote = client.read("res.partner", [row["odoo_id"]], ["phone"])[0]["phone"]
    with connect(db_url) as conn:
        local = conn.execute("select phone from app.contacts where id = %s", (row["id"],)).fetchone()["phone"]
    assert remote == local == f"+1 {later}"
    client.close()
