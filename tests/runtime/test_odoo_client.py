"""The Odoo client against the mock over real HTTP: protocols, retries, typed errors, trace ids, secrets."""
from __future__ import annotations

import io
import json

import pytest
from hypothesis import given, strategies as st
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from bridge.observe import context, jsonlog
from mock_odoo.server import MockOdooServer
from bridge.odoo.client import OdooClient, resolve_secret
from bridge.odoo.errors import (AccessDenied, MissingError, PermanentOdooError, TransientOdooError,
                                ValidationError)
from bridge.odoo.retry import RetryPolicy
from bridge.http.serve import ThreadedServer

PASSWORD = "s3cret-Pa55-word"


@pytest.fixture(scope="module")
def odoo():
    with MockOdooServer(demo=20, password=PASSWORD, api_key="api-key-123456") as server:
        yield server


def client(odoo, protocol="jsonrpc", password=PASSWORD, **kw):
    sleeps: list[float] = []
    kw.setdefault("retry", RetryPolicy(attempts=4, base=0.01, cap=0.02))
    c = OdooClient(odoo.url, "odoo", "admin", password, protocol=protocol, sleep=sleeps.append, **kw)
    c.sleeps = sleeps
    return c


@pytest.mark.parametrize("protocol", ["jsonrpc", "xmlrpc", "json2"])
def test_every_protocol_reads_and_writes_the_same_way(odoo, protocol):
    """JSON-RPC, XML-RPC and /json/2 give the same records and the same typed errors."""
    c = client(odoo, protocol, password="api-key-123456" if protocol == "json2" else PASSWORD)
    rows = c.search_read("res.partner", [["is_company", "=", True]], ["name", "parent_id"], limit=5, order="id asc")
    assert len(rows) == 5 and all("name" in r for r in rows)
    pid = c.create("res.partner", {"name": f"Via {protocol}"})
    assert c.read("res.partner", [pid], ["name"])[0]["name"] == f"Via {protocol}"
    with pytest.raises(MissingError):
        c.write("res.partner", [999999], {"name": "x"})
    with pytest.raises(ValidationError):
        c.create("sale.order", {})
    c.close()


def test_uid_is_obtained_once_and_reused(odoo):
    """The client logs in once per process, not once per call."""
    c = client(odoo)
    before = odoo.state()["faults"]["calls"].get("common/login", 0)
    for _ in range(3):
        c.search("res.partner", [], limit=1)
    assert odoo.state()["faults"]["calls"].get("common/login", 0) - before == 1
    c.close()


def test_wrong_password_is_access_denied_without_retry_or_leak(odoo):
    """Bad credentials fail at once with AccessDenied, and the password is in no message."""
    c = client(odoo, password="wrong-password-zzz")
    with pytest.raises(AccessDenied) as err:
        c.search("res.partner", [])
    assert c.sleeps == [] and "wrong-password-zzz" not in str(err.value) and "wrong-password-zzz" not in repr(c)
    c.close()


def test_transient_errors_are_retried_until_success(odoo):
    """5xx, resets and serialization failures are retried with backoff, then the call succeeds."""
    c = client(odoo, retry=RetryPolicy(attempts=30, base=0.001, cap=0.002))
    c.search("res.partner", [], limit=1)  # login outside the fault plan
    odoo.faults = "seed=3; res.partner/search: error500=0.3, reset=0.2, serialization=0.2"
    try:
        for _ in range(10):
            assert c.search("res.partner", [], limit=1)
    finally:
        odoo.faults = None
    assert c.retries > 0 and len(c.sleeps) == c.retries
    c.close()


def test_429_honours_retry_after_and_gives_up_after_the_cap(odoo):
    """On 429 the client waits at least Retry-After, and after N attempts raises a transient error."""
    c = client(odoo, retry=RetryPolicy(attempts=3, base=0.001, cap=0.002))
    c.search("res.partner", [], limit=1)
    odoo.faults = "seed=1; res.partner/search: error429=1, retry_after=0.25"
    try:
        with pytest.raises(TransientOdooError) as err:
            c.search("res.partner", [])
    finally:
        odoo.faults = None
    assert err.value.status == 429 and len(c.sleeps) == 2 and all(s >= 0.25 for s in c.sleeps)
    c.close()


def test_permanent_errors_are_not_retried(odoo):
    """A ValueError from Odoo (bad field) is raised at once, with no retry."""
    c = client(odoo)
    with pytest.raises(PermanentOdooError):
        c.search_read("res.partner", [["nope", "=", 1]], ["name"])
    assert c.sleeps == []
    c.close()


@given(attempt=st.integers(0, 30), base=st.floats(0.001, 2), cap=st.floats(0.01, 60))
def test_backoff_is_full_jitter_below_the_cap(attempt, base, cap):
    """Backoff delays stay within [0, min(cap, base * 2**attempt)]."""
    delay = RetryPolicy(base=base, cap=cap).delay(attempt, TransientOdooError("x"))
    assert 0 <= delay <= min(cap, base * 2 ** attempt)


def test_trace_id_is_sent_on_every_call():
    """Each call carries X-Trace-Id and a W3C traceparent with the same trace id."""
    seen = []

    async def rpc(request):
        seen.append(dict(request.headers))
        return JSONResponse({"jsonrpc": "2.0", "id": 1, "result": 2})
    with ThreadedServer(Starlette(routes=[Route("/jsonrpc", rpc, methods=["POST"])])) as server:
        c = OdooClient(server.url, "db", "u", "p", trace_id="ab" * 16)
        c.execute_kw("res.partner", "search", [[]])
        c.close()
    assert len(seen) == 2
    for h in seen:
        assert h["x-trace-id"] == "ab" * 16
        assert h["traceparent"].startswith("00-" + "ab" * 16 + "-") and h["traceparent"].endswith("-01")


def test_calls_carry_the_trace_they_serve():
    """Inside `traced(T)` calls carry T; inside a run (no `traced`) the run's trace; else the client's.
    The setting is per context, so a client shared by threads never leaks one trace into another."""
    import threading

    from bridge.observe import jsonlog
    seen = []

    async def rpc(request):
        seen.append(request.headers["x-trace-id"])
        return JSONResponse({"jsonrpc": "2.0", "id": 1, "result": 2})
    with ThreadedServer(Starlette(routes=[Route("/jsonrpc", rpc, methods=["POST"])])) as server:
        c = OdooClient(server.url, "db", "u", "p", trace_id="c" * 32)
        c.execute_kw("res.partner", "search", [[]])  # login + search: the client's own
        token = context.trace_var.set("d" * 32)  # what a Run sets
        try:
            c.execute_kw("res.partner", "search", [[]])
            with c.traced("e" * 32):
                c.execute_kw("res.partner", "search", [[]])
                other = threading.Thread(target=lambda: c.execute_kw("res.partner", "search", [[]]))
                other.start()
                other.join()
            c.execute_kw("res.partner", "search", [[]])
        finally:
            context.trace_var.reset(token)
        c.close()
    assert seen == ["c" * 32, "c" * 32, "d" * 32, "e" * 32, "c" * 32, "d" * 32]


def test_secret_comes_from_the_named_env_var_and_never_reaches_logs(odoo, monkeypatch):
    """The password is read from the env var named by secret_ref and redacted from JSON log lines."""
    environ = {"MY_ODOO_KEY": PASSWORD}
    assert resolve_secret("MY_ODOO_KEY", environ) == PASSWORD
    with pytest.raises(AccessDenied):
        resolve_secret("MISSING_KEY_VAR", environ)
    stream = io.StringIO()
    jsonlog.setup("debug", stream)
    try:
        c = client(odoo, retry=RetryPolicy(attempts=5, base=0.001, cap=0.001))
        odoo.faults = "seed=1; common/login: error500=0.5"
        c.search("res.partner", [], limit=1)
        jsonlog.get("test").info(f"password={PASSWORD} and {PASSWORD}")
    finally:
        odoo.faults = None
        jsonlog.setup("warning")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines and all("trace_id" in line for line in lines)
    assert PASSWORD not in stream.getvalue()


def test_falls_back_to_xmlrpc_when_jsonrpc_is_missing(odoo):
    """Behind a proxy that blocks /jsonrpc, the client switches to XML-RPC and keeps working."""
    import httpx as _httpx
    from starlette.requests import Request
    from starlette.responses import Response

    async def proxy(request: Request):
        if request.url.path == "/jsonrpc":
            return Response("not found", status_code=404)
        async with _httpx.AsyncClient() as http:
            upstream = await http.post(f"{odoo.url}{request.url.path}", content=await request.body(),
                                       headers={"Content-Type": request.headers.get("content-type", "text/xml")})
        return Response(upstream.content, status_code=upstream.status_code,
                        media_type=upstream.headers.get("content-type"))
    with ThreadedServer(Starlette(routes=[Route("/{path:path}", proxy, methods=["POST"])])) as server:
        c = OdooClient(server.url, "odoo", "admin", PASSWORD)
        assert c.search("res.partner", [["is_company", "=", True]], limit=2)
        assert c.protocol == "xmlrpc"
        c.close()
