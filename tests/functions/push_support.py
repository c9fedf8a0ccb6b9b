"""Helpers of the sync-to-odoo tests: the function served against one test database, invoked over HTTP
with the settings a test wants (the request body overrides the environment's, see _shared/push.ts)."""
from __future__ import annotations

import httpx
import pytest

from bridge.store.db import connect
from tests.functions.support import Served, db_env, serve
from tests.runtime.support import SECRET_ENV, fast_client

TOKEN = "push-function-token-0123456789"
FAST = {"retry_base_s": 0, "budget_s": 20, "odoo_timeout_s": 5, "odoo_retry_attempts": 8, "odoo_retry_base_s": 0.01,
        "odoo_retry_cap_s": 0.05}


def serve_push(db_url: str, functions=None, **env: str) -> Served:
    return serve("sync-to-odoo", {**db_env(db_url), SECRET_ENV: "admin", "SPECGEN_FUNCTION_TOKEN": TOKEN, **env},
                 functions=functions)


def invoke(fn: Served, timeout: float = 120, **body) -> dict:
    r = httpx.post(fn.url, json={**FAST, **body}, headers={"x-specgen-function-token": TOKEN}, timeout=timeout)
    assert r.status_code == 200, (r.status_code, r.text, fn.log()[-3000:])
    return r.json()


def open_rows(db_url: str) -> int:
    with connect(db_url) as conn:
        return conn.execute("select count(*) as n from odoo.outbox where status in ('pending','processing')").fetchone()["n"]


def drain(fn: Served, db_url: str, rounds: int = 20, **body) -> dict:
    """Invoke until the outbox has no open row, making backed-off rows due between invocations."""
    total: dict = {}
    for _ in range(rounds):
        answer = invoke(fn, **body)
        for k, v in answer["counts"].items():
            total[k] = total.get(k, 0) + v
        if not open_rows(db_url):
            break
        with connect(db_url) as conn:
            conn.execute("update odoo.outbox set available_at = now() where status = 'pending'")
    return total


def add_contact(db_url: str, org_id, full_name: str = "Ann Example", email: str | None = None, id: str | None = None) -> str:
    with connect(db_url) as conn:
        if id:
            conn.execute("insert into app.contacts (id, org_id, full_name, email) values (%s, %s, %s, %s)",
                         (id, org_id, full_name, email))
            return id
        return str(conn.execute("insert into app.contacts (org_id, full_name, email) values (%s, %s, %s) returning id",
                                (org_id, full_name, email)).fetchone()["id"])


# fixtures of the push tests (imported by them, as they import tests.runtime.conftest's)
@pytest.fixture
def fn(db_url):
    served = serve_push(db_url)
    yield served
    served.stop()


@pytest.fixture
def client(instance):
    c = fast_client(instance)
    yield c
    c.close()
