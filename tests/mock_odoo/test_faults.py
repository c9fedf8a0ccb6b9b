"""Fault injection: seeded, per model/method, set at start or through /mock/faults."""
from __future__ import annotations

import httpx
import pytest

from mock_odoo.faults import FaultPlan, FaultSpecError
from mock_odoo.server import MockOdooServer

from tests.mock_odoo.support import DB, PASSWORD


def search_body(model="res.partner", method="search_count"):
    return {"jsonrpc": "2.0", "method": "call", "id": 1, "params": {
        "service": "object", "method": "execute_kw",
        "args": [DB, 2, PASSWORD, model, method, [[]], {}]}}


def outcomes(url: str, calls: int) -> list:
    """Status (or exception name) of ``calls`` identical JSON-RPC calls."""
    seen = []
    with httpx.Client(base_url=url, timeout=5) as client:
        for _ in range(calls):
            reply = client.post("/jsonrpc", json=search_body())
            seen.append(reply.status_code if reply.status_code != 200 else
                        ("error" if "error" in reply.json() else "ok"))
    return seen


def test_spec_parsing():
    """The SPEC grammar: seed, scopes, keys, durations with units."""
    plan = FaultPlan.parse("seed=7; res.partner/search_read: error500=0.1, latency=20ms; */write: "
                           "late_commit=0.5, lag=90s; sale.order: hang=1, hang_for=2")
    assert plan.seed == 7
    assert [(r.model, r.method) for r in plan.rules] == [("res.partner", "search_read"), ("*", "write"),
                                                          ("sale.order", "*")]
    assert plan.rules[0].values == {"error500": 0.1, "latency": 0.02}
    assert plan.rules[1].values == {"late_commit": 0.5, "lag": 90.0}


@pytest.mark.parametrize("spec,message", [
    ("bogus", "expected 'seed=N'"),
    ("seed=x", "expected an integer"),
    ("res.partner: error500=2", "between 0 and 1"),
    ("res.partner: explode=0.1", "unknown fault key"),
    ("res.partner: latency=fast", "expected a duration"),
    (": error500=0.1", "needs a scope"),
    ("res.partner: error500", "expected key=value"),
])
def test_bad_specs_say_what_is_wrong(spec, message):
    """A bad SPEC raises FaultSpecError with a message naming the problem."""
    with pytest.raises(FaultSpecError, match=message):
        FaultPlan.parse(spec)


def test_same_seed_same_calls_same_faults():
    """Two plans with the same seed decide the same faults for the same call sequence."""
    spec = "seed=3; *: error500=0.2, error429=0.2, serialization=0.1"
    sequence = [("res.partner", "search_read"), ("res.partner", "write"), ("sale.order", "read")] * 30
    a, b = FaultPlan.parse(spec), FaultPlan.parse(spec)
    first = [a.decide(*c).fault for c in sequence]
    second = [b.decide(*c).fault for c in sequence]
    assert first == second
    assert {"error500", "error429", "serialization", None} <= set(first)
    other = FaultPlan.parse(spec.replace("seed=3", "seed=4"))
    assert [other.decide(*c).fault for c in sequence] != first


def test_rules_apply_only_to_their_model_and_method():
    """A rule for res.partner/write leaves other models and methods alone."""
    plan = FaultPlan.parse("res.partner/write: error500=1")
    assert plan.decide("res.partner", "write").fault == "error500"
    assert plan.decide("res.partner", "read").fault is None
    assert plan.decide("sale.order", "write").fault is None


def test_same_seed_reproduces_over_http():
    """Two servers with the same seed fail the same calls of the same sequence."""
    spec = "seed=11; res.partner/search_count: error500=0.3, error429=0.2"
    runs = []
    for _ in range(2):
        with MockOdooServer(faults=spec) as srv:
            runs.append(outcomes(srv.url, 25))
    assert runs[0] == runs[1]
    assert 500 in runs[0] and 429 in runs[0] and "ok" in runs[0]


def test_error500_and_429_with_retry_after(odoo, server):
    """error500 answers HTTP 500; error429 answers 429 with Retry-After."""
    server.faults = "res.partner/search_count: error500=1"
    assert odoo.http.post("/jsonrpc", json=search_body()).status_code == 500
    server.faults = "res.partner: error429=1, retry_after=7"
    reply = odoo.http.post("/jsonrpc", json=search_body())
    assert reply.status_code == 429 and reply.headers["Retry-After"] == "7"
    assert odoo.http.post("/jsonrpc", json=search_body("res.country")).status_code == 200


def test_failed_calls_are_not_executed(odoo, server):
    """A write refused with 500 does not happen."""
    pid = odoo.x("res.partner", "create", {"name": "before"})
    server.faults = "res.partner/write: error500=1"
    body = search_body(method="write")
    body["params"]["args"][5] = [[pid], {"name": "after"}]
    assert odoo.http.post("/jsonrpc", json=body).status_code == 500
    server.faults = None
    assert odoo.x("res.partner", "read", [pid], ["name"])[0]["name"] == "before"


def test_serialization_failure_looks_like_odoo(odoo, server):
    """serialization answers Odoo's error for psycopg2's SerializationFailure (fault 1 in XML-RPC)."""
    import xmlrpc.client
    server.faults = "res.partner/search: serialization=1"
    error = odoo.j_error("res.partner", "search", [])
    assert error["code"] == 200 and error["data"]["name"] == "psycopg2.errors.SerializationFailure"
    assert "could not serialize access" in error["data"]["message"]
    with pytest.raises(xmlrpc.client.Fault) as err:
        odoo.x("res.partner", "search", [])
    assert err.value.faultCode == 1 and "SerializationFailure" in err.value.faultString


def test_lock_not_available_looks_like_odoo(odoo, server):
    """lock answers what `retrying` (odoo/service/model.py) raises once its tries are spent on a busy row:
    psycopg2's LockNotAvailable, fault 1 in XML-RPC; the call is not executed."""
    import xmlrpc.client
    (pid,) = odoo.x("res.partner", "create", [{"name": "before"}])
    server.faults = "res.partner/write: lock=1"
    error = odoo.j_error("res.partner", "write", [pid], {"name": "after"})
    assert error["code"] == 200 and error["data"]["name"] == "psycopg2.errors.LockNotAvailable"
    assert "could not obtain lock" in error["data"]["message"]
    with pytest.raises(xmlrpc.client.Fault) as err:
        odoo.x("res.partner", "write", [pid], {"name": "after"})
    assert err.value.faultCode == 1 and "LockNotAvailable" in err.value.faultString
    server.faults = None
    assert odoo.x("res.partner", "read", [pid], ["name"])[0]["name"] == "before"


def test_connection_reset(odoo, server):
    """reset drops the TCP connection without an HTTP answer."""
    server.faults = "res.partner: reset=1"
    with httpx.Client(base_url=server.url, timeout=5) as client:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError, httpx.ConnectError)):
            client.post("/jsonrpc", json=search_body())
    server.faults = None
    assert odoo.x("res.partner", "search_count", []) > 0


def test_hang_outlives_client_timeout_but_call_is_executed(odoo, server):
    """hang stalls the answer past the client's timeout; the write itself was committed."""
    pid = odoo.x("res.partner", "create", {"name": "slow"})
    server.faults = "res.partner/write: hang=1, hang_for=2"
    body = search_body(method="write")
    body["params"]["args"][5] = [[pid], {"name": "written"}]
    with httpx.Client(base_url=server.url, timeout=0.3) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.post("/jsonrpc", json=body)
    server.faults = None
    assert odoo.x("res.partner", "read", [pid], ["name"])[0]["name"] == "written"


def test_late_commit_writes_before_the_current_maximum(odoo, server):
    """late_commit gives a write_date older than records other calls already wrote."""
    early = odoo.x("res.partner", "create", {"name": "first"})
    stamp = odoo.x("res.partner", "read", [early], ["write_date"])[0]["write_date"]
    server.faults = "res.partner/create: late_commit=1, lag=300"
    late = odoo.x("res.partner", "create", {"name": "late"})
    late_stamp = odoo.x("res.partner", "read", [late], ["write_date"])[0]["write_date"]
    assert late_stamp < stamp
    # write_date keeps microseconds: the early record itself is after its whole-second text
    # (unless written at exactly .000000); the late one is not
    assert set(odoo.x("res.partner", "search", [["write_date", ">", stamp]])) <= {early}


def test_latency_rule_is_reported_in_state(odoo, server):
    """Latency is part of the plan the admin endpoint reports (no timing assertions)."""
    odoo.http.post("/mock/faults", json={"spec": "*/search: latency=5ms"})
    state = odoo.http.get("/mock/state").json()
    assert state["faults"]["rules"] == [{"model": "*", "method": "search", "latency": 0.005}]
    assert odoo.x("res.partner", "search", [], limit=1)


def test_admin_endpoints_replace_and_clear_the_plan(odoo):
    """POST /mock/faults (spec or rules), GET shows it with counters, DELETE clears it."""
    reply = odoo.http.post("/mock/faults", json={"seed": 5, "rules": [
        {"model": "res.country", "method": "search_count", "error500": 1}]})
    assert reply.status_code == 200 and reply.json()["seed"] == 5
    assert odoo.http.post("/jsonrpc", json=search_body("res.country")).status_code == 500
    plan = odoo.http.get("/mock/faults").json()
    assert plan["calls"]["res.country/search_count"] == 1 and plan["fired"]["error500"] == 1
    assert odoo.http.delete("/mock/faults").json()["rules"] == []
    assert odoo.http.post("/jsonrpc", json=search_body("res.country")).status_code == 200


def test_admin_rejects_bad_plans_with_400(odoo):
    """A bad plan is refused with a message, and the previous plan stays."""
    odoo.http.post("/mock/faults", json={"spec": "res.country: error500=1"})
    reply = odoo.http.post("/mock/faults", json={"spec": "res.country: error500=9"})
    assert reply.status_code == 400 and "between 0 and 1" in reply.json()["error"]
    assert odoo.http.post("/mock/faults", content=b"{oops").status_code == 400
    assert odoo.http.get("/mock/faults").json()["rules"][0]["error500"] == 1.0


def test_admin_endpoints_are_never_faulted(odoo, server):
    """Even with every call failing, /mock/state still answers."""
    server.faults = "*: error500=1"
    assert odoo.http.get("/mock/state").status_code == 200
    assert odoo.http.post("/jsonrpc", json=search_body()).status_code == 500
