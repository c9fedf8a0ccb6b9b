"""Debug logging of Odoo calls: sampled, redacted, size-bounded records in ops.run_events and the JSON log.

Real PostgreSQL, the mock Odoo over real HTTP, the real pull; nothing mocked.
"""
from __future__ import annotations

import io
import json
import random

import orjson
import pytest

from bridge.observe import jsonlog
from bridge.store.db import connect
from mock_odoo.app import INTERNAL_ERROR_HTML
from mock_odoo.server import MockOdooServer
from bridge.observe.odoo_calls import redact_params
from bridge.odoo.client import OdooClient
from bridge.odoo.errors import PermanentOdooError, TransientOdooError
from bridge.odoo.retry import RetryPolicy
from bridge.settings import (ODOO_DEBUG_ENV as DEBUG_ENV, ODOO_DEBUG_MAX_BYTES_ENV as DEBUG_MAX_BYTES_ENV,
                             ODOO_DEBUG_SAMPLE_ENV as DEBUG_SAMPLE_ENV, Settings)
from bridge.sync.pull import pull_entity
from bridge.store.runs import Run
from tests.runtime.support import SECRET_ENV, add_instance, fast_client, runtime_settings

pytestmark = pytest.mark.db

LOGIN = "sync-bot"  # not "admin": other tests register "admin" as a secret, which the recorder then hides
PASSWORD = "Pw-0f-the-Sync-User-7731"
API_KEY = "odoo-api-key-5c1d9e0b7a"
CONTEXT_SECRET = "ctx-secret-value-4417"  # never registered: only the key name can hide it


def client_for(instance: dict, settings: Settings | None = None, **kw) -> OdooClient:
    """A fast client of the instance, whose secret here is PASSWORD (not the conftest's default)."""
    return fast_client(instance, settings or runtime_settings(**{SECRET_ENV: PASSWORD}), **kw)


@pytest.fixture
def odoo():
    with MockOdooServer(demo=60, login=LOGIN, password=PASSWORD, api_key=API_KEY) as server:
        yield server


@pytest.fixture
def instance(db_url, odoo):
    inst = add_instance(db_url, odoo.url)
    with connect(db_url) as conn:
        return dict(conn.execute("update odoo.instances set login = %s where id = %s returning *",
                                 (LOGIN, inst["id"])).fetchone())


@pytest.fixture
def log_stream():
    stream = io.StringIO()
    jsonlog.setup("debug", stream)
    yield stream
    jsonlog.setup("warning")


def odoo_calls(url: str) -> list[dict]:
    """Every 'odoo call' event, oldest first, with its row's columns next to its data."""
    with connect(url) as conn:
        rows = conn.execute("select run_id, trace_id, level::text as level, data from ops.run_events "
                            "where event = 'odoo call' order by id").fetchall()
    return [{**r["data"], "_run_id": r["run_id"], "_trace_id": r["trace_id"], "_level": r["level"]} for r in rows]


def log_lines(stream: io.StringIO, msg: str = "odoo call") -> list[dict]:
    return [line for line in map(json.loads, stream.getvalue().splitlines()) if line["msg"] == msg]


def mock_calls(odoo: MockOdooServer) -> dict[str, int]:
    return {k: v for k, v in odoo.state()["faults"]["calls"].items() if v}


def key(event: dict) -> str:
    return f"{event['model'] or event['service']}/{event['method']}"


def test_debug_is_off_by_default_and_records_nothing(db_url, instance, adapters, odoo, log_stream):
    """Without SPECGEN_ODOO_DEBUG a pull writes its usual events and no 'odoo call' record anywhere."""
    client = client_for(instance)
    assert client.debug is False
    counts = pull_entity(db_url, instance, adapters, adapters["partner"], client, batch_size=25)
    client.close()
    partners = odoo.state()["records"]["res.partner"]
    # each full page's last second is read again (bridge/sync/cursor.py): demo data has 10 per second
    assert partners <= counts["read"] < partners + 25 and partners > 50
    with connect(db_url) as conn:
        events = [r["event"] for r in conn.execute("select event from ops.run_events order by id")]
    assert events == ["pull finished"]
    assert odoo_calls(db_url) == [] and log_lines(log_stream) == []


def test_every_call_of_a_pull_is_recorded_with_the_runs_trace_id(db_url, instance, adapters, odoo, log_stream):
    """Debug on, sample 1: one debug event per HTTP call, including the pages the prefetch thread reads,
    each with model, method, status, duration and the trace id sent to Odoo (= the run's, here one the
    caller continues)."""
    trace = "c0ffee" + "0" * 26
    client = client_for(instance, debug=True, debug_sample=1.0)
    counts = pull_entity(db_url, instance, adapters, adapters["partner"], client, batch_size=25, trace_id=trace)
    client.close()
    partners = odoo.state()["records"]["res.partner"]
    assert partners <= counts["read"] < partners + 25 and counts["batches"] == 3 and 50 < partners < 75
    events = odoo_calls(db_url)
    with connect(db_url) as conn:
        run = conn.execute("select id, trace_id from ops.runs").fetchone()
    # exactly one event per request the mock served, model/method by model/method
    served = mock_calls(odoo)
    recorded: dict[str, int] = {}
    for e in events:
        recorded[key(e)] = recorded.get(key(e), 0) + 1
    assert recorded == served
    # one head check (Odoo's newest write_date, limit 1), then pages of 25, 25 and the rest
    assert served["res.partner/search_read"] == 4 and served["common/login"] == 1
    for e in events:
        assert e["_level"] == "debug" and e["_run_id"] == run["id"]
        assert e["_trace_id"] == run["trace_id"] == trace
        assert e["protocol"] == "jsonrpc" and e["status"] == 200 and e["attempt"] == 1 and e["error"] is None
        assert 0 < e["duration_ms"] < 10_000
    login = next(e for e in events if e["method"] == "login")
    assert json.loads(login["request"]) == {"service": "common", "method": "login", "args": ["odoo", LOGIN, "***"]}
    assert json.loads(login["response"]) == {"result": 2}
    reads = [e for e in events if e["method"] == "search_read"]
    assert [e["model"] for e in reads] == ["res.partner"] * 4
    head, pages = reads[0], reads[1:]
    head_args = json.loads(head["request"])["args"][6]
    assert head_args["limit"] == 1 and head_args["order"] == "write_date desc, id desc"
    first = pages[0]
    assert first["request_truncated"] is False
    args = json.loads(first["request"])["args"]
    assert args[:5] == ["odoo", 2, "***", "res.partner", "search_read"]
    assert args[6]["limit"] == 25 and args[6]["order"] == "write_date asc, id asc"
    assert args[6]["context"]["active_test"] is False
    assert first["response_truncated"] is True and first["response"].startswith('{"result":[{')
    assert len(first["response"].encode()) == 2048 < first["response_bytes"]
    # the same records, one JSON log line each, at debug level, with the same trace id
    lines = log_lines(log_stream)
    assert len(lines) == len(events)
    assert all(line["level"] == "debug" and line["trace_id"] == trace and line["run_id"] == str(run["id"])
               for line in lines)
    assert [(line["model"], line["method"], line["request"]) for line in lines] == \
        [(e["model"], e["method"], e["request"]) for e in events]


def test_sample_zero_records_nothing_and_a_fraction_records_that_fraction(db_url, instance, odoo):
    """Sample 0 records no call; 0.5 with a seeded generator records exactly the calls it picks;
    the environment variables set the same three knobs."""
    with Run(db_url, "pull", instance["id"], "partner") as run:
        client = client_for(instance, debug=True, debug_sample=0.0, trace_id=run.trace_id)
        for _ in range(5):
            assert client.search("res.partner", [], limit=1)
        client.close()
    assert sum(mock_calls(odoo).values()) == 6 and odoo_calls(db_url) == []

    with Run(db_url, "pull", instance["id"], "partner") as run:
        client = client_for(instance, debug=True, debug_sample=0.5, debug_rng=random.Random(7),
                             trace_id=run.trace_id)
        for _ in range(20):
            client.search("res.partner", [], limit=1)
        client.close()
    draws = random.Random(7)
    # one draw per call: the first search, then the login made inside it, then 19 more searches
    picked = [draws.random() < 0.5 for _ in range(21)]
    expected = ["res.partner/search"] * picked[0] + ["common/login"] * picked[1] + ["res.partner/search"] * sum(picked[2:])
    assert 0 < sum(picked) < 21
    assert sorted(key(e) for e in odoo_calls(db_url)) == sorted(expected)

    base = {SECRET_ENV: PASSWORD}
    read = Settings.from_environ({**base, DEBUG_ENV: "1", DEBUG_SAMPLE_ENV: "0.25", DEBUG_MAX_BYTES_ENV: "512"})
    client = client_for(instance, read)
    assert (client.debug, client.debug_sample, client.debug_max_bytes) == (True, 0.25, 512)
    client.close()
    read = Settings.from_environ({**base, DEBUG_ENV: "1", DEBUG_SAMPLE_ENV: "7", DEBUG_MAX_BYTES_ENV: "lots"})
    client = client_for(instance, read)
    assert (client.debug, client.debug_sample, client.debug_max_bytes) == (True, 1.0, 2048)
    assert read.problems == (f"{DEBUG_MAX_BYTES_ENV} is not a number ('lots'); using the default 2048",)
    client.close()


def test_a_large_response_is_cut_to_the_bound_and_says_its_size(db_url, instance, odoo):
    """Bodies longer than the bound are cut to it (in UTF-8 bytes), flagged, with their full size kept."""
    fields = ["name", "email", "street", "city", "write_date"]
    plain = OdooClient(odoo.url, "odoo", LOGIN, PASSWORD, debug=False)
    rows = plain.search_read("res.partner", [], fields, limit=30, order="id asc")
    plain.close()
    full = jsonlog.redact(orjson.dumps({"result": rows}).decode())  # registered secrets are hidden too
    assert len(full.encode()) > 3000
    with Run(db_url, "pull", instance["id"], "partner") as run:
        client = client_for(instance, debug=True, debug_max_bytes=300, trace_id=run.trace_id)
        assert client.search_read("res.partner", [], fields, limit=30, order="id asc") == rows
        client.close()
    event = next(e for e in odoo_calls(db_url) if e["method"] == "search_read")
    assert event["response_truncated"] is True
    assert event["response_bytes"] == len(full.encode())
    assert len(event["response"].encode()) <= 300
    assert event["response"] == full.encode()[:300].decode("utf-8", "ignore")
    assert event["request_truncated"] is False and event["request_bytes"] == len(event["request"].encode()) < 300
    assert json.loads(event["request"])["args"][5] == [[]]


def test_passwords_and_keys_never_reach_run_events_or_logs(db_url, instance, odoo, log_stream):
    """The password (login, execute_kw), the /json/2 API key and a secret under a secret-looking key are
    recorded as *** over JSON-RPC, XML-RPC and /json/2: no trace of them in ops.run_events or the logs."""
    with Run(db_url, "pull", instance["id"], "partner") as run:
        for protocol in ("jsonrpc", "xmlrpc"):
            client = OdooClient(odoo.url, "odoo", LOGIN, PASSWORD, protocol=protocol, debug=True,
                                trace_id=run.trace_id)
            rows = client.search_read("res.partner", [["is_company", "=", True]], ["name"], limit=2,
                                      context={"api_key": CONTEXT_SECRET, "nested": {"Access_Token": CONTEXT_SECRET}})
            assert len(rows) == 2
            client.close()
        client = OdooClient(odoo.url, "odoo", LOGIN, API_KEY, protocol="json2", debug=True, trace_id=run.trace_id)
        assert len(client.search("res.partner", [], limit=3)) == 3
        client.close()
        wrong = OdooClient(odoo.url, "odoo", LOGIN, PASSWORD + "-wrong", debug=True, trace_id=run.trace_id)
        with pytest.raises(PermanentOdooError):
            wrong.search("res.partner", [])
        wrong.close()
    events = odoo_calls(db_url)
    assert [(e["protocol"], key(e)) for e in events] == [
        ("jsonrpc", "common/login"), ("jsonrpc", "res.partner/search_read"),
        ("xmlrpc", "common/login"), ("xmlrpc", "res.partner/search_read"),
        ("json2", "res.partner/search"), ("jsonrpc", "common/login")]
    for e in events[:4]:
        args = json.loads(e["request"])["args"]
        assert args[2] == "***"
        if e["method"] == "search_read":
            assert args[6]["context"] == {"api_key": "***", "nested": {"Access_Token": "***"}}
    assert json.loads(events[4]["request"]) == {"limit": 3, "domain": []}
    assert events[5]["response"] == '{"result":false}'
    with connect(db_url) as conn:
        stored = conn.execute("select coalesce(string_agg(e::text, ' '), '') as t from ops.run_events e").fetchone()["t"]
        stored += conn.execute("select string_agg(r::text, ' ') as t from ops.runs r").fetchone()["t"]
    logged = log_stream.getvalue()
    assert len(log_lines(log_stream)) == 6
    for secret in (PASSWORD, API_KEY, CONTEXT_SECRET, PASSWORD + "-wrong"):
        assert secret not in stored and secret not in logged


def test_secrets_are_redacted_by_position_and_by_key_even_when_never_registered():
    """Positional redaction does not rely on the registry of known secrets."""
    secret = "never-registered-" + "x9" * 4
    assert redact_params("object", "execute_kw", ["db", 2, secret, "res.partner", "read", [[1]], {}])[2] == "***"
    assert redact_params("common", "authenticate", ["db", "bob", secret, {}]) == ["db", "bob", "***", {}]
    assert redact_params("common", "login", ["db", "bob", secret]) == ["db", "bob", "***"]
    assert redact_params("db", "drop", [secret, "db"]) == ["***", "db"]
    assert redact_params("db", "list", []) == []
    assert redact_params("object", "execute_kw", ["db", 2, "p", "res.users", "write", [[2], {
        "Password": secret, "meta": {"API-Key": secret, "authorization": secret, "client_secret": secret},
        "name": "kept"}], {}])[5][1] == {"Password": "***", "meta": {"API-Key": "***", "authorization": "***",
                                                                     "client_secret": "***"}, "name": "kept"}


def test_a_fault_is_recorded_with_its_status_and_error_envelope(db_url, instance, adapters, odoo):
    """HTTP 500s met by the prefetch thread are recorded per attempt with status and body; an Odoo error
    answered inside a JSON-RPC envelope is recorded with that envelope and HTTP 200."""
    client = client_for(instance, debug=True, debug_max_bytes=100_000,
                         retry=RetryPolicy(attempts=3, base=0.001, cap=0.002))
    assert client.uid == 2  # log in before the faults
    odoo.faults = "seed=1; res.partner/search_read: error500=1"
    try:
        with pytest.raises(TransientOdooError):
            pull_entity(db_url, instance, adapters, adapters["partner"], client)
    finally:
        odoo.faults = None
    with connect(db_url) as conn:
        run = conn.execute("select id, trace_id, status from ops.runs").fetchone()
    assert run["status"] == "failed"
    failed = [e for e in odoo_calls(db_url) if e["method"] == "search_read"]
    assert [e["attempt"] for e in failed] == [1, 2, 3]
    for e in failed:
        assert e["_run_id"] == run["id"] and e["_trace_id"] == run["trace_id"] != client.trace_id
        assert e["status"] == 500 and e["error"] == "HTTP500" and e["response_truncated"] is False
        assert json.loads(e["response"]) == {
            "error": {"name": "HTTP500", "message": "Odoo answered HTTP 500", "transient": True},
            "body": INTERNAL_ERROR_HTML.decode()}

    with Run(db_url, "pull", instance["id"], "partner") as run:  # calls inside carry the run's trace
        with pytest.raises(PermanentOdooError):
            client.search_read("res.partner", [["no_such_field", "=", 1]], ["name"])
    client.close()
    event = odoo_calls(db_url)[-1]
    assert (event["_trace_id"], event["status"], event["attempt"], event["error"]) == (run.trace_id, 200, 1, "ValueError")
    response = json.loads(event["response"])
    assert response["error"] == {"name": "ValueError", "transient": False,
                                 "message": "Invalid field res.partner.no_such_field in leaf ('no_such_field', '=', 1)"}
    envelope = response["body"]
    assert envelope["jsonrpc"] == "2.0" and envelope["error"]["code"] == 200
    assert envelope["error"]["message"] == "Odoo Server Error"
    assert envelope["error"]["data"]["name"] == "builtins.ValueError"
    assert "no_such_field" in envelope["error"]["data"]["message"]


def test_without_a_run_the_record_goes_to_the_log_only(db_url, instance, odoo, log_stream):
    """Outside a run (e.g. `instance add` checking the connection) a call is logged at debug level only."""
    client = OdooClient(odoo.url, "odoo", LOGIN, PASSWORD, debug=True, trace_id="d" * 32)
    assert client.version()["server_version"] == "17.0"
    client.close()
    assert odoo_calls(db_url) == []
    [line] = log_lines(log_stream)
    assert (line["level"], line["logger"], line["trace_id"]) == ("debug", "specgen.odoo", "d" * 32)
    assert (line["service"], line["model"], line["method"], line["status"]) == ("common", None, "version", 200)
    assert json.loads(line["request"]) == {"service": "common", "method": "version", "args": []}
    assert json.loads(line["response"])["result"]["server_version"] == "17.0"


def test_a_recording_that_cannot_be_stored_does_not_break_the_call(db_url, instance, odoo):
    """If the run's connection is gone, the Odoo call still returns its result."""
    with Run(db_url, "pull", instance["id"], "partner") as run:
        run._conn.close()
        client = client_for(instance, debug=True, trace_id=run.trace_id)
        assert len(client.search("res.partner", [], limit=4)) == 4
        client.close()
        run._conn = connect(db_url, autocommit=True)
    assert odoo_calls(db_url) == []
