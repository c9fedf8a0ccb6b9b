"""sync-from-odoo's lost-run reaper (bridge/sync/reaper.py in TypeScript): a function SIGKILLed in the
middle of a pull (as Supabase stops one at its wall-clock limit) leaves its run 'running'; the next
invocation closes it as failed WorkerLost, with the error step the Python reaper writes, once its grace has
passed. A pull whose lock is still held (a Python pull, running) is left alone, however old."""
from __future__ import annotations

import threading
import time

import pytest

from bridge.store.db import connect
from bridge.sync.pull import pull_entity
from mock_odoo.server import MockOdooServer
from tests.functions.pull_support import INSTANCE_ID, add_fixed_instance, invoke, pull_until_done, serve_pull
from tests.functions.test_pull import two_dbs  # noqa: F401 (fixture)
from tests.runtime.conftest import adapters, migrated_template, sync_generated  # noqa: F401 (fixtures)
from tests.runtime.helpers import mirror_problems
from tests.runtime.support import fast_client

pytestmark = [pytest.mark.deno, pytest.mark.db]

SLOW = "res.partner/search_read: latency=0.3; product.product/search_read: latency=1"


def wait_for(what: str, check, timeout: float = 90.0, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def run_row(url: str, run_id) -> dict:
    with connect(url) as conn:
        return conn.execute("select * from ops.runs where id = %s", (run_id,)).fetchone()


def assert_closed_as_python_closes_them(url: str, killed: dict, old_push, young_process, reaper_pid: int) -> None:
    """The killed pull and the old push failed WorkerLost, each with its error step, the young run alone."""
    lost = run_row(url, killed["id"])
    assert lost["status"] == "failed" and lost["finished_at"] is not None
    assert lost["error"] == f"WorkerLost: {killed['worker']} stopped without finishing this run"
    assert run_row(url, young_process)["status"] == "running"
    with connect(url) as conn:
        steps = conn.execute("select run_id, trace_id, level, event, data from ops.run_events "
                             "where event like '%%lost: its worker stopped'").fetchall()
    assert {(s["run_id"], s["level"], s["event"]) for s in steps} == {
        (killed["id"], "error", "pull lost: its worker stopped"), (old_push, "error", "push lost: its worker stopped")}
    step = next(s for s in steps if s["run_id"] == killed["id"])
    assert step["trace_id"] == lost["trace_id"]
    assert step["data"]["worker"] == killed["worker"] and step["data"]["found_by"].endswith(f":{reaper_pid}")


def test_a_function_killed_mid_pull_is_closed_by_the_next_invocation(two_dbs, adapters):  # noqa: F811
    _, url = two_dbs
    with MockOdooServer(demo=60) as odoo:
        instance = add_fixed_instance(url, odoo.url)
        odoo.faults = SLOW
        # a Python pull of the products, slow (a page a second): it holds the products' pull lock throughout
        python_client = fast_client(instance)
        python_done: dict = {}
        python = threading.Thread(target=lambda: python_done.update(
            pull_entity(url, instance, adapters, adapters["product"], python_client, batch_size=5)), daemon=True)
        python.start()

        doomed = serve_pull(url)
        def call():
            try:
                invoke(doomed, entity="partner", batch_size=5)
            except Exception:  # noqa: BLE001 - killed mid-invocation: no answer
                pass
        caller = threading.Thread(target=call, daemon=True)
        caller.start()

        def mid_pull():  # the function's partner pull has committed a page and goes on
            with connect(url) as conn:
                return conn.execute(
                    "select r.id, r.worker from ops.runs r join odoo.sync_cursors c on c.entity = r.entity "
                    "where r.kind = 'pull' and r.entity = 'partner' and r.status = 'running' "
                    "and r.worker like %s", (f"%:{doomed.process.pid}",)).fetchone()
        killed = wait_for("the function inside its partner pull", mid_pull, every=0.01)
        doomed.process.kill()
        doomed.process.wait(10)
        caller.join(30)
        with connect(url) as conn:
            py_run = conn.execute("select id from ops.runs where kind = 'pull' and entity = 'product' "
                                  "and status = 'running'").fetchone()
            # and two runs of other kinds: one older than the queue lease (300 s), one younger
            old_push, young_process = (conn.execute(
                "insert into ops.runs (trace_id, kind, instance_id, entity, started_at, worker) values "
                "(md5(random()::text), %s, %s, null, now() - make_interval(secs => %s), 'gone-host:1') returning id",
                (kind, INSTANCE_ID, age)).fetchone()["id"] for kind, age in (("push", 400), ("process", 10)))
        assert py_run is not None, "the Python pull had finished already; the test proved nothing"
        odoo.faults = "product.product/search_read: latency=1"

        function = serve_pull(url)
        try:
            # within the grace (min(60, lease) s) a pull's run is left alone, lock or no lock
            first = invoke(function, entity="partner")
            assert first["lost_runs"] == 1, first  # the old push only
            assert run_row(url, killed["id"])["status"] == "running"
            assert run_row(url, old_push)["status"] == "failed"
            with connect(url) as conn:  # both pulls started long ago now
                conn.execute("update ops.runs set started_at = started_at - interval '120 seconds' where id = any(%s)",
                             ([killed["id"], py_run["id"]],))
            second = invoke(function, entity="partner")
            assert python.is_alive(), "the Python pull had finished; its lock proved nothing"
            assert run_row(url, py_run["id"])["status"] == "running"  # its lock is held: alive
            assert second["lost_runs"] == 1, second
            third = invoke(function, entity="partner")
            assert third["lost_runs"] == 0, third  # closed once
        finally:
            function.stop()
        assert_closed_as_python_closes_them(url, killed, old_push, young_process, function.process.pid)

        odoo.faults = None
        python.join(120)
        assert run_row(url, py_run["id"])["status"] == "succeeded" and python_done.get("read")
        python_client.close()
        function = serve_pull(url)
        try:
            pull_until_done(function)
        finally:
            function.stop()
        assert mirror_problems(url, odoo.url, INSTANCE_ID, adapters) == []
