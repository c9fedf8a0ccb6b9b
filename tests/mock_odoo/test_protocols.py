"""Every endpoint answers like Odoo 17, and errors come back in Odoo's exact envelopes."""
from __future__ import annotations

import datetime as dt
import xmlrpc.client

import pytest

from tests.mock_odoo.support import DB, PASSWORD

VERSION = {"server_version": "17.0", "server_version_info": [17, 0, 0, "final", 0, ""],
           "server_serie": "17.0", "protocol_version": 1}


def test_xmlrpc_version_reports_17(odoo):
    """common.version() over XML-RPC reports server 17.0."""
    assert odoo.common.version() == VERSION


def test_jsonrpc_version_and_webclient_version_info(odoo):
    """version() over /jsonrpc, /web/webclient/version_info and GET /web/version agree."""
    assert odoo.jsonrpc("common", "version").json()["result"] == VERSION
    reply = odoo.http.post("/web/webclient/version_info", json={"jsonrpc": "2.0", "id": 5, "params": {}})
    assert reply.json() == {"jsonrpc": "2.0", "id": 5, "result": VERSION}
    assert odoo.http.get("/web/version").json() == VERSION


def test_login_and_authenticate_return_uid_or_false(odoo):
    """login/authenticate give uid 2 for admin/admin and False for a wrong password."""
    assert odoo.common.login(DB, "admin", PASSWORD) == 2
    assert odoo.common.authenticate(DB, "admin", PASSWORD, {}) == 2
    assert odoo.common.login(DB, "admin", "wrong") is False
    assert odoo.common.authenticate(DB, "nobody", PASSWORD, {}) is False
    assert odoo.jsonrpc("common", "login", DB, "admin", PASSWORD).json()["result"] == 2


def test_login_cooldown_after_five_failures_from_one_ip(odoo, server):
    """res_users `_assert_can_auth` / `_on_login_cooldown`: after 5 failed logins from one IP, every
    login from it is refused for 60 s, the right password included (common.login answers False; the
    web session says "Too many login failures"); once the 60 s are over the right password works and
    clears the count."""
    clock = {"now": server.db.clock()}
    real_clock, server.db.clock = server.db.clock, lambda: clock["now"]
    try:
        for _ in range(5):
            assert odoo.common.login(DB, "admin", "wrong") is False
        assert odoo.common.login(DB, "admin", PASSWORD) is False
        assert odoo.jsonrpc("common", "login", DB, "admin", PASSWORD).json()["result"] is False
        reply = odoo.http.post("/web/session/authenticate", json={
            "jsonrpc": "2.0", "id": 1, "params": {"db": DB, "login": "admin", "password": PASSWORD}}).json()
        assert reply["error"]["data"]["message"] == "Too many login failures, please wait a bit before trying again."
        clock["now"] += dt.timedelta(seconds=59)
        assert odoo.common.login(DB, "admin", PASSWORD) is False
        clock["now"] += dt.timedelta(seconds=2)
        assert odoo.common.login(DB, "admin", PASSWORD) == 2
        assert odoo.common.login(DB, "admin", "wrong") is False  # the success cleared the count
        assert odoo.common.login(DB, "admin", PASSWORD) == 2
    finally:
        server.db.clock = real_clock


def test_api_key_works_as_password(odoo):
    """An API key is accepted wherever the password is, like Odoo's."""
    assert odoo.common.login(DB, "admin", "mock-api-key") == 2
    assert odoo.object.execute_kw(DB, 2, "mock-api-key", "res.partner", "search_count", [[]]) > 0


def test_wrong_password_on_object_is_fault_3_access_denied(odoo):
    """execute_kw with a wrong password is XML-RPC fault 3 'Access Denied'."""
    with pytest.raises(xmlrpc.client.Fault) as err:
        odoo.object.execute_kw(DB, 2, "wrong", "res.partner", "search", [[]])
    assert err.value.faultCode == 3
    assert err.value.faultString == "Access Denied"


def test_wrong_password_over_jsonrpc_is_access_denied_error(odoo):
    """The same call over JSON-RPC gives Odoo's error object for AccessDenied."""
    reply = odoo.jsonrpc("object", "execute_kw", DB, 2, "wrong", "res.partner", "search", [[]], {}, id=9).json()
    assert reply["id"] == 9 and reply["jsonrpc"] == "2.0"
    error = reply["error"]
    assert error["code"] == 200 and error["message"] == "Odoo Server Error"
    assert error["data"]["name"] == "odoo.exceptions.AccessDenied"
    assert error["data"]["message"] == "Access Denied"
    assert set(error["data"]) == {"name", "message", "arguments", "context", "debug"}
    assert error["data"]["debug"].startswith("Traceback")


def test_execute_and_execute_kw_both_work(odoo):
    """object.execute takes positional args; execute_kw takes args and kwargs."""
    ids = odoo.object.execute(DB, 2, PASSWORD, "res.country", "search", [["code", "=", "BE"]])
    assert len(ids) == 1
    assert odoo.x("res.country", "read", ids, fields=["code"]) == [{"id": ids[0], "code": "BE"}]


def test_unknown_model_is_user_error_fault_2(odoo):
    """Calling a model that does not exist is a UserError: fault code 2."""
    with pytest.raises(xmlrpc.client.Fault) as err:
        odoo.x("no.such.model", "search", [])
    assert err.value.faultCode == 2
    assert "no.such.model" in err.value.faultString


def test_unknown_method_is_fault_1_with_traceback(odoo):
    """An unknown method is an AttributeError: fault 1 whose faultString is a traceback."""
    with pytest.raises(xmlrpc.client.Fault) as err:
        odoo.x("res.partner", "frobnicate", [])
    assert err.value.faultCode == 1
    assert err.value.faultString.startswith("Traceback (most recent call last):")
    assert "The method 'frobnicate' does not exist on the model 'res.partner'" in err.value.faultString
    error = odoo.j_error("res.partner", "frobnicate", [])
    assert error["data"]["name"] == "builtins.AttributeError"


def test_private_method_is_access_error_fault_4(odoo):
    """Methods starting with an underscore cannot be called remotely: AccessError, fault 4."""
    with pytest.raises(xmlrpc.client.Fault) as err:
        odoo.x("res.partner", "_read", [1])
    assert err.value.faultCode == 4
    assert odoo.j_error("res.partner", "_read", [1])["data"]["name"] == "odoo.exceptions.AccessError"


def test_unknown_database_is_an_error_not_a_uid(odoo):
    """login on a database that does not exist fails with fault 1 naming the database."""
    with pytest.raises(xmlrpc.client.Fault) as err:
        odoo.common.login("nope", "admin", PASSWORD)
    assert err.value.faultCode == 1 and 'database "nope" does not exist' in err.value.faultString


def test_unknown_common_method_and_service(odoo):
    """An unknown common method and an unknown JSON-RPC service both give error envelopes."""
    with pytest.raises(xmlrpc.client.Fault) as err:
        odoo.common.frobnicate()
    assert err.value.faultCode == 1
    reply = odoo.jsonrpc("nosuch", "version").json()
    assert reply["error"]["code"] == 200 and reply["error"]["data"]["name"] == "builtins.KeyError"


def test_malformed_json_body_is_a_json_rpc_error_not_a_500(odoo):
    """A body that is not JSON gets HTTP 400 with a JSON-RPC error object."""
    for path in ("/jsonrpc", "/web/dataset/call_kw", "/web/session/authenticate"):
        reply = odoo.http.post(path, content=b"{not json", headers={"Content-Type": "application/json"})
        assert reply.status_code == 400
        body = reply.json()
        assert body["jsonrpc"] == "2.0" and body["error"]["message"] == "Invalid JSON data"
    reply = odoo.http.post("/jsonrpc", json=[1, 2])
    assert reply.status_code == 400 and reply.json()["error"]["message"] == "Invalid JSON-RPC data"


def test_malformed_xml_is_a_fault(odoo):
    """A body that is not XML-RPC gets a Fault (HTTP 200), not a server crash."""
    reply = odoo.http.post("/xmlrpc/2/object", content=b"<methodCall><oops")
    assert reply.status_code == 200
    with pytest.raises(xmlrpc.client.Fault) as err:
        xmlrpc.client.loads(reply.content)
    assert err.value.faultCode == 1


def test_xmlrpc_results_never_contain_nil(odoo):
    """Empty values are False, never None, so allow_none clients are not needed."""
    body = odoo.http.post("/xmlrpc/2/object", content=xmlrpc.client.dumps(
        (DB, 2, PASSWORD, "res.partner", "read", [[2]], {}), "execute_kw")).content
    assert b"<nil/>" not in body
    (rows,), _ = xmlrpc.client.loads(body)
    assert rows[0]["vat"] is False


def test_web_session_authenticate_then_call_kw(odoo):
    """/web/session/authenticate sets session_id; call_kw then works on both URL forms."""
    reply = odoo.http.post("/web/session/authenticate", json={
        "jsonrpc": "2.0", "id": 1, "params": {"db": DB, "login": "admin", "password": PASSWORD}})
    info = reply.json()["result"]
    assert info["uid"] == 2 and info["db"] == DB and info["user_context"]["lang"] == "en_US"
    assert "session_id" in reply.cookies
    params = {"model": "res.country", "method": "search_read",
              "args": [[["code", "=", "FR"]]], "kwargs": {"fields": ["name"]}}
    for path in ("/web/dataset/call_kw", "/web/dataset/call_kw/res.country/search_read"):
        result = odoo.http.post(path, json={"jsonrpc": "2.0", "id": 2, "params": params}).json()["result"]
        assert [r["name"] for r in result] == ["France"]
    info = odoo.http.post("/web/session/get_session_info", json={"params": {}}).json()["result"]
    assert info["uid"] == 2


def test_call_kw_without_session_is_session_expired_code_100(odoo):
    """Without a session cookie, call_kw answers Odoo's session-expired error (code 100)."""
    reply = odoo.http.post("/web/dataset/call_kw", json={"jsonrpc": "2.0", "id": 3, "params": {
        "model": "res.partner", "method": "search", "args": [[]], "kwargs": {}}})
    error = reply.json()["error"]
    assert error["code"] == 100 and error["message"] == "Odoo Session Expired"
    assert error["data"]["name"] == "odoo.http.SessionExpiredException"


def test_web_session_authenticate_bad_password(odoo):
    """A wrong password on /web/session/authenticate is AccessDenied, and sets no session."""
    reply = odoo.http.post("/web/session/authenticate", json={
        "params": {"db": DB, "login": "admin", "password": "nope"}})
    assert reply.json()["error"]["data"]["name"] == "odoo.exceptions.AccessDenied"
    assert "session_id" not in reply.cookies


def test_session_destroy_logs_out(odoo):
    """After /web/session/destroy the same cookie gets code 100."""
    odoo.http.post("/web/session/authenticate", json={"params": {"db": DB, "login": "admin", "password": PASSWORD}})
    odoo.http.post("/web/session/destroy", json={"params": {}})
    reply = odoo.http.post("/web/dataset/call_kw", json={"params": {
        "model": "res.partner", "method": "search", "args": [[]], "kwargs": {}}})
    assert reply.json()["error"]["code"] == 100


def test_json2_with_bearer_key(odoo):
    """Odoo 19's /json/2 takes named arguments and a bearer API key, and uses HTTP statuses."""
    auth = {"Authorization": "bearer mock-api-key"}
    reply = odoo.http.post("/json/2/res.country/search_read", headers=auth,
                           json={"domain": [["code", "=", "DE"]], "fields": ["name"]})
    assert reply.status_code == 200 and [r["name"] for r in reply.json()] == ["Germany"]
    ids = [r["id"] for r in reply.json()]
    reply = odoo.http.post("/json/2/res.country/read", headers=auth, json={"ids": ids, "fields": ["code"]})
    assert reply.json() == [{"id": ids[0], "code": "DE"}]
    assert odoo.http.post("/json/2/res.country/search", json={"domain": []}).status_code == 401
    assert odoo.http.post("/json/2/res.country/search", headers={"Authorization": "bearer nope"},
                          json={}).status_code == 401
    assert odoo.http.post("/json/2/no.model/search", headers=auth, json={}).status_code == 404
    bad = odoo.http.post("/json/2/sale.order/create", headers=auth, json={"vals_list": [{}]})
    assert bad.status_code == 422 and bad.json()["name"] == "odoo.exceptions.ValidationError"


def test_legacy_xmlrpc_paths(odoo):
    """/xmlrpc/common and /xmlrpc/object (without /2/) still answer."""
    common = xmlrpc.client.ServerProxy(f"{odoo.url}/xmlrpc/common")
    assert common.version()["server_version"] == "17.0"


def test_db_service_lists_the_database(odoo):
    """db.list returns the configured database name."""
    db = xmlrpc.client.ServerProxy(f"{odoo.url}/xmlrpc/2/db")
    assert db.list() == [DB]
