"""Webhooks: Odoo 17's payload, sent in the background, 1 s timeout, no retry, optional loss."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class Receiver:
    """A tiny real HTTP endpoint that records what it is sent; can be told to stall."""

    def __init__(self):
        self.received: list[dict] = []
        self.headers: list[dict] = []
        self.release = threading.Event()
        self.release.set()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.release.wait(5)
                outer.headers.append(dict(self.headers))
                outer.received.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/hook"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def receiver():
    r = Receiver()
    yield r
    r.close()


def test_create_write_unlink_send_odoo_payloads(odoo, server, receiver):
    """Each change POSTs {_action, _id, _model, the chosen fields read with load=None}."""
    server.webhooks.configure(urls=[receiver.url], models=["res.partner"], fields="*")
    pid = odoo.x("res.partner", "create", {"name": "Hooked", "parent_id": 1})
    odoo.x("res.partner", "write", [pid], {"city": "Gent"})
    odoo.x("res.partner", "unlink", [pid])
    odoo.x("res.country", "create", {"name": "Nowhere"})  # not a configured model
    assert server.webhooks.wait_idle()
    actions = [p["_action"] for p in receiver.received]
    assert actions == ["Send Webhook Notification(#1)", "Send Webhook Notification(#2)",
                       "Send Webhook Notification(#3)"]
    created, written, unlinked = receiver.received
    assert created["_id"] == pid and created["_model"] == "res.partner" and created["id"] == pid
    assert created["parent_id"] == 1  # load=None: bare id
    assert created["name"] == "Hooked" and created["email"] is False
    assert written["city"] == "Gent" and unlinked["_id"] == pid
    assert created["write_date"] <= written["write_date"]
    assert receiver.headers[0]["Content-Type"] == "application/json"


def test_odoo_17_posts_inside_the_call_before_commit_and_a_slow_receiver_slows_it(odoo, server, receiver):
    """ir_actions.py `_run_action_webhook`: requests.post(..., timeout=1) inside the ORM call. A stalled
    receiver holds the caller's own create until the 1 s timeout, and the notification is lost."""
    server.webhooks.configure(urls=[receiver.url], models=["res.partner"])
    receiver.release.clear()
    failed = server.webhooks.stats["failed"]
    answer: list = []
    caller = threading.Thread(target=lambda: answer.append(odoo.x("res.partner", "create", {"name": "Slowed"})))
    caller.start()
    try:
        caller.join(0.5)
        assert caller.is_alive() and answer == [], "the create answered while its notification was unanswered"
        caller.join(10)  # the sender gives up at its timeout, then the call commits and answers
        assert len(answer) == 1 and isinstance(answer[0], int)
        assert server.webhooks.stats["failed"] == failed + 1
    finally:
        receiver.release.set()
        caller.join(10)


def test_a_notification_carries_no_fields_unless_chosen(odoo, server, receiver):
    """A new webhook action has no fields chosen: the body is _action, _id and _model only."""
    server.webhooks.configure(urls=[receiver.url], models=["res.partner"], fields=[])
    pid = odoo.x("res.partner", "create", {"name": "Bare"})
    assert receiver.received[-1] == {"_action": "Send Webhook Notification(#1)", "_id": pid, "_model": "res.partner"}


def test_odoo_19_posts_after_commit_without_blocking_rpc(odoo, server, receiver):
    """after_commit (odoo/odoo#216018): the RPC answer comes back while the receiver is still stalled."""
    server.webhooks.configure(urls=[receiver.url], models=["res.partner"])
    server.webhooks.after_commit = True
    try:
        receiver.release.clear()
        pid = odoo.x("res.partner", "create", {"name": "Fast"})
        assert isinstance(pid, int)
        assert receiver.received == []
        receiver.release.set()
        assert server.webhooks.wait_idle()
        assert [p["_id"] for p in receiver.received] == [pid]
    finally:
        server.webhooks.after_commit = False


def test_failed_delivery_is_not_retried(odoo, server):
    """An unreachable URL is attempted once, counted as failed, and forgotten."""
    import socket
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/hook"
    before = dict(server.webhooks.stats)
    server.webhooks.configure(urls=[dead], models=["res.partner"])
    odoo.x("res.partner", "create", {"name": "Lost"})
    assert server.webhooks.wait_idle()
    stats = server.webhooks.stats
    assert stats["failed"] == before["failed"] + 1 and stats["sent"] == before["sent"]


def test_drop_fraction_loses_notifications(odoo, server, receiver):
    """With drop=1 nothing arrives, and the loss is counted."""
    server.webhooks.configure(urls=[receiver.url], models=["res.partner"], drop=1.0)
    before = server.webhooks.stats["dropped"]
    odoo.x("res.partner", "create", [{"name": "a"}, {"name": "b"}])
    assert server.webhooks.wait_idle()
    assert receiver.received == [] and server.webhooks.stats["dropped"] == before + 2


def test_webhook_admin_endpoint(odoo, server, receiver):
    """POST /mock/webhooks configures delivery; GET shows the log."""
    reply = odoo.http.post("/mock/webhooks", json={"urls": [receiver.url], "models": ["res.country"],
                                                   "fields": ["name", "code"]})
    assert reply.json()["urls"] == [receiver.url]
    cid = odoo.x("res.country", "create", {"name": "Atlantis", "code": "AX"})
    assert server.webhooks.wait_idle()
    assert receiver.received == [{"_action": "Send Webhook Notification(#1)", "_id": cid,
                                  "_model": "res.country", "id": cid, "name": "Atlantis", "code": "AX"}]
    log = odoo.http.get("/mock/webhooks").json()["log"]
    assert log[-1]["status"] == 200
    assert odoo.http.post("/mock/webhooks", json={"drop": 3}).status_code == 400
