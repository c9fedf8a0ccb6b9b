"""_shared/odoo.ts (the Odoo JSON-RPC client of the functions) and _shared/runs.ts (run tracking) against
the real mock Odoo over HTTP and a real PostgreSQL, beside the Python client and Run they port: the same
answers, the same error classes and names, the same retries, the same ops.runs / ops.run_events rows.

A TypeScript driver (tests/functions/odoo_driver.ts) runs a script of calls under plain Deno."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from bridge.odoo.client import OdooClient
from bridge.odoo.errors import OdooError
from bridge.odoo.retry import RetryPolicy
from bridge.store.db import connect
from bridge.store.runs import Run
from mock_odoo.server import MockOdooServer
from tests.functions.support import PERMISSIONS, db_env, deno, deno_env, functions_dir
from tests.runtime.conftest import migrated_template, sync_generated  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.deno]

SECRET = "Sup3r-S3cret-pw"
SECRET_ENV = "SPECGEN_TEST_ODOO_SECRET"
FAST = {"attempts": 8, "base": 0.01, "cap": 0.05, "retry_after_cap": 0.05}
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def driver() -> Path:
    folder = functions_dir() / "_driver"
    folder.mkdir(exist_ok=True)
    target = folder / "odoo_driver.ts"
    shutil.copyfile(Path(__file__).with_name("odoo_driver.ts"), target)
    return target


def run_script(url: str, steps: list[dict], *, secret: str | None = SECRET, timeout_s: float = 5,
               retry: dict | None = FAST, env: dict | None = None, trace_id: str | None = TRACE) -> tuple[dict, str]:
    """(the driver's answer, its stderr: the JSON log lines)."""
    instance = {"id": "00000000-0000-0000-0000-000000000001", "base_url": url, "database": "odoo", "login": "admin",
                "secret_ref": SECRET_ENV, "protocol": "jsonrpc"}
    script = {"instance": instance, "timeout_s": timeout_s, "retry": retry, "trace_id": trace_id, "steps": steps}
    extra = {**(env or {})}
    if secret is not None:
        extra[SECRET_ENV] = secret
    entry = driver()
    sockets = (f"--allow-write={extra['PGHOST']}",) if extra.get("PGHOST", "").startswith("/") else ()
    environ = {k: v for k, v in deno_env(**extra).items() if not (k == SECRET_ENV and secret is None)}
    done = subprocess.run([deno(), "run", *PERMISSIONS, *sockets, str(entry)], input=json.dumps(script),
                          capture_output=True, text=True, env=environ, cwd=entry.parent, timeout=180)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def python_client(url: str, password: str = SECRET, **kw) -> OdooClient:
    r = RetryPolicy(attempts=FAST["attempts"], base=FAST["base"], cap=FAST["cap"], retry_after_cap=FAST["retry_after_cap"])
    return OdooClient(url, "odoo", "admin", password, retry=r, timeout=kw.pop("timeout", 5.0), **kw)


def python_answer(client: OdooClient, step: dict):
    a = step.get("args", [])
    ops = {"uid": lambda: client.uid, "version": client.version,
           "call": lambda: client.execute_kw(a[0], a[1], a[2], a[3] if len(a) > 3 else {}),
           "search": lambda: client.search(a[0], a[1], **(a[2] if len(a) > 2 else {})),
           "searchRead": lambda: client.search_read(a[0], a[1], a[2], **(a[3] if len(a) > 3 else {})),
           "read": lambda: client.read(a[0], a[1], a[2]), "create": lambda: client.create(a[0], a[1]),
           "write": lambda: client.write(a[0], a[1], a[2]), "unlink": lambda: client.unlink(a[0], a[1]),
           "fieldTypes": lambda: client.field_types(a[0]),
           "existingIds": lambda: sorted(client.existing_ids(a[0], a[1], *(a[2:3])))}
    try:
        return {"ok": ops[step["op"]]()}
    except OdooError as exc:
        return {"error": {"class": type(exc).__name__, "name": exc.name, "message": str(exc), "transient": exc.transient,
                          "ambiguous": exc.__class__.__name__ == "AmbiguousOdooError", "status": exc.status,
                          "retry_after": exc.retry_after}}


STEPS = [
    {"op": "uid"},
    {"op": "search", "args": ["res.partner", [["is_company", "=", True]], {"order": "id"}]},
    {"op": "searchRead", "args": ["res.partner", [], ["name", "email", "parent_id", "category_id", "write_date"],
                                  {"limit": 7, "offset": 2, "order": "write_date asc, id asc",
                                   "context": {"active_test": False}}]},
    {"op": "read", "args": ["res.partner", [3, 1, 2], ["name", "is_company", "country_id"]]},
    {"op": "read", "args": ["res.partner", [], ["name"]]},
    {"op": "fieldTypes", "args": ["res.partner"]},
    {"op": "create", "args": ["res.partner", {"name": "Zoë Ünïcode", "email": "z@example.com", "ref": "app:1"}]},
    {"op": "write", "args": ["res.partner", [1], {"city": "Gent"}]},
    {"op": "existingIds", "args": ["res.partner", [1, 2, 99999, 3, 2], 2]},
    {"op": "unlink", "args": ["res.partner", [4]]},
    {"op": "call", "args": ["res.partner", "search_count", [[["active", "=", False]]]]},
    {"op": "version"},
    # permanent errors: MissingError, a bad field (ValueError), an unknown model (UserError), no such method
    {"op": "write", "args": ["res.partner", [99999], {"name": "x"}]},
    {"op": "write", "args": ["res.partner", [1], {"nosuchfield": 1}]},
    {"op": "search", "args": ["no.model", []]},
    {"op": "call", "args": ["res.partner", "nomethod", []]},
]


def test_calls_answer_as_the_python_client_does():
    """The same script against two identical mocks, through each client: the same results and the same
    errors (class, Odoo name, message, transient or not)."""
    with MockOdooServer(demo=20, password=SECRET) as a, MockOdooServer(demo=20, password=SECRET) as b:
        answer, _ = run_script(a.url, STEPS)
        client = python_client(b.url)
        expected = [python_answer(client, s) for s in STEPS]
    assert [r.get("error", {}).get("class") for r in answer["results"]][-4:] == [
        "MissingError", "PermanentOdooError", "UserError", "PermanentOdooError"]
    for step, got, want in zip(STEPS, answer["results"], expected):
        assert got == json.loads(json.dumps(want, default=str)), step
    assert answer["retries"] == 0


class Recorder:
    """An HTTP proxy in front of the mock that keeps every request's path, headers and body."""

    def __init__(self, target: str):
        self.requests: list[dict] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                recorder.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                          "body": json.loads(body or b"null")})
                r = httpx.post(target + self.path, content=body, headers={"content-type": "application/json"})
                self.send_response(r.status_code)
                for k, v in r.headers.items():
                    if k.lower() in ("content-type", "retry-after"):
                        self.send_header(k, v)
                self.send_header("content-length", str(len(r.content)))
                self.end_headers()
                self.wfile.write(r.content)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_login_once_trace_headers_on_every_call():
    with MockOdooServer(demo=10, password=SECRET) as odoo:
        proxy = Recorder(odoo.url)
        try:
            answer, _ = run_script(proxy.url, [{"op": "search", "args": ["res.partner", []]}] * 5
                                   + [{"op": "fieldTypes", "args": ["res.partner"]}] * 2)
        finally:
            proxy.close()
    assert all("ok" in r for r in answer["results"])
    calls = [(r["body"]["params"]["service"], r["body"]["params"]["method"]) for r in proxy.requests]
    # one login, the uid reused; fields_get asked once per model
    assert calls == [("common", "login")] + [("object", "execute_kw")] * 6
    assert [r["body"]["params"]["args"][4] for r in proxy.requests[1:]] == ["search"] * 5 + ["fields_get"]
    assert len({r["body"]["id"] for r in proxy.requests}) == len(proxy.requests)
    for r in proxy.requests:
        assert r["path"] == "/jsonrpc"
        assert r["headers"]["x-trace-id"] == TRACE
        assert re.fullmatch(rf"00-{TRACE}-[0-9a-f]{{16}}-01", r["headers"]["traceparent"])


def test_transient_faults_are_retried_until_the_call_succeeds():
    """HTTP 500, 429 with Retry-After, TCP resets, Odoo's serialization and lock failures: retried
    with backoff; every answer is the one a faultless Odoo gives."""
    steps = [{"op": "searchRead", "args": ["res.partner", [], ["name"], {"order": "id", "limit": 5, "offset": i}]}
             for i in range(20)]
    with MockOdooServer(demo=30, password=SECRET) as clean:
        expected, _ = run_script(clean.url, steps)
    faults = ("seed=7; res.partner/search_read: error500=0.2, error429=0.15, retry_after=0.02, reset=0.1, "
              "serialization=0.1, lock=0.1; common/login: error500=0.5")
    with MockOdooServer(demo=30, password=SECRET, faults=faults) as odoo:
        answer, logs = run_script(odoo.url, steps, retry={**FAST, "attempts": 30})
    assert answer["results"] == expected["results"]
    assert answer["retries"] > 5
    retried = [json.loads(line) for line in logs.splitlines() if '"odoo call retried"' in line]
    assert len(retried) == answer["retries"]
    assert {r["error"] for r in retried} >= {"HTTP500", "TooManyRequests", "psycopg2.errors.SerializationFailure",
                                          "LockNotAvailable"}
    assert all(r["logger"] == "specgen.odoo" and r["trace_id"] == TRACE and r["level"] == "info" for r in retried)


def test_retries_stop_at_the_policy_attempts():
    with MockOdooServer(demo=3, password=SECRET, faults="res.partner/search: error500=1") as odoo:
        answer, _ = run_script(odoo.url, [{"op": "search", "args": ["res.partner", []]}], retry={**FAST, "attempts": 3})
    assert answer["results"] == [{"error": {"class": "TransientOdooError", "name": "HTTP500", "message": "Odoo answered HTTP 500",
                                            "transient": True, "ambiguous": False, "status": 500, "retry_after": None}}]
    assert answer["retries"] == 2


def test_a_timeout_is_ambiguous_retried_for_reads_never_for_create():
    faults = "res.partner/search: hang=1, hang_for=3; res.partner/create: late_execute=1, after=0.2"
    with MockOdooServer(demo=3, password=SECRET, faults=faults) as odoo:
        answer, _ = run_script(odoo.url, [{"op": "search", "args": ["res.partner", []]}], timeout_s=0.5,
                               retry={**FAST, "attempts": 2})
        assert answer["retries"] == 1
        created, _ = run_script(odoo.url, [{"op": "create", "args": ["res.partner", {"name": "Once"}]}])
    (err,) = [r["error"] for r in answer["results"]]
    assert (err["class"], err["name"], err["ambiguous"]) == ("AmbiguousOdooError", "Timeout", True)
    (err,) = [r["error"] for r in created["results"]]
    assert (err["class"], err["name"], err["status"]) == ("AmbiguousOdooError", "HTTP504", 504)
    assert created["retries"] == 0  # a create that may have happened is not sent again


def test_the_secret_never_shows_in_errors_or_logs():
    with MockOdooServer(demo=3, password=SECRET, faults="res.partner/search: error500=0.5") as odoo:
        wrong, wrong_logs = run_script(odoo.url, [{"op": "uid"}], secret="Wr0ng-Secret-Value")
        missing, _ = run_script(odoo.url, [{"op": "uid"}], secret=None)
        # an Odoo error that quotes the secret (here a field named like it) is redacted
        echoed, logs = run_script(odoo.url, [{"op": "write", "args": ["res.partner", [1], {SECRET: 1}]}]
                                  + [{"op": "search", "args": ["res.partner", []]}] * 6)
    assert wrong["results"] == [{"error": {"class": "AccessDenied", "name": "OdooError", "transient": False,
                                           "ambiguous": False, "status": None, "retry_after": None,
                                           "message": "Odoo refused the login 'admin' on database 'odoo'"}}]
    assert missing["results"][0]["error"]["class"] == "AccessDenied"
    assert missing["results"][0]["error"]["name"] == "MissingSecret"
    assert echoed["results"][0]["error"]["message"] == "Invalid field '***' on model 'res.partner'"
    assert echoed["retries"] > 0
    for text in (json.dumps(wrong), wrong_logs, json.dumps(echoed), logs):
        assert SECRET not in text and "Wr0ng-Secret-Value" not in text


@pytest.fixture(scope="module")
def runs_db(pg_cluster, migrated_template):  # noqa: F811
    name = pg_cluster.create_database(template=migrated_template)
    yield pg_cluster.url_for(name)
    pg_cluster.drop_database(name)


class Error(Exception):
    """Named as the driver's JavaScript Error, so both runs fail with the same text."""


RUN_COLUMNS = ("kind", "instance_id", "entity", "status", "error")


@pytest.mark.db
def test_runs_are_recorded_as_python_records_them(runs_db):
    with connect(runs_db) as conn:
        org = conn.execute("insert into app.orgs (name, slug) values ('O', 'o-runs') returning id").fetchone()["id"]
        inst = str(conn.execute("insert into odoo.instances (org_id, name, base_url, database, login, secret_ref) "
                                "values (%s, 'i', 'http://x', 'odoo', 'admin', 'X') returning id", (org,)).fetchone()["id"])
    cases = [
        {"kind": "pull", "instance_id": inst, "entity": "contact", "counts": {"upserted": 3, "pages": 1},
         "events": [{"event": "page", "data": {"n": 3, "password": "hidden", "note": f"token={SECRET}"}}]},
        {"kind": "push", "instance_id": inst, "entity": None, "counts": {"claimed": 4},
         "item_failed": ["ValidationError", "ValidationError: bad email"]},
        {"kind": "pull", "instance_id": inst, "entity": None, "counts": {"instance_skipped": 1},
         "fail": "Odoo refused the login"},
    ]
    steps = [{"op": "run", **c} for c in cases]
    answer, _ = run_script("http://127.0.0.1:9", steps, env=db_env(runs_db))
    assert all("ok" in r for r in answer["results"]), answer
    function_ids = [r["ok"]["id"] for r in answer["results"]]
    python_ids = []
    for c in cases:
        try:
            with Run(runs_db, c["kind"], c["instance_id"], c["entity"]) as run:
                python_ids.append(str(run.id))
                run.counts.update(c["counts"])
                for ev in c.get("events", []):
                    run.event(ev["event"], **ev["data"])
                if "item_failed" in c:
                    run.item_failed(*c["item_failed"])
                if "fail" in c:
                    raise Error(c["fail"])
        except Error:
            pass

    def rows(ids):
        with connect(runs_db) as conn:
            out = []
            for i in ids:
                r = conn.execute("select * from ops.runs where id = %s", (i,)).fetchone()
                assert r["worker"] and re.fullmatch(r"[0-9a-f]{32}", r["trace_id"]) and r["finished_at"] >= r["started_at"]
                counts = dict(r["counts"])
                assert isinstance(counts.pop("duration_s"), (int, float))
                events = conn.execute("select level, event, data, trace_id = %s as own from ops.run_events "
                                      "where run_id = %s order by id", (r["trace_id"], i)).fetchall()
                out.append(({k: r[k] for k in RUN_COLUMNS}, counts, [dict(e) for e in events]))
            return out
    assert rows(function_ids) == rows(python_ids)
    assert [r["ok"]["status"] for r in answer["results"]] == ["succeeded", "failed", "failed"]


SHARED_MODULES = ("odoo.ts", "odoo_errors.ts", "runs.ts", "log.ts")


def test_the_client_and_run_modules_type_check_strictly():
    """The shared modules and the test driver (the entry points: test_deno_check.py)."""
    done = subprocess.run([deno(), "check", *SHARED_MODULES, str(driver())], cwd=functions_dir() / "_shared",
                          env=deno_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr + done.stdout
