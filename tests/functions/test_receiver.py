"""The webhook-receiver Edge Function under plain Deno, over real HTTP against a migrated PostgreSQL: the
Python receiver's contract (the shared cases of tests/receiver_cases.py), the same stored rows as the
Python receiver, idempotency across both, a database outage."""
from __future__ import annotations

import json
import time

import httpx
import pytest
from hypothesis import given, settings
from psycopg.types.string import TextLoader

from bridge.http.receiver import create_app
from bridge.http.serve import ThreadedServer
from bridge.settings import Settings
from bridge.store.db import connect
from tests import receiver_cases as rc
from tests.functions.support import db_env, free_port, serve
from tests.runtime.conftest import migrated_template, sync_generated  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.deno, pytest.mark.db]

GENERATED_COLUMNS = ("id", "received_at", "available_at")


@pytest.fixture(scope="module")
def database(pg_cluster, migrated_template):  # noqa: F811
    name = pg_cluster.create_database(template=migrated_template)
    yield pg_cluster.url_for(name)
    pg_cluster.drop_database(name)


@pytest.fixture(scope="module")
def function(database):
    served = serve("webhook-receiver", {**db_env(database), **rc.HMAC_ENV})
    yield served
    served.stop()


@pytest.fixture(scope="module")
def python_receiver(database):
    with ThreadedServer(create_app(database, settings=Settings(environ=rc.HMAC_ENV))) as server:
        yield server


@pytest.mark.parametrize("case", rc.BAD, ids=str)
def test_bad_input_gets_the_python_receivers_answer(function, database, case):
    rc.check_bad(function.url, database, case)


PREFIXED = {"wrong token", "not a uuid", "text/plain", "schema", "stale signature", "unknown route"}


@pytest.mark.parametrize("case", [c for c in rc.BAD if c.name in PREFIXED], ids=str)
def test_the_routes_answer_under_the_function_name_too(function, database, case):
    """Supabase hands the function /webhook-receiver/...: the same answers there."""
    rc.check_bad(function.url, database, case, prefix="/webhook-receiver")


def stored(db_url: str, instance_id) -> list[dict]:
    """The instance's events (then deleted), every column but the generated ones; the payload as the text
    PostgreSQL keeps (compared exactly, and at any depth)."""
    with connect(db_url) as conn:
        conn.adapters.register_loader("jsonb", TextLoader)
        rows = conn.execute("select * from odoo.webhook_events where instance_id = %s order by id",
                            (instance_id,)).fetchall()
        conn.execute("delete from odoo.webhook_events where instance_id = %s", (instance_id,))
    return [{k: v for k, v in r.items() if k not in GENERATED_COLUMNS} for r in rows]


@pytest.mark.parametrize("case", rc.ACCEPTED, ids=str)
def test_a_delivery_stores_the_same_row_through_either_runtime(function, python_receiver, database, case):
    """The same delivery (same instance, same signing time) to the Python receiver, then to the function:
    both answer 202 accepted and store the same row, every column but the generated id and timestamps."""
    inst = rc.instance_for(database, case)
    now = int(time.time())
    traced = any(name.lower() in ("traceparent", "x-trace-id") for name, _ in case.headers)
    extra = () if traced else (("X-Trace-Id", b"trace-" + case.name.encode()[:40]),)
    rows, answers = [], []
    for server in (python_receiver, function):
        r = rc.send(server.url, case, inst["id"], now, extra)
        assert r.status_code == 202, (server, r.text)
        answers.append(r.json())
        rows.append(stored(database, inst["id"]))
    assert [a["status"] for a in answers] == ["accepted", "accepted"]
    assert answers[0]["trace_id"] == answers[1]["trace_id"] and isinstance(answers[1]["id"], int)
    (python_row,), (function_row,) = rows
    if case.random_key:  # no write_date and unsigned: a random key, never a duplicate
        keys = [python_row.pop("idempotency_key"), function_row.pop("idempotency_key")]
        assert all(k.startswith("delivery:") and len(k) == 41 for k in keys) and keys[0] != keys[1]
    assert function_row == python_row


def test_a_repeated_idempotency_key_stores_once_across_both_runtimes(function, python_receiver, database):
    inst = rc.instance_for(database, rc.Case("repeated key"))
    url = f"/webhooks/odoo/{inst['id']}/{rc.WEBHOOK_TOKEN}"
    keyed = {"Idempotency-Key": "abc"}
    first = httpx.post(function.url + url, json=rc.EVENT, headers=keyed)
    again = [httpx.post(s.url + url, json={**rc.EVENT, "name": "Other"}, headers=keyed)
             for s in (function, python_receiver)]
    assert first.status_code == 202 and first.json()["status"] == "accepted"
    assert [(r.status_code, r.json()) for r in again] == [
        (202, {"status": "duplicate", "idempotency_key": "abc"})] * 2
    # without a key: the same change (model, id, write_date, body) is one event, whoever receives it
    plain = [httpx.post(s.url + url, json=rc.EVENT).json()["status"] for s in (python_receiver, function, function)]
    assert plain == ["accepted", "duplicate", "duplicate"]
    rows = stored(database, inst["id"])
    assert len(rows) == 2 and rows[0]["idempotency_key"] == "abc" and json.loads(rows[0]["payload"])["name"] == "Azure"


def test_lost_connections_are_replaced_without_a_failed_delivery(function, database):
    """Connections the server kills (a restart) are replaced on use: every delivery is stored."""
    inst = rc.instance_for(database, rc.Case("lost connections"))
    url = f"{function.url}/webhooks/odoo/{inst['id']}/{rc.WEBHOOK_TOKEN}"
    assert httpx.post(url, json=rc.EVENT).status_code == 202
    with connect(database, autocommit=True) as conn:
        killed = conn.execute("select count(pg_terminate_backend(pid)) as n from pg_stat_activity "
                              "where application_name = 'postgres.js' and datname = current_database()").fetchone()
    assert killed["n"] >= 1
    time.sleep(1)  # the cached instance row expires: the next delivery reads the database again
    statuses = [httpx.post(url, json={**rc.EVENT, "_id": 8 + i}).status_code for i in range(6)]
    assert statuses == [202] * 6 and len(stored(database, inst["id"])) == 7


def test_health_reports_the_database_and_the_counts(function):
    for path in ("/health", "/webhook-receiver/health"):
        r = httpx.get(function.url + path)
        body = r.json()
        assert r.status_code == 200 and (body["status"], body["database"]) == ("ok", "up")
        assert set(body) == {"status", "database", "accepted", "duplicates", "rejected", "unavailable"}


def test_database_down_is_a_503_with_retry_after_and_bad_input_still_a_4xx():
    port = free_port()  # nothing listens there
    down = serve("webhook-receiver", {"SUPABASE_DB_URL": f"postgresql://postgres@127.0.0.1:{port}/postgres",
                                      **rc.HMAC_ENV})
    try:
        iid = "3f2b8a4e-0c1d-4e5f-8a9b-0c1d2e3f4a5b"
        r = httpx.post(f"{down.url}/webhooks/odoo/{iid}/{rc.WEBHOOK_TOKEN}", json=rc.EVENT, timeout=30)
        assert r.status_code == 503 and r.headers["retry-after"] == "5"
        assert r.json() == {"error": "database unavailable; retry later"}
        health = httpx.get(f"{down.url}/health", timeout=30)
        assert health.status_code == 503 and health.headers["retry-after"] == "5"
        assert health.json()["database"] == "down" and health.json()["unavailable"] == 1
        for text in (r.text, health.text):
            assert "Error" not in text and " at " not in text and str(port) not in text
        refused = httpx.post(f"{down.url}/webhooks/odoo/{iid}/{rc.WEBHOOK_TOKEN}", content=b"{}",
                             headers={"Content-Type": "text/plain"})
        assert refused.status_code == 415
        assert httpx.post(f"{down.url}/webhooks/odoo/xyz/t", json=rc.EVENT).status_code == 404
    finally:
        down.stop()


@pytest.fixture(scope="module")
def fuzz_instance(database) -> str:
    return str(rc.instance_for(database, rc.Case("fuzz"))["id"])


@settings(max_examples=60, deadline=None, derandomize=True)
@given(body=rc.BODIES, ctype=rc.CONTENT_TYPES)
def test_no_input_ever_gets_a_5xx(function, fuzz_instance, body, ctype):
    """Whatever bytes arrive, the function answers 202 or a 4xx, never a server error."""
    r = httpx.post(f"{function.url}/webhooks/odoo/{fuzz_instance}/{rc.WEBHOOK_TOKEN}", content=body,
                   headers={"Content-Type": ctype})
    assert r.status_code in (202, 400, 401, 404, 413, 415)
