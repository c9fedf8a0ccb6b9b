"""Helpers the mock Odoo tests share: its demo credentials and a thin client over the real protocols."""
from __future__ import annotations

import xmlrpc.client

import httpx

from mock_odoo.server import MockOdooServer

DB, LOGIN, PASSWORD = "odoo", "admin", "admin"


class Client:
    """Thin helpers over the real protocols, so tests read like client code."""

    def __init__(self, server: MockOdooServer):
        self.server = server
        self.url = server.url
        self.http = httpx.Client(base_url=server.url, timeout=10)
        self.common = xmlrpc.client.ServerProxy(f"{server.url}/xmlrpc/2/common")
        self.object = xmlrpc.client.ServerProxy(f"{server.url}/xmlrpc/2/object")
        self.uid = 2

    def x(self, model, method, *args, **kwargs):
        """execute_kw over XML-RPC."""
        return self.object.execute_kw(DB, self.uid, PASSWORD, model, method, list(args), kwargs)

    def jsonrpc(self, service, method, *args, id=1):
        body = {"jsonrpc": "2.0", "method": "call", "id": id,
                "params": {"service": service, "method": method, "args": list(args)}}
        return self.http.post("/jsonrpc", json=body)

    def j(self, model, method, *args, **kwargs):
        """execute_kw over JSON-RPC; returns the result or raises AssertionError with the error."""
        reply = self.jsonrpc("object", "execute_kw", DB, self.uid, PASSWORD, model, method,
                             list(args), kwargs).json()
        assert "error" not in reply, reply.get("error")
        return reply["result"]

    def j_error(self, model, method, *args, **kwargs) -> dict:
        reply = self.jsonrpc("object", "execute_kw", DB, self.uid, PASSWORD, model, method,
                             list(args), kwargs).json()
        assert "error" in reply, reply
        return reply["error"]

    def close(self):
        self.http.close()
