"""The sync health dashboard over real HTTP against a real PostgreSQL: access control (token, service-role
JWT, session cookie + CSRF), what the pages and the JSON API show, replay, escaping, a dead database.
The headless-browser run is in test_chaos.py."""
from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
import time

import httpx
import orjson
import pytest

from bridge.store import deadletters
from bridge.http.dashboard import Auth, create_app
from bridge.http.dashboard.auth import Throttle, verify_service_role_jwt
from bridge.store.db import connect
from bridge.store.runs import Run
from bridge.http.serve import ThreadedServer
from tests.specgen_cli import specgen
from tests.runtime.support import add_instance
from tests.runtime.helpers import ROOT

pytestmark = pytest.mark.db

TOKEN = "dashboard-test-token-0123456789"
JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"


def jwt(payload: dict, secret: str = JWT_SECRET, alg: str = "HS256") -> str:
    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    head, body = b64(orjson.dumps({"alg": alg, "typ": "JWT"})), b64(orjson.dumps(payload))
    sig = b64(hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()) if alg == "HS256" else ""
    return f"{head}.{body}.{sig}"


@pytest.fixture
def seeded(db_url):
    """An instance, a succeeded and a failed pull, two open dead letters (one with HTML in its reason),
    and 100 processed webhook events whose event-to-row latencies are 10, 20, ..., 1000 ms."""
    instance = add_instance(db_url, "http://127.0.0.1:9")
    with Run(db_url, "pull", instance["id"], "partner") as run:
        run.counts["read"] = 5
    with pytest.raises(RuntimeError), Run(db_url, "pull", instance["id"], "product"):
        raise RuntimeError("Odoo said no")
    with connect(db_url) as conn:
        letters = [deadletters.add(conn, source="pull", instance_id=instance["id"], entity="partner",
                                   odoo_model="res.partner", record_ref=oid, payload={"id": oid, "password": "hunter2"},
                                   reason=reason, error_class="ValidationError", attempts=1, trace_id=f"{oid:032x}")[0]
                   for oid, reason in ((7, "vat: too long"), (8, "<script>alert('x')</script> name: bad"))]
        conn.execute(
            """insert into odoo.webhook_events (instance_id, idempotency_key, odoo_model, odoo_id, payload, status,
                                                received_at, processed_at, trace_id)
               select %s, 'k' || g, 'res.partner', g, '{}', 'done', now() - interval '1 minute',
                      now() - interval '1 minute' + make_interval(secs => g / 100.0), md5(g::text)
               from generate_series(1, 100) g""", (instance["id"],))
        conn.commit()
    return {"instance": instance, "letters": letters, "url": db_url}


@pytest.fixture
def dash(seeded):
    with ThreadedServer(create_app(seeded["url"], Auth(token=TOKEN, jwt_secret=JWT_SECRET, throttle=Throttle(limit=100)))) as server:
        with httpx.Client(base_url=server.url, follow_redirects=False, timeout=10) as http:
            yield http, seeded


def sign_in(http) -> str:
    r = http.post("/login", data={"token": TOKEN, "next": "/"})
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    page = http.get("/dead-letters").text
    return re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)


def test_every_page_needs_the_token_or_the_service_role_key(dash):
    http, seeded = dash
    r = http.get("/")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2F"
    assert http.get("/dead-letters?state=all").headers["location"] == "/login?next=%2Fdead-letters%3Fstate%3Dall"
    assert http.get("/api/health").status_code == 401
    assert http.get("/api/health", headers={"authorization": "Bearer wrong"}).status_code == 401
    now = time.time()
    refused = {
        "anon role": jwt({"role": "anon", "exp": now + 60}),
        "expired": jwt({"role": "service_role", "exp": now - 1}),
        "other secret": jwt({"role": "service_role"}, secret="not-the-secret"),
        "alg none": jwt({"role": "service_role"}, alg="none"),
        "garbage": "a.b.c",
    }
    for name, token in refused.items():
        assert http.get("/api/summary", headers={"authorization": f"Bearer {token}"}).status_code == 401, name
    for token in (TOKEN, jwt({"role": "service_role", "exp": now + 60})):
        r = http.get("/api/health", headers={"authorization": f"Bearer {token}"})
        assert r.status_code == 200
    assert r.headers["content-security-policy"].startswith("default-src 'none'")
    assert http.get("/healthz").status_code == 200  # liveness only, no data


def test_json_api_shows_what_the_database_holds(dash):
    http, seeded = dash
    auth = {"authorization": f"Bearer {TOKEN}"}
    with connect(seeded["url"]) as conn:
        view = {(r["instance"], r["entity"]): r for r in conn.execute("select * from ops.sync_health").fetchall()}
    health = http.get("/api/health", headers=auth).json()
    assert {(r["instance"], r["entity"]) for r in health} == set(view)
    partner = next(r for r in health if r["entity"] == "partner")
    assert partner["dead_letters"] == 2 and partner["last_success_at"] is not None and not partner["stalled"]
    product = next(r for r in health if r["entity"] == "product")
    assert product["error_rate"] == 1.0 and product["error_rate_high"] and product["stalled"]
    summary = http.get("/api/summary", headers=auth).json()
    assert summary == {"outbox": 0, "events": 0, "dead_letters": 2, "running": 0, "failed_last_hour": 1}
    runs = http.get("/api/runs", headers=auth).json()
    assert [(r["entity"], r["status"]) for r in runs] == [("product", "failed"), ("partner", "succeeded")]
    assert runs[0]["error"] == "RuntimeError: Odoo said no"
    # latencies 10..1000 ms: percentile_cont interpolates linearly between neighbours
    lat = http.get("/api/latency?hours=1", headers=auth).json()["event_to_row"]["overall"]
    values = [i / 100 for i in range(1, 101)]

    def linear(p):
        k = p * (len(values) - 1)
        return values[int(k)] + (values[min(int(k) + 1, 99)] - values[int(k)]) * (k - int(k))
    assert lat["n"] == 100
    assert [round(lat[k], 6) for k in ("p50", "p95", "p99")] == [round(linear(p), 6) for p in (0.5, 0.95, 0.99)]
    letters = http.get("/api/dead-letters?state=open", headers=auth).json()
    assert letters["total"] == 2 and {d["id"] for d in letters["dead_letters"]} == set(seeded["letters"])


def test_overview_page_shows_health_runs_latency_and_letters(dash):
    http, seeded = dash
    sign_in(http)
    page = http.get("/").text
    assert 'data-entity="partner" data-state="ok"' in page
    assert 'data-entity="product" data-state="stalled, errors"' in page
    assert "Attention needed" in page
    assert 'data-k="dead_letters">2<' in page
    with connect(seeded["url"]) as conn:
        traces = [r["trace_id"] for r in conn.execute("select trace_id from ops.runs").fetchall()]
    assert all(f'href="/trace/{t}"' in page for t in traces)
    failures = page[page.index('<table id="failures">'):page.index('<table id="runs">')]
    assert failures.count("<tr data-trace=") == 1 and "RuntimeError: Odoo said no" in failures
    assert re.search(r'<tr data-series="event_to_row"><td>100</td>', page)
    assert page.count("<polyline") >= 3


def test_replay_needs_the_csrf_token_and_requeues_the_letter(dash):
    http, seeded = dash
    csrf = sign_in(http)
    first, second = seeded["letters"]
    r = http.post("/dead-letters/replay", data={"id": str(first)})
    assert r.status_code == 403
    r = http.post("/dead-letters/replay", data={"id": str(first), "csrf": "0" * 64})
    assert r.status_code == 403
    with connect(seeded["url"]) as conn:
        assert conn.execute("select replayed_at from odoo.dead_letters where id=%s", (first,)).fetchone()["replayed_at"] is None
    r = http.post("/dead-letters/replay", data={"id": str(first), "csrf": csrf, "back": "/dead-letters?state=open"})
    assert r.status_code == 303
    location = r.headers["location"]
    assert location.startswith("/dead-letters?state=open&replayed=1&skipped=0&trace=")
    trace = location.rsplit("=", 1)[1]
    with connect(seeded["url"]) as conn:
        assert conn.execute("select replayed_at from odoo.dead_letters where id=%s", (first,)).fetchone()["replayed_at"]
        event = conn.execute("select odoo_model, odoo_id, trace_id from odoo.webhook_events where trace_id=%s",
                             (trace,)).fetchone()
    assert (event["odoo_model"], event["odoo_id"]) == ("res.partner", 7)
    page = http.get(location).text
    assert f'data-id="{second}"' in page and f'data-id="{first}"' not in page
    assert "Re-queued 1 dead letter(s)" in page and 'id="skipped"' not in page
    story = http.get(f"/trace/{trace}").text
    assert 'data-what="run"' in story and "replayed from the dashboard" in story
    # a row's own button replays that row only, even with other rows ticked
    with connect(seeded["url"]) as conn:
        third = deadletters.add(conn, source="pull", instance_id=seeded["instance"]["id"], entity="partner",
                                odoo_model="res.partner", record_ref=9, payload={"id": 9}, reason="r", error_class=None,
                                attempts=1, trace_id="t" * 32)[0]
        conn.commit()
    r = http.post("/dead-letters/replay", data={"id": str(second), "one": str(third), "csrf": csrf})
    assert r.status_code == 303
    with connect(seeded["url"]) as conn:
        replayed = {d["id"] for d in conn.execute("select id from odoo.dead_letters where replayed_at is not null")}
    assert replayed == {first, third}
    # a script replays with its Bearer token (no cookie, no CSRF) and gets JSON
    r = httpx.post(f"{http.base_url}/dead-letters/replay", data={"id": str(second)},
                   headers={"authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200 and r.json()["events"] == 1


def test_values_are_escaped_and_secrets_redacted(dash):
    http, seeded = dash
    sign_in(http)
    listing = http.get("/dead-letters").text
    assert "<script>alert" not in listing and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in listing
    detail = http.get(f"/dead-letters/{seeded['letters'][0]}").text
    assert "hunter2" not in detail and '"password": "***"' in html.unescape(detail)
    assert http.get("/dead-letters/999999").status_code == 404
    assert http.get("/dead-letters/abc").status_code == 404


def test_sign_in_never_redirects_off_site_and_a_wrong_token_is_refused(dash):
    http, _ = dash
    r = http.post("/login", data={"token": "nope", "next": "/"})
    assert r.status_code == 401 and "not accepted" in r.text and "set-cookie" not in r.headers
    for target in ("//evil.example/", "https://evil.example/", "javascript:alert(1)"):
        r = http.post("/login", data={"token": TOKEN, "next": target})
        assert r.status_code == 303 and r.headers["location"] == "/"


def test_a_dead_database_is_a_503_page_not_a_traceback():
    with ThreadedServer(create_app("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2",
                                   Auth(token=TOKEN))) as server:
        r = httpx.get(f"{server.url}/", headers={"authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 503 and "the database is not reachable" in r.text
        r = httpx.get(f"{server.url}/api/health", headers={"authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 503 and r.json()["error"].startswith("the database is not reachable")


def test_the_command_refuses_to_run_open_or_with_a_weak_token(db_url, monkeypatch):
    for var in ("SPECGEN_DASHBOARD_TOKEN", "SUPABASE_JWT_SECRET", "SUPABASE_SECRET_KEY", "SUPABASE_JWKS"):
        monkeypatch.delenv(var, raising=False)
    run = lambda env: specgen("dashboard", "--database-url", db_url, cwd=ROOT, env=env, timeout=60)  # noqa: E731
    r = run({})
    assert r.returncode == 2 and "never runs open" in r.stderr and "Traceback" not in r.stderr
    r = run({"SPECGEN_DASHBOARD_TOKEN": "short"})
    assert r.returncode == 2 and "too short" in r.stderr


def test_service_role_jwt_check_is_strict():
    now = 1_800_000_000
    good = jwt({"role": "service_role", "exp": now + 10})
    assert verify_service_role_jwt(good, JWT_SECRET, now=now)
    assert not verify_service_role_jwt(good, JWT_SECRET, now=now + 10)
    assert not verify_service_role_jwt(good, "")
    head, body, sig = good.split(".")
    forged = base64.urlsafe_b64encode(orjson.dumps({"role": "service_role", "exp": now + 99})).rstrip(b"=").decode()
    assert not verify_service_role_jwt(f"{head}.{forged}.{sig}", JWT_SECRET, now=now)
    assert not verify_service_role_jwt(jwt({"role": "service_role", "exp": "never"}), JWT_SECRET, now=now)


def test_lost_runs_are_closed_as_failures(db_url):
    """A pull marked running whose advisory lock nobody holds, or another run older than the lease, lost
    its worker: closed as failed (WorkerLost) with an error step. A pull whose lock is held is left alone."""
    from bridge.store import db
    from bridge.observe.metrics import ERRORS
    from bridge.sync.reaper import reap_lost_runs
    instance = add_instance(db_url, "http://127.0.0.1:9")
    iid = instance["id"]
    with connect(db_url) as conn:
        ids = {name: conn.execute(
            "insert into ops.runs (trace_id, kind, instance_id, entity, started_at, worker) values "
            "(md5(random()::text), %s, %s, %s, now() - make_interval(secs => %s), 'gone-host:1') returning id",
            (kind, iid, entity, age)).fetchone()["id"]
            for name, kind, entity, age in (("dead_pull", "pull", "partner", 120), ("live_pull", "pull", "product", 120),
                                            ("young_pull", "pull", "invoice", 1), ("old_push", "push", None, 400),
                                            ("young_push", "process", None, 10))}
        conn.commit()
    holder = db.connect(db_url)
    assert db.try_lock(holder, "pull", iid, "product")
    before = ERRORS.labels(str(iid), "partner", "WorkerLost")._value.get()
    try:
        closed = reap_lost_runs(db_url, lease_s=300, grace_s=60)
        again = reap_lost_runs(db_url, lease_s=300, grace_s=60)
    finally:
        db.unlock(holder, "pull", iid, "product")
        holder.close()
    assert {r["id"] for r in closed} == {ids["dead_pull"], ids["old_push"]}
    with connect(db_url) as conn:
        runs = {r["id"]: r for r in conn.execute("select * from ops.runs").fetchall()}
        steps = conn.execute("select run_id, level, event from ops.run_events").fetchall()
    assert runs[ids["dead_pull"]]["status"] == "failed"
    assert runs[ids["dead_pull"]]["error"] == "WorkerLost: gone-host:1 stopped without finishing this run"
    assert all(runs[ids[n]]["status"] == "running" for n in ("live_pull", "young_pull", "young_push"))
    assert {(s["run_id"], s["level"]) for s in steps} == {(ids["dead_pull"], "error"), (ids["old_push"], "error")}
    assert ERRORS.labels(str(iid), "partner", "WorkerLost")._value.get() == before + 1
    assert again == []  # closed once
    # once its holder lets go of the lock, the pull that was live is lost too
    assert [r["id"] for r in reap_lost_runs(db_url, lease_s=300, grace_s=60)] == [ids["live_pull"]]


def test_a_bad_record_read_again_keeps_one_dead_letter(db_url):
    """Pull and webhook dead letters of the same record merge (attempts count up); pushes never merge."""
    instance = add_instance(db_url, "http://127.0.0.1:9")
    with connect(db_url) as conn:
        common = dict(instance_id=instance["id"], entity="partner", odoo_model="res.partner", error_class="ValidationError",
                      attempts=1, trace_id="t" * 32)
        a = deadletters.add(conn, source="pull", record_ref=5, payload={"v": 1}, reason="first", **common)
        b = deadletters.add(conn, source="pull", record_ref=5, payload={"v": 2}, reason="second", **common)
        c = deadletters.add(conn, source="pull", record_ref=6, payload={}, reason="other record", **common)
        p1 = deadletters.add(conn, source="push", record_ref=5, payload={}, reason="push", **common)
        p2 = deadletters.add(conn, source="push", record_ref=5, payload={}, reason="push", **common)
        conn.execute("update odoo.dead_letters set replayed_at = now() where id = %s", (a[0],))
        d = deadletters.add(conn, source="pull", record_ref=5, payload={"v": 3}, reason="after replay", **common)
        rows = {r["id"]: r for r in conn.execute("select * from odoo.dead_letters").fetchall()}
        conn.commit()
    assert a[1] and b == (a[0], False) and c[1] and p1[1] and p2[1] and p1[0] != p2[0]
    assert rows[a[0]]["attempts"] == 2 and rows[a[0]]["reason"] == "second" and rows[a[0]]["payload"] == {"v": 2}
    assert d[1] and d[0] not in (a[0], c[0])  # a replayed letter is closed: the record fails afresh
    assert len(rows) == 5


def test_a_letter_that_cannot_be_replayed_is_reported_not_hidden(dash):
    """A push letter without the outbox row's local id cannot be re-queued: the page says so and the
    letter stays open."""
    http, seeded = dash
    csrf = sign_in(http)
    with connect(seeded["url"]) as conn:
        orphan = deadletters.add(conn, source="push", instance_id=seeded["instance"]["id"], entity="contact",
                                 odoo_model="res.partner", record_ref="x", payload={}, reason="r", error_class=None,
                                 attempts=1, trace_id="t" * 32)[0]
        conn.commit()
    r = http.post("/dead-letters/replay", data={"one": str(orphan), "csrf": csrf})
    page = http.get(r.headers["location"]).text
    assert "Re-queued 0 dead letter(s)" in page and "1 could not be replayed" in page
    with connect(seeded["url"]) as conn:
        assert conn.execute("select replayed_at from odoo.dead_letters where id = %s", (orphan,)).fetchone()["replayed_at"] is None
