"""The receiver against strangers, over real HTTP and real sockets: bounded /metrics, odd instance ids,
replayed signed deliveries, stalled requests, revoked tokens (issue 13, points 8 and 9)."""
from __future__ import annotations

import hashlib
import hmac
import random
import socket
import time
import uuid

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bridge.settings import Settings
from bridge.store.db import connect, webhook_token_hash
from bridge.http.receiver import create_app
from bridge.http.serve import ThreadedServer
from tests.runtime.support import WEBHOOK_TOKEN

pytestmark = pytest.mark.db

EVENT = {"_id": 7, "_model": "res.partner", "id": 7, "name": "Azure", "write_date": "2024-05-01 10:00:00"}


def series(text: str, prefix: str) -> set[tuple]:
    return {(s.name, tuple(sorted(s.labels.items()))) for f in text_string_to_metric_families(text)
            for s in f.samples if s.name.startswith(prefix)}


def test_random_paths_leave_metrics_bounded(db_url, instance):
    """Thousands of requests with random instance ids, tokens and paths add only series whose labels
    are known instance ids, "unknown", route templates and status classes."""
    rng = random.Random(13)
    inst = str(instance["id"])
    with ThreadedServer(create_app(db_url)) as server, httpx.Client(base_url=server.url, timeout=10) as http:
        before = http.get("/metrics").text
        for i in range(2000):
            kind = i % 4
            if kind == 0:
                path = f"/webhooks/odoo/{uuid.UUID(int=rng.getrandbits(128))}/{rng.getrandbits(64):x}"
            elif kind == 1:
                path = f"/webhooks/odoo/{rng.getrandbits(64):x}/{rng.getrandbits(64):x}"
            elif kind == 2:
                path = f"/{rng.getrandbits(64):x}/{rng.getrandbits(32):x}"
            else:
                path = f"/webhooks/odoo/{inst}/{rng.getrandbits(64):x}"
            assert http.post(path, json=EVENT).status_code in (401, 404)
        after = http.get("/metrics").text
    new_hooks = series(after, "specgen_webhook_events_total") - series(before, "specgen_webhook_events_total")
    assert {labels for _, labels in new_hooks} <= {
        (("instance", i), ("outcome", o)) for i in (inst, "unknown") for o in ("received", "rejected")}
    assert {dict(labels)["instance"] for _, labels in series(after, "specgen_webhook_events_total")} <= \
        {inst, "unknown"} | {dict(labels)["instance"] for _, labels in series(before, "specgen_webhook_events_total")}
    routes = {dict(labels)["route"] for _, labels in series(after, "specgen_http_requests_total")}
    assert routes <= {"/webhooks/odoo/{instance_id}/{token}", "/webhooks/odoo/{instance_id}", "/health", "/metrics",
                      "unmatched"}
    assert {dict(labels)["status_class"] for _, labels in series(after, "specgen_http_requests_total")} <= \
        {"2xx", "4xx", "5xx"}
    assert len(after) - len(before) < 3000, "the exposition grew with the random paths"


def _signed(body: bytes, secret: bytes, key: str | None = None, ts: int | None = None) -> dict:
    ts = str(ts or int(time.time()))
    message = ts.encode() + b"." + (key.encode() + b"\n" if key is not None else b"") + body
    sig = hmac.new(secret, message, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Specgen-Timestamp": ts, "X-Specgen-Signature": f"sha256={sig}"}


def test_a_signed_delivery_cannot_be_replayed_under_a_new_idempotency_key(db_url, instance, monkeypatch):
    """An unsigned Idempotency-Key on a signed delivery is ignored (the key comes from the signed body);
    a key the signature covers is honoured."""
    body = orjson.dumps(EVENT)
    settings = Settings(environ={"SPECGEN_WEBHOOK_HMAC_SECRET": "proxy-secret"})
    with ThreadedServer(create_app(db_url, settings=settings)) as server:
        url = f"{server.url}/webhooks/odoo/{instance['id']}"
        headers = _signed(body, b"proxy-secret")
        first = httpx.post(url, content=body, headers=headers)
        replays = [httpx.post(url, content=body, headers={**headers, "Idempotency-Key": f"replay-{i}"})
                   for i in range(3)]
        assert first.status_code == 202 and first.json()["status"] == "accepted"
        assert [r.json()["status"] for r in replays] == ["duplicate"] * 3
        other = orjson.dumps({**EVENT, "name": "Signed key"})
        keyed = httpx.post(url, content=other,
                           headers={**_signed(other, b"proxy-secret", key="proxy-42"), "Idempotency-Key": "proxy-42"})
        assert keyed.status_code == 202 and keyed.json()["status"] == "accepted"
        forged = httpx.post(url, content=other,
                            headers={**_signed(other, b"proxy-secret", key="proxy-42"), "Idempotency-Key": "proxy-43"})
        assert forged.status_code == 401  # the signature covers another key, and is no old-style signature
    with connect(db_url) as conn:
        keys = [r["idempotency_key"] for r in conn.execute("select idempotency_key from odoo.webhook_events order by id")]
    assert len(keys) == 2 and keys[0].startswith("sha256:") and keys[1] == "proxy-42"


def test_stalled_requests_are_closed_after_the_read_timeout(db_url, instance):
    """150 connections that stall (mid-body, mid-headers, or silent) are all closed within the read
    timeout plus a margin, while a normal request still gets through."""
    with ThreadedServer(create_app(db_url), read_timeout=1.0) as server:
        socks = []
        head = (f"POST /webhooks/odoo/{instance['id']}/{WEBHOOK_TOKEN} HTTP/1.1\r\nHost: x\r\n"
                "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"_model\": ").encode()
        for i in range(150):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            s.sendall([head, b"POST /webhooks/odoo/", b""][i % 3])
            socks.append(s)
        assert httpx.post(f"{server.url}/webhooks/odoo/{instance['id']}/{WEBHOOK_TOKEN}", json=EVENT).status_code == 202
        t0 = time.monotonic()
        answers = []
        for s in socks:
            s.settimeout(max(0.1, 6 - (time.monotonic() - t0)))
            data = b""
            try:
                while chunk := s.recv(4096):
                    data += chunk
            except TimeoutError:
                data = None
            answers.append(data)
            s.close()
        elapsed = time.monotonic() - t0
    assert None not in answers, f"{answers.count(None)} of 150 stalled connections were still open"
    assert all(a.startswith(b"HTTP/1.1 408") for a in answers if a)
    assert elapsed < 6


def test_a_revoked_token_stops_working_within_a_second(db_url, instance):
    with ThreadedServer(create_app(db_url)) as server:
        url = f"{server.url}/webhooks/odoo/{instance['id']}/{WEBHOOK_TOKEN}"
        assert httpx.post(url, json=EVENT).status_code == 202
        with connect(db_url) as conn:
            conn.execute("update odoo.instances set webhook_token_hash = %s where id = %s",
                         (webhook_token_hash("a-new-token-0123456789"), instance["id"]))
        time.sleep(1.0)
        assert httpx.post(url, json={**EVENT, "_id": 8}).status_code == 401
