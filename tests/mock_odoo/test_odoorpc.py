"""odoorpc, used exactly as its users do, works against the mock."""
from __future__ import annotations

import odoorpc
import pytest

from tests.mock_odoo.support import DB, PASSWORD


@pytest.fixture()
def client(odoo, server):
    conn = odoorpc.ODOO("127.0.0.1", port=server.port, protocol="jsonrpc", timeout=10)
    conn.login(DB, "admin", PASSWORD)
    return conn


def test_login_sets_user_and_context(client):
    """login() detects 17.0, finds uid 2 and loads the user context via context_get."""
    assert client.version == "17.0"
    assert client.env.uid == 2
    assert client.env.user.name == "Mitchell Admin"
    assert client.env.context["lang"] == "en_US" and client.env.context["uid"] == 2


def test_login_with_wrong_password_raises(odoo, server):
    """A wrong password makes odoorpc raise its 'Wrong login ID or password' error."""
    conn = odoorpc.ODOO("127.0.0.1", port=server.port, protocol="jsonrpc", timeout=10)
    with pytest.raises(odoorpc.error.RPCError, match="Wrong login"):
        conn.login(DB, "admin", "nope")


def test_model_in_env_and_search_read(client):
    """'res.partner' in env asks ir.model; search and read return Odoo shapes."""
    assert "res.partner" in client.env
    assert "no.such.model" not in client.env
    Partner = client.env["res.partner"]
    ids = Partner.search([("is_company", "=", True)], limit=5, order="id")
    assert len(ids) == 5 and ids == sorted(ids)
    rows = Partner.read(ids, ["name", "country_id"])
    assert [r["id"] for r in rows] == ids
    assert all(r["country_id"] is False or len(r["country_id"]) == 2 for r in rows)
    assert Partner.search_count([("is_company", "=", True)]) >= 5


def test_browse_follows_relations(client):
    """browse() records expose many2one and one2many fields as recordsets."""
    Partner = client.env["res.partner"]
    company = Partner.create({"name": "Browse Co", "is_company": True, "country_id": 1})
    kid = Partner.create({"name": "Kid", "parent_id": company})
    record = Partner.browse(company)
    assert record.name == "Browse Co"
    assert record.country_id.name == "Belgium"
    assert record.child_ids.ids == [kid]
    assert Partner.browse(kid).parent_id.id == company
    assert Partner.browse(kid).display_name == "Browse Co, Kid"


def test_attribute_write_create_and_unlink(client):
    """Setting an attribute writes it; create and unlink round-trip."""
    Partner = client.env["res.partner"]
    pid = Partner.create({"name": "Temp", "email": "t@example.com"})
    record = Partner.browse(pid)
    record.city = "Leuven"
    assert Partner.read([pid], ["city"])[0]["city"] == "Leuven"
    record.unlink()
    assert Partner.search([("id", "=", pid)]) == []


def test_rpc_errors_surface_as_rpcerror(client):
    """A server-side ValidationError reaches odoorpc as RPCError with Odoo's error data."""
    with pytest.raises(odoorpc.error.RPCError) as err:
        client.env["sale.order"].create({})
    assert err.value.info["data"]["name"] == "odoo.exceptions.ValidationError"


def test_execute_kw_and_context(client):
    """odoo.execute_kw passes the context; active_test=False reveals archived partners."""
    hidden = client.execute_kw("res.partner", "search", [[("active", "=", False)]])
    assert hidden
    all_ids = client.execute_kw("res.partner", "search", [[]], {"context": {"active_test": False}})
    assert set(hidden) <= set(all_ids)
