"""The same outbox drained by the Python pusher and by sync-to-odoo leaves the same database state: two
databases from one template, two mock Odoos with the same demo data, the same app changes (same ids); one
drained by Python, the other by the function; then mappings, outbox, dead letters, app rows and the Odoo
records are compared, every column but generated ids and timestamps."""
from __future__ import annotations

import os

import pytest

from bridge.adapters import values_hash
from bridge.store.db import connect
from bridge.sync.pull import pull_entity
from bridge.sync.push import Pusher
from mock_odoo.server import MockOdooServer
from tests.functions.push_support import drain, serve_push
from tests.runtime.conftest import adapters, migrated_template, sync_generated  # noqa: F401 (fixtures)
from tests.runtime.support import SECRET_ENV, fast_client

pytestmark = [pytest.mark.deno, pytest.mark.db]

IDS = [f"00000000-0000-4000-8000-{i:012d}" for i in range(1, 9)]
ORG = "11111111-1111-4111-8111-111111111111"
INSTANCE = "22222222-2222-4222-8222-222222222222"


def world(pg_cluster, template, odoo, adapters) -> tuple[str, dict, dict]:
    """A database whose org and instance have fixed ids, contacts pulled, then the same app changes."""
    os.environ[SECRET_ENV] = "admin"
    url = pg_cluster.url_for(pg_cluster.create_database(template=template))
    with connect(url) as conn:  # fixed ids, so both worlds compare row for row
        conn.execute("insert into app.orgs (id, name, slug) values (%s, 'Org main', 'org-main')", (ORG,))
        inst = dict(conn.execute(
            "insert into odoo.instances (id, org_id, name, base_url, database, login, secret_ref, protocol) "
            "values (%s, %s, 'main', %s, 'odoo', 'admin', %s, 'jsonrpc') returning *",
            (INSTANCE, ORG, odoo.url, SECRET_ENV)).fetchone())
    client = fast_client(inst)
    pull_entity(url, inst, adapters, adapters["partner"], client)
    pull_entity(url, inst, adapters, adapters["contact"], client)
    with connect(url) as conn:  # pulled rows get random ids: named by their Odoo id to compare them
        names = {str(r["id"]): f"{r['t']}:{r['odoo_id']}" for r in conn.execute(
            "select id, odoo_id, 'contact' as t from app.contacts union all "
            "select id, odoo_id, 'partner' from odoo.partners").fetchall()}
    # Odoo edits a pulled contact (a conflict), and deletes another one the app will edit (a dead letter)
    with connect(url) as conn:
        pulled = conn.execute("select id::text as id, odoo_id from app.contacts order by odoo_id limit 3").fetchall()
    client.write("res.partner", [pulled[0]["odoo_id"]], {"phone": "+32 ODOO"})
    client.unlink("res.partner", [pulled[1]["odoo_id"]])
    client.close()
    with connect(url) as conn:
        conn.execute("select set_config('specgen.trace_id', 'parity0000000000000000000000000a', false)")
        for i, cid in enumerate(IDS):
            conn.execute("insert into app.contacts (id, org_id, full_name, email, notes) values (%s, %s, %s, %s, %s)",
                         (cid, ORG, f"Same {i}", f"same{i}@example.com", "two\nlines & more" if i % 2 else None))
        conn.execute("update app.contacts set phone = '+1 555' where id = any(%s::uuid[])", (IDS[:3],))
        conn.execute("delete from app.contacts where id = %s", (IDS[3],))
        conn.execute("update app.contacts set email = 'app@example.com' where id = %s", (pulled[0]["id"],))
        conn.execute("update app.contacts set email = 'gone@example.com' where id = %s", (pulled[1]["id"],))
        conn.execute("update app.contacts set company_id = (select id from odoo.partners where is_company "
                     "order by odoo_id limit 1) where id = %s", (IDS[4],))
        conn.execute("delete from app.contacts where id = %s", (pulled[2]["id"],))
        # a row queued for an instance of another org: refused, a dead letter
        other = conn.execute("insert into app.orgs (id, name, slug) values ('33333333-3333-4333-8333-333333333333', "
                             "'Other', 'other-org') returning id").fetchone()["id"]
        conn.execute("update app.contacts set org_id = %s where id = %s", (other, IDS[5]))
    return url, inst, names


def named(value, names: dict):
    """`value` with every random local id replaced by its stable name (in texts too: reasons name them)."""
    if isinstance(value, dict):
        return {k: named(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [named(v, names) for v in value]
    if value is not None and not isinstance(value, (int, float, bool)):
        text = str(value)
        for uid, name in names.items():
            text = text.replace(uid, name)
        return text
    return value


def state(url: str, odoo: MockOdooServer, names: dict) -> dict:
    def rows(conn, sql):
        return [dict(r) for r in conn.execute(sql).fetchall()]
    with connect(url) as conn:
        out = {
            "mappings": rows(conn, "select instance_id, entity, local_id, odoo_model, odoo_id, odoo_write_date, "
                                   "synced_hash, synced_values from odoo.entity_mappings order by local_id"),
            "outbox": rows(conn, "select id, instance_id, entity, local_id, operation, "
                                 "payload - 'created_at' - 'updated_at' - 'synced_at' as payload, status, attempts, "
                                 "claimed_by is null as unclaimed, last_error, trace_id from odoo.outbox order by id"),
            "dead_letters": rows(conn, "select source, instance_id, entity, odoo_model, record_ref, "
                                       "payload #- '{row,created_at}' #- '{row,updated_at}' #- '{row,synced_at}' as payload, reason, "
                                       "error_class, attempts, trace_id, replayed_at from odoo.dead_letters order by id"),
            "contacts": rows(conn, "select id, org_id, full_name, email, phone, company_id, notes, instance_id, odoo_id, "
                                   "odoo_deleted_at is not null as tombstone from app.contacts order by id"),
            "outbox_open": rows(conn, "select count(*) from odoo.outbox where status in ('pending', 'processing')"),
            "push_steps": rows(conn, "select e.event, e.level, e.trace_id, e.data - 'duration_s' as data "
                                     "from ops.run_events e join ops.runs r on r.id = e.run_id "
                                     "where r.kind = 'push' and e.event not like 'push %' order by e.id"),
        }
    c = fast_client({"base_url": odoo.url, "database": "odoo", "login": "admin", "secret_ref": SECRET_ENV,
                     "protocol": "jsonrpc", "id": INSTANCE})
    out["odoo_records"] = sorted(c.search_read("res.partner", [], ["name", "email", "phone", "ref", "parent_id", "comment",
                                                           "active"], context={"active_test": False}),
                         key=lambda r: r["id"])
    c.close()
    # records the push created are named by their ref: the Python pusher works a claim in RETURNING's order,
    # which is not the outbox's, so the same creates may get other ids
    created = {r["id"]: r["ref"] for r in out["odoo_records"] if (r["ref"] or "").startswith("specgen:")}
    for table in ("mappings", "contacts"):
        for r in out[table]:
            r["odoo_id"] = created.get(r["odoo_id"], r["odoo_id"])
    for r in out["push_steps"]:
        if "odoo_id" in r["data"]:
            r["data"]["odoo_id"] = created.get(r["data"]["odoo_id"], r["data"]["odoo_id"])
    for r in out["odoo_records"]:
        r["id"] = created.get(r["id"], r["id"])
        if r["parent_id"]:
            r["parent_id"] = [created.get(r["parent_id"][0], r["parent_id"][0]), r["parent_id"][1]]
    out["odoo_records"].sort(key=str)
    out["push_steps"].sort(key=lambda r: r["data"].get("outbox_id") or 0)
    for r in out["mappings"]:  # the hash is of the values as they are (random ids included): checked, not compared
        r["synced_hash"] = r["synced_hash"] == values_hash(r["synced_values"])
    out = named(out, names)
    for key in ("mappings", "contacts", "dead_letters"):
        out[key].sort(key=str)
    return out


def test_the_function_leaves_the_state_the_python_pusher_leaves(pg_cluster, migrated_template, adapters):
    with MockOdooServer(demo=20) as odoo_py, MockOdooServer(demo=20) as odoo_fn:
        url_py, inst_py, names_py = world(pg_cluster, migrated_template, odoo_py, adapters)
        url_fn, _, names_fn = world(pg_cluster, migrated_template, odoo_fn, adapters)
        client = fast_client(inst_py)
        pusher = Pusher(url_py, adapters, lambda inst: client, retry_base=0.0)
        for _ in range(10):
            if not pusher.run_once(limit=200)["claimed"]:
                break
        client.close()
        fn = serve_push(url_fn)
        try:
            drain(fn, url_fn)
        finally:
            fn.stop()
        python, function = state(url_py, odoo_py, names_py), state(url_fn, odoo_fn, names_fn)
    assert python["outbox_open"] == [{"count": 0}]
    assert len(python["dead_letters"]) == 2 and len(python["mappings"]) > len(IDS)
    for key in python:
        if function[key] != python[key]:
            import pprint; pprint.pprint([(a, b) for a, b in zip(python[key], function[key]) if a != b][:3], width=200)
        assert function[key] == python[key], key
