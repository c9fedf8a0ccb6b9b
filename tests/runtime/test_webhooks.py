"""Webhook receiver over real HTTP and the event processor against the mock Odoo."""
from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings

from bridge.settings import Settings
from bridge.store.db import connect
from bridge.sync.processor import Processor
from bridge.sync.pull import pull_entity
from bridge.http.receiver import create_app
from bridge.http.serve import ThreadedServer
from tests import receiver_cases
from tests.runtime.support import WEBHOOK_TOKEN, fast_client, table_rows

pytestmark = pytest.mark.db


@pytest.fixture
def receiver(db_url):
    keys = Settings(environ={"SPECGEN_WEBHOOK_HMAC_SECRET": "proxy-secret"})
    with ThreadedServer(create_app(db_url, max_body=4096, settings=keys)) as server:
        yield server


def hook_url(receiver, instance, token=WEBHOOK_TOKEN):
    return f"{receiver.url}/webhooks/odoo/{instance['id']}/{token}"


def count_events(db_url):
    with connect(db_url) as conn:
        return conn.execute("select count(*) as n from odoo.webhook_events").fetchone()["n"]


EVENT = {"_action": "Send Webhook Notification(#2)", "_id": 7, "_model": "res.partner", "id": 7,
         "name": "Azure", "write_date": "2024-05-01 10:00:00"}


def test_valid_event_is_stored_once_and_duplicates_are_acknowledged(receiver, instance, db_url):
    """Odoo retries or double sends never create two events, and both answers are 202."""
    r1 = httpx.post(hook_url(receiver, instance), json=EVENT)
    r2 = httpx.post(hook_url(receiver, instance), json=EVENT)
    r3 = httpx.post(hook_url(receiver, instance), json=EVENT, headers={"Idempotency-Key": "abc"})
    assert (r1.status_code, r2.status_code, r3.status_code) == (202, 202, 202)
    assert r2.json()["status"] == "duplicate"
    with connect(db_url) as conn:
        rows = conn.execute("select * from odoo.webhook_events order by id").fetchall()
    assert len(rows) == 2 and rows[0]["odoo_id"] == 7 and rows[0]["payload"]["name"] == "Azure"
    assert rows[1]["idempotency_key"] == "abc"


@pytest.fixture(scope="module")
def cases_receiver(pg_cluster, migrated_template):
    """One receiver with the default limits and the cases' keys, on a database of the module's own."""
    name = pg_cluster.create_database(template=migrated_template)
    url = pg_cluster.url_for(name)
    with ThreadedServer(create_app(url, settings=Settings(environ=receiver_cases.HMAC_ENV))) as server:
        yield server, url
    pg_cluster.drop_database(name)


@pytest.mark.parametrize("case", receiver_cases.BAD, ids=str)
def test_bad_requests_get_4xx_and_store_nothing(cases_receiver, case):
    """Bad webhook calls are refused with the right 4xx and body, and nothing is stored (the cases, shared
    with the webhook-receiver Edge Function's tests, are in tests/receiver_cases.py)."""
    server, url = cases_receiver
    receiver_cases.check_bad(server.url, url, case)


def test_the_configured_body_limit_applies(receiver, instance, db_url):
    """`--max-body`: a receiver made with a 4096-byte limit refuses a 5000-byte event."""
    r = httpx.post(hook_url(receiver, instance), json={**EVENT, "comment": "x" * 5000})
    assert r.status_code == 413 and r.json() == {"error": "body larger than 4096 bytes"}
    assert count_events(db_url) == 0


def test_hmac_signature_from_a_signing_proxy(receiver, instance, db_url):
    """A proxy-signed event is accepted; a bad or stale signature is refused."""
    body = orjson.dumps(EVENT)
    url = f"{receiver.url}/webhooks/odoo/{instance['id']}"

    def send(ts, secret=b"proxy-secret"):
        sig = hmac.new(secret, str(ts).encode() + b"." + body, hashlib.sha256).hexdigest()
        return httpx.post(url, content=body, headers={"Content-Type": "application/json",
                                                      "X-Specgen-Timestamp": str(ts), "X-Specgen-Signature": f"sha256={sig}"})
    assert send(int(time.time())).status_code == 202
    assert send(int(time.time()) - 3600).status_code == 401
    assert send(int(time.time()), secret=b"wrong").status_code == 401
    assert count_events(db_url) == 1


def test_an_instance_with_its_own_hmac_key_accepts_only_that_key(db_url, instance):
    """Tenant isolation for signed webhooks: an instance that names its own key (instance add
    --webhook-hmac-secret-env) refuses the receiver's shared key and another instance's key; an
    instance that names none keeps using the shared key; a named but unset key refuses everything."""
    from tests.runtime.support import add_instance
    keys = Settings(environ={"SPECGEN_WEBHOOK_HMAC_SECRET": "shared-key", "ACME_WEBHOOK_KEY": "acme-key"})
    other = add_instance(db_url, "http://127.0.0.1:9", name="other")
    with connect(db_url) as conn:
        conn.execute("update odoo.instances set webhook_hmac_secret_ref = 'ACME_WEBHOOK_KEY' where id = %s", (instance["id"],))
    body = orjson.dumps(EVENT)

    def send(server, inst, secret: bytes) -> int:
        ts = str(int(time.time()))
        sig = hmac.new(secret, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        return httpx.post(f"{server.url}/webhooks/odoo/{inst['id']}", content=body, headers={
            "Content-Type": "application/json", "X-Specgen-Timestamp": ts, "X-Specgen-Signature": f"sha256={sig}"}).status_code
    with ThreadedServer(create_app(db_url, settings=keys)) as server:
        assert send(server, instance, b"shared-key") == 401
        assert send(server, instance, b"acme-key") == 202
        assert send(server, other, b"acme-key") == 401  # another tenant's proxy key
        assert send(server, other, b"shared-key") == 202  # no key of its own: the shared one
        with connect(db_url) as conn:
            conn.execute("update odoo.instances set webhook_hmac_secret_ref = 'UNSET_WEBHOOK_KEY' where id = %s",
                         (other["id"],))
    with ThreadedServer(create_app(db_url, settings=keys)) as server:  # a new receiver: no cached rows
        assert send(server, other, b"shared-key") == 401 and send(server, other, b"") == 401
    with connect(db_url) as conn:
        assert conn.execute("select count(*) as n from odoo.webhook_events").fetchone()["n"] == 2


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=receiver_cases.BODIES, ctype=receiver_cases.CONTENT_TYPES)
def test_no_input_ever_gets_a_5xx(receiver, instance, body, ctype):
    """Whatever bytes arrive, the receiver answers 202 or a 4xx, never a server error."""
    r = httpx.post(hook_url(receiver, instance), content=body, headers={"Content-Type": ctype})
    assert r.status_code in (202, 400, 401, 404, 413, 415)


def test_lost_pool_connections_are_replaced_without_a_failed_delivery(receiver, instance, db_url):
    """Pooled connections killed by the server are replaced on use: the database is up, so every
    delivery is stored (a real outage, 503 + Retry-After, is in test_faults.py)."""
    assert httpx.post(hook_url(receiver, instance), json=EVENT).status_code == 202
    with connect(db_url, autocommit=True) as conn:
        conn.execute("select pg_terminate_backend(pid) from pg_stat_activity "
                     "where application_name = 'specgen-webhooks'")
    statuses = [httpx.post(hook_url(receiver, instance), json={**EVENT, "_id": 8 + i}).status_code for i in range(6)]
    assert statuses == [202] * 6
    accepted = 1 + statuses.count(202)
    assert count_events(db_url) == accepted, "every 202 must be a stored event"
    assert httpx.get(f"{receiver.url}/health").json()["database"] == "up"


def test_odoo_webhooks_become_rows_and_unlinks_become_tombstones(receiver, instance, db_url, adapters, odoo):
    """An edit and a delete in Odoo reach the mirror through webhook + processor, without a pull."""
    client = fast_client(instance)
    gone = client.create("res.partner", {"name": "Dies By Webhook"})
    pull_entity(db_url, instance, adapters, adapters["partner"], client)
    odoo.webhooks.configure(urls=[hook_url(receiver, instance)], models=["res.partner"])
    pid = client.search("res.partner", [["is_company", "=", True]], limit=1)[0]
    client.write("res.partner", [pid], {"city": "Webhook City"})
    new_id = client.create("res.partner", {"name": "Born By Webhook"})
    client.unlink("res.partner", [gone])
    assert odoo.webhooks.wait_idle(10)
    proc = Processor(db_url, adapters, lambda inst: client)
    counts = proc.run_once()
    assert counts["processed"] == 3
    rows = table_rows(db_url, "odoo.partners", instance["id"])
    assert rows[pid]["city"] == "Webhook City" and rows[new_id]["name"] == "Born By Webhook"
    assert rows[gone]["odoo_deleted_at"] is not None
    with connect(db_url) as conn:
        assert conn.execute("select count(*) as n from odoo.webhook_events where status <> 'done'").fetchone()["n"] == 0
    client.close()


def test_one_unstorable_event_does_not_fail_the_events_batched_with_it(receiver, instance, db_url):
    """Under concurrency, events share INSERTs; an event PostgreSQL refuses (NUL in JSON) gets 400 alone."""
    from concurrent.futures import ThreadPoolExecutor
    bodies = [json.dumps({**EVENT, "_id": 100 + i}).encode() for i in range(30)]
    bodies.insert(15, b'{"_model": "res.partner", "_id": 5, "name": "nul \\u0000 here"}')
    with httpx.Client() as http, ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(lambda b: http.post(hook_url(receiver, instance), content=b,
                                                       headers={"Content-Type": "application/json"}).status_code, bodies))
    assert statuses.count(202) == 30 and statuses[15] == 400
    assert count_events(db_url) == 30


def test_notifications_without_fields_are_never_filed_as_duplicates(receiver, instance, db_url):
    """Odoo 17's webhook action adds only the fields chosen on it, none by default (ir_actions.py
    `_run_action_webhook`): every change of partner 7 then posts the same body. Each is a change."""
    bare = {"_action": "Send Webhook Notification(#2)", "_id": 7, "_model": "res.partner"}
    before = count_events(db_url)
    answers = [httpx.post(hook_url(receiver, instance), json=bare).json()["status"] for _ in range(3)]
    assert answers == ["accepted"] * 3 and count_events(db_url) == before + 3
    # a body that names its change (write_date, with Odoo's microseconds) is still deduplicated
    named = {**bare, "id": 7, "write_date": "2024-05-01 10:00:00.123456"}
    assert [httpx.post(hook_url(receiver, instance), json=named).json()["status"] for _ in range(2)] == \
        ["accepted", "duplicate"]
