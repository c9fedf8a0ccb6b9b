"""Helpers of the sync-from-odoo tests: databases with the same org and instance ids (so rows compare
column by column), the function served against one, invoked over HTTP, and the comparison of two databases'
mirrors with generated uuids mapped to Odoo ids."""
from __future__ import annotations

import hashlib
import os
import uuid

import httpx

from bridge.adapters import canonical_json
from bridge.store.db import connect
from tests.functions.support import db_env, serve
from tests.runtime.support import SECRET_ENV, WEBHOOK_TOKEN

TOKEN = "function-token-for-the-tests-0123456789"
ORG_ID = uuid.UUID("11111111-1111-4111-8111-111111111111")
INSTANCE_ID = uuid.UUID("22222222-2222-4222-8222-222222222222")
FAST_ODOO = {"SPECGEN_ODOO_RETRY_BASE_S": "0.01", "SPECGEN_ODOO_RETRY_CAP_S": "0.05", "SPECGEN_ODOO_RETRY_ATTEMPTS": "8",
             "SPECGEN_ODOO_TIMEOUT_S": "5", "SPECGEN_FUNCTION_RETRY_BASE_S": "0"}
MIRRORS = ("odoo.partners", "odoo.products", "odoo.sale_orders", "odoo.sale_order_lines", "odoo.invoices", "app.contacts")
GENERATED = {"id", "synced_at", "created_at", "updated_at"}


def add_fixed_instance(url: str, odoo_url: str, *, org_id=ORG_ID, instance_id=INSTANCE_ID) -> dict:
    """The org and instance of tests.runtime.support.add_instance, with fixed ids."""
    os.environ[SECRET_ENV] = "admin"
    with connect(url) as conn:
        conn.execute("insert into app.orgs (id, name, slug) values (%s, 'Org main', %s)", (org_id, f"org-{org_id.hex[:8]}"))
        inst = conn.execute(
            """insert into odoo.instances (id, org_id, name, base_url, database, login, secret_ref, protocol, webhook_token_hash)
               values (%s,%s,'main',%s,'odoo','admin',%s,'jsonrpc',%s) returning *""",
            (instance_id, org_id, odoo_url, SECRET_ENV, hashlib.sha256(WEBHOOK_TOKEN.encode()).hexdigest())).fetchone()
    return dict(inst)


def serve_pull(db_url: str, functions=None, **env: str):
    """sync-from-odoo of `functions` (else the sync tests' project) against db_url."""
    return serve("sync-from-odoo", {**db_env(db_url), "SPECGEN_FUNCTION_TOKEN": TOKEN, SECRET_ENV: "admin",
                                    **FAST_ODOO, **env}, functions=functions)


def invoke(function, **body) -> dict:
    r = httpx.post(function.url, json=body, headers={"x-specgen-function-token": TOKEN}, timeout=300)
    assert r.status_code == 200, r.text + "\n" + function.log()[-4000:]
    return r.json()


def pull_until_done(function, limit: int = 200, **body) -> list[dict]:
    answers = []
    for _ in range(limit):
        answers.append(invoke(function, **body))
        if answers[-1]["status"] == "done":
            return answers
    raise AssertionError(f"still more to do after {limit} invocations: {answers[-1]}")


def _uuid(value):
    try:
        return uuid.UUID(value) if isinstance(value, str) else None
    except ValueError:
        return None


def uuid_columns(conn, table: str) -> list[str]:
    schema, name = table.split(".")
    return [r["column_name"] for r in conn.execute(
        "select column_name from information_schema.columns where table_schema = %s and table_name = %s "
        "and data_type = 'uuid'", (schema, name)).fetchall()]


def snapshot(url: str) -> dict:
    """Every mirror row by (table, odoo_id), every column but the generated ones, references to other rows
    as the target's odoo_id; the dead letters, cursors and shared mappings likewise."""
    with connect(url) as conn:
        odoo_of: dict = {}
        tables = {}
        for t in MIRRORS:
            rows = conn.execute(f"select * from {t}").fetchall()
            tables[t] = rows
            odoo_of.update({r["id"]: (t, r["odoo_id"]) for r in rows})
        out: dict = {}
        for t, rows in tables.items():
            refs = set(uuid_columns(conn, t)) - {"id", "org_id", "instance_id"}
            out[t] = {r["odoo_id"]: {k: (odoo_of.get(v, ("?", v)) if k in refs and v is not None else v)
                                     for k, v in r.items() if k not in GENERATED} for r in rows}
        out["dead_letters"] = sorted(
            (d["source"], d["entity"], d["odoo_model"], d["record_ref"], d["reason"], d["error_class"], d["attempts"],
             repr(sorted(d["payload"].items())) if isinstance(d["payload"], dict) else repr(d["payload"]))
            for d in conn.execute("select * from odoo.dead_letters").fetchall())
        out["cursors"] = sorted((c["entity"], c["odoo_model"], c["last_write_date"], c["last_id"], c["odoo_head_write_date"])
                                for c in conn.execute("select * from odoo.sync_cursors").fetchall())
        mappings = conn.execute("select * from odoo.entity_mappings").fetchall()
        for m in mappings:  # the hash is of the values as stored (their uuids differ between databases)
            values = {k: v for k, v in (m["synced_values"] or {}).items() if k != "_links"}
            assert m["synced_hash"] == hashlib.sha256(canonical_json(values)).hexdigest()
        out["mappings"] = sorted((m["entity"], m["odoo_model"], m["odoo_id"], odoo_of.get(m["local_id"]), m["odoo_write_date"],
                                  repr(sorted((k, odoo_of.get(_uuid(v), v)) for k, v in (m["synced_values"] or {}).items())))
                                 for m in mappings)
        out["outbox"] = conn.execute("select count(*) as n from odoo.outbox").fetchone()["n"]
    return out
