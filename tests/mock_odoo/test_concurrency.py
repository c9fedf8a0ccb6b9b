"""Calls run at once, each its own REPEATABLE READ transaction (issue 14, point 7).

Odoo serves calls from several workers; each RPC call is one PostgreSQL transaction under REPEATABLE
READ (odoo/sql_db.py 17.0 `Cursor.__init__`: ISOLATION_LEVEL_REPEATABLE_READ): it reads the snapshot
taken when it started, sees nothing another call commits meanwhile, and a concurrent update of the
same row makes it fail with SerializationFailure, which odoo/service/model.py 17.0 `retrying` answers
by re-running the whole call (up to 5 tries). These tests hold the mock to that.
"""
from __future__ import annotations

import json
import threading
import xmlrpc.client
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mock_odoo.demo import seed_base, seed_demo
from mock_odoo.errors import SerializationFailure
from mock_odoo.orm import Database
from mock_odoo.rpc import Services
from mock_odoo.standard import standard_registry

from tests.mock_odoo.support import DB, PASSWORD


def _db() -> Database:
    db = Database(standard_registry())
    seed_base(db)
    seed_demo(db, 10)
    return db


def test_a_transaction_reads_its_snapshot_not_what_commits_meanwhile():
    db = _db()
    pid = min(db.table("res.partner"))
    reader = db.env()
    before = reader.read("res.partner", [pid], ["city"])[0]["city"]
    writer = db.env()
    writer.write("res.partner", [pid], {"city": "Committed Meanwhile"})
    assert writer.table("res.partner")[pid]["city"] == "Committed Meanwhile"  # its own change
    assert db.table("res.partner")[pid]["city"] == before  # nobody else's yet
    writer.commit()
    assert db.table("res.partner")[pid]["city"] == "Committed Meanwhile"
    # the reader started before the commit: it keeps its snapshot, for reads and searches alike
    assert reader.read("res.partner", [pid], ["city"])[0]["city"] == before
    assert reader.search("res.partner", [("city", "=", "Committed Meanwhile")]) == []
    assert db.env().search("res.partner", [("city", "=", "Committed Meanwhile")]) == [pid]


def test_a_create_is_invisible_to_others_until_it_commits_and_a_rollback_publishes_nothing():
    db = _db()
    writer = db.env()
    new = writer.create("res.partner", {"name": "Not Yet"})
    assert db.env().search("res.partner", [("name", "=", "Not Yet")]) == []
    assert db.env().read("res.partner", [new], ["name"]) == []
    writer.rollback()
    assert db.env().search("res.partner", [("name", "=", "Not Yet")]) == []
    again = db.env()
    assert again.create("res.partner", {"name": "Not Yet"}) == new + 1  # a sequence is not transactional
    again.commit()
    assert db.env().search("res.partner", [("name", "=", "Not Yet")]) == [new + 1]


def test_the_second_of_two_concurrent_updates_of_a_row_fails_and_publishes_nothing():
    db = _db()
    pid, other = sorted(db.table("res.partner"))[:2]
    first, second = db.env(), db.env()
    first.write("res.partner", [pid], {"city": "First"})
    second.write("res.partner", [pid, other], {"city": "Second"})
    first.commit()
    with pytest.raises(SerializationFailure):
        second.commit()
    second.rollback()
    assert db.table("res.partner")[pid]["city"] == "First"
    assert db.table("res.partner")[other]["city"] != "Second"  # all or nothing
    # updates of different rows do not conflict
    a, b = db.env(), db.env()
    a.write("res.partner", [pid], {"city": "A"})
    b.write("res.partner", [other], {"city": "B"})
    a.commit()
    b.commit()
    assert (db.table("res.partner")[pid]["city"], db.table("res.partner")[other]["city"]) == ("A", "B")


def test_retrying_re_runs_a_call_that_lost_a_concurrent_update():
    """Services.execute_kw re-runs the call in a new transaction, which then succeeds."""
    db = _db()
    services = Services(db)
    services.retry_rng.uniform = lambda a, b: 0.0  # no sleep between tries in this test
    pid = min(db.table("res.partner"))
    interloper = {"done": False}

    def sneak_in(env, action, model, ids):  # commits a concurrent update of the same row, once
        if action == "write" and not interloper["done"]:
            interloper["done"] = True
            other = db.env()
            other.write("res.partner", [pid], {"phone": "+32 1"})
            other.commit()
    db.listeners.append(sneak_in)
    assert services.execute_kw(2, "res.partner", "write", [[pid], {"city": "Retried"}], {}) is True
    assert services.concurrent_updates == 1
    rec = db.table("res.partner")[pid]
    assert (rec["city"], rec["phone"]) == ("Retried", "+32 1")  # the re-run read the newer snapshot


class _ReadBackReceiver:
    """A webhook endpoint that reads the notified record back from Odoo at once, as an eager
    processor would, and keeps what it saw."""

    def __init__(self, odoo_url: str):
        self.seen: list[tuple[dict, list]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                obj = xmlrpc.client.ServerProxy(f"{odoo_url}/xmlrpc/2/object")
                rows = obj.execute_kw(DB, 2, PASSWORD, "res.partner", "search_read",
                                      [[("id", "=", payload["_id"])]], {"fields": ["city"]})
                outer.seen.append((payload, rows))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_a_webhook_reader_sees_the_state_before_the_call_commits(odoo, server):
    """Odoo 17 posts the notification inside the call, before it commits; a read served meanwhile (by
    another worker) finds no record for a create and the old values for a write."""
    receiver = _ReadBackReceiver(server.url)
    try:
        server.webhooks.configure(urls=[receiver.url], models=["res.partner"])
        pid = odoo.x("res.partner", "create", {"name": "Eager", "city": "Old"})
        odoo.x("res.partner", "write", [pid], {"city": "New"})
        (created, on_create), (written, on_write) = receiver.seen
        assert created["_id"] == written["_id"] == pid
        assert on_create == []  # not committed yet
        assert [r["city"] for r in on_write] == ["Old"]  # the write not committed yet
        assert odoo.x("res.partner", "read", [pid], ["city"])[0]["city"] == "New"  # committed since
    finally:
        server.webhooks.configure(urls=[])
        receiver.close()


def test_slow_commit_keeps_a_write_invisible_while_other_calls_are_served(odoo, server):
    """slow_commit: the transaction stays open `after` seconds; meanwhile another worker serves reads,
    which see the old value; once the call answers, its change is there."""
    pid = odoo.x("res.partner", "search", [("is_company", "=", False)], limit=1)[0]
    old = odoo.x("res.partner", "read", [pid], ["city"])[0]["city"]
    server.faults = "res.partner/write: slow_commit=1, after=1.5"
    answered = threading.Event()
    done: list = []

    def slow_write():
        proxy = xmlrpc.client.ServerProxy(f"{server.url}/xmlrpc/2/object")
        done.append(proxy.execute_kw(DB, 2, PASSWORD, "res.partner", "write", [[pid], {"city": "Slow"}]))
        answered.set()
    t = threading.Thread(target=slow_write)
    t.start()
    try:
        seen_meanwhile = []
        while not answered.is_set() and len(seen_meanwhile) < 3:
            seen_meanwhile.append(odoo.x("res.partner", "read", [pid], ["city"])[0]["city"])
        assert seen_meanwhile and not answered.is_set(), "the reads waited for the write"
        assert set(seen_meanwhile) == {old}
        t.join(10)
        assert done == [True]
        assert odoo.x("res.partner", "read", [pid], ["city"])[0]["city"] == "Slow"
    finally:
        server.faults = None
        t.join(10)


def test_late_execute_runs_now_and_commits_later(odoo, server):
    """late_execute: 504 at once; the create is not visible until `after` seconds later."""
    import time

    import httpx
    server.faults = "res.partner/create: late_execute=1, after=1"
    body = xmlrpc.client.dumps((DB, 2, PASSWORD, "res.partner", "create", [{"name": "Late One"}]),
                               "execute_kw").encode()
    try:
        reply = httpx.post(f"{server.url}/xmlrpc/2/object", content=body, headers={"Content-Type": "text/xml"})
        assert reply.status_code == 504
    finally:
        server.faults = None
    assert odoo.x("res.partner", "search", [("name", "=", "Late One")]) == []
    for _ in range(100):
        found = odoo.x("res.partner", "search", [("name", "=", "Late One")])
        if found:
            break
        time.sleep(0.05)
    assert len(found) == 1
