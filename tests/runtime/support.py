"""Helpers the sync tests share: a registered instance, in-process settings, a fast client, and reading
records on both sides. (Fixtures live in conftest.py and use these.)"""
from __future__ import annotations

import hashlib
import os
import uuid

from bridge.odoo.client import OdooClient
from bridge.odoo.retry import RetryPolicy
from bridge.settings import Settings
from bridge.store.db import connect
from mock_odoo.server import MockOdooServer

SECRET_ENV = "SPECGEN_TEST_ODOO_PASSWORD"
WEBHOOK_TOKEN = "test-webhook-token-0123456789"


def add_instance(url: str, odoo_url: str, *, name: str = "main", protocol: str = "jsonrpc") -> dict:
    """An org and its Odoo instance (login admin, secret in $SECRET_ENV, which the command lines the
    tests run read; in-process components get `runtime_settings()` instead)."""
    os.environ[SECRET_ENV] = "admin"
    with connect(url) as conn:
        org = conn.execute("insert into app.orgs (name, slug) values (%s, %s) returning id",
                           (f"Org {name}", f"org-{uuid.uuid4().hex[:8]}")).fetchone()["id"]
        inst = conn.execute(
            """insert into odoo.instances (org_id, name, base_url, database, login, secret_ref, protocol, webhook_token_hash)
               values (%s,%s,%s,'odoo','admin',%s,%s,%s) returning *""",
            (org, name, odoo_url, SECRET_ENV, protocol, hashlib.sha256(WEBHOOK_TOKEN.encode()).hexdigest())).fetchone()
    return dict(inst)


def runtime_settings(**environ: str) -> Settings:
    """The settings an in-process component gets in these tests: the test instances' secret (the CLI
    tests set it in the environment instead, which the CLI reads), plus ``environ``."""
    return Settings(environ={SECRET_ENV: "admin", **environ})


def fast_client(instance: dict, settings: Settings | None = None, **kw) -> OdooClient:
    """A client whose retries sleep little, so fault tests stay fast."""
    kw.setdefault("retry", RetryPolicy(attempts=8, base=0.01, cap=0.05, retry_after_cap=0.05))
    kw.setdefault("timeout", 5.0)
    return OdooClient.for_instance(instance, settings or runtime_settings(), **kw)


def odoo_records(odoo: MockOdooServer, model: str, fields: list[str], domain=None) -> dict[int, dict]:
    """Every record of a model straight from the mock (over JSON-RPC), archived included."""
    c = OdooClient(odoo.url, "odoo", "admin", "admin")
    try:
        rows = c.search_read(model, domain or [], fields + ["write_date"], context={"active_test": False})
    finally:
        c.close()
    return {r["id"]: r for r in rows}


def table_rows(url: str, table: str, instance_id) -> dict[int, dict]:
    with connect(url) as conn:
        rows = conn.execute(f"select * from {table} where instance_id = %s", (instance_id,)).fetchall()
    return {r["odoo_id"]: r for r in rows}
