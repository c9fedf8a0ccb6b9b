"""The chaos run of the observability issue: mock Odoo faults on, a worker SIGKILLed inside a pull, a
second worker taking over. What happened must show up in the metrics (/metrics of the second worker),
in ops.sync_health, and on the dashboard, driven in Debian's headless chromium (screenshots kept)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bridge.http.dashboard import Auth, create_app
from bridge.http.dashboard.app import flags, percent
from bridge.store.db import connect
from mock_odoo.server import MockOdooServer
from bridge.odoo.client import OdooClient
from bridge.http.serve import ThreadedServer, free_port
from tests.needs import INSTALLS, NODE, NODE_PACKAGES, unavailable
from tests.runtime.support import add_instance
from tests.runtime.helpers import ROOT, stop_process, worker_process
from tests.runtime.test_push import add_contact, make_pusher

pytestmark = pytest.mark.db

NODE_DIR = ROOT / "tests" / "node"
SCREENSHOTS = ROOT / "tests" / ".artifacts"
TOKEN = "chaos-dashboard-token-0123456789"
FAULTS = ("seed=11; res.partner/search_read: error500=0.2, latency=30ms; "
          "sale.order/search_read: error429=0.2, retry_after=0.05; product.product/read: reset=0.2")


def browser_tools() -> tuple[str, str]:
    node, chromium = shutil.which("node"), os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not node:
        unavailable(NODE)
    if not (NODE_DIR / "node_modules" / "playwright-core").exists():
        unavailable(NODE_PACKAGES)
    if not chromium:
        unavailable(INSTALLS["chromium"])
    return node, chromium


def wait_for(what: str, check, timeout: float = 90.0, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def metric_samples(port: int) -> list:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def total(samples, name: str, **labels) -> float:
    return sum(s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


FLAGS = ("--interval", "0.1", "--pull-batch-size", "10", "--lease", "1", "--retry-base", "0")


def kill_a_worker_inside_a_pull(db_url, odoo, iid: str) -> tuple[dict, list]:
    """A first worker SIGKILLed inside a pull, a second one taking over until it has closed the lost run
    and caught up: (the lost run, the second worker's metric samples)."""
    workers: list[subprocess.Popen] = []
    try:
        first = worker_process(db_url, *FLAGS, "--metrics-port", str(free_port()))
        workers.append(first)

        def pull_in_progress():
            with connect(db_url) as conn:
                return conn.execute("select id, trace_id, entity from ops.runs where kind = 'pull' and "
                                    "status = 'running' and worker like %s", (f"%:{first.pid}",)).fetchone()
        lost = wait_for("a pull of the first worker", pull_in_progress, every=0.005)
        stop_process(first, signal.SIGKILL)
        port = free_port()
        second = worker_process(db_url, *FLAGS, "--metrics-port", str(port))
        workers.append(second)

        def settled():
            with connect(db_url) as conn:
                run = conn.execute("select status, error from ops.runs where id = %s", (lost["id"],)).fetchone()
                letters = conn.execute("select count(*) as n from odoo.dead_letters where source = 'pull'").fetchone()
                mirrored = conn.execute("select count(*) as n from odoo.partners where instance_id = %s",
                                        (iid,)).fetchone()
            return run["status"] == "failed" and letters["n"] == 2 and mirrored["n"] >= odoo_partner_count - 2
        odoo_partner_count = len(odoo.db.table("res.partner"))
        wait_for("the second worker to close the lost run and catch up", settled, every=0.2)
        samples = wait_for("the second worker's metrics", lambda: (
            s if total(s := metric_samples(port), "specgen_queue_depth", queue="dead_letters", instance=iid) == 2
            else None), timeout=30, every=0.2)
    finally:
        for proc in workers:
            stop_process(proc)
    return lost, samples


def fail_four_pushes(db_url, adapters, instance, odoo) -> list:
    """Every res.partner.create fails: four push rounds of one contact, each one failed attempt.
    Returns the failed push runs of the contact entity."""
    add_contact(db_url, instance["org_id"], full_name="Never Lands")
    pusher, client = make_pusher(db_url, adapters, instance, max_attempts=10)
    client.retry.attempts = 1
    odoo.faults = "seed=3; res.partner/create: error500=1"
    try:
        for _ in range(4):
            pusher.run_once(limit=50)
            with connect(db_url) as conn:
                conn.execute("update odoo.outbox set available_at = now() where status = 'pending'")
    finally:
        odoo.faults = None
        client.close()
    with connect(db_url) as conn:
        return conn.execute("select trace_id, status, error from ops.runs where kind = 'push' "
                            "and entity = 'contact' and status = 'failed'").fetchall()


def drive_the_dashboard(db_url, node: str, chromium: str) -> dict:
    """checks/dashboard.mjs in headless chromium against a dashboard on db_url: what it saw."""
    SCREENSHOTS.mkdir(exist_ok=True)
    with ThreadedServer(create_app(db_url, Auth(token=TOKEN))) as server:
        proc = subprocess.run([node, "checks/dashboard.mjs", json.dumps(
            {"url": server.url, "token": TOKEN, "screenshots": str(SCREENSHOTS)})],
            cwd=NODE_DIR, capture_output=True, text=True, timeout=180, env={**os.environ, "CHROMIUM": chromium})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_chaos_run_shows_in_metrics_sync_health_and_the_dashboard(db_url, adapters):
    node, chromium = browser_tools()
    with MockOdooServer(demo=120, faults=FAULTS) as odoo:
        instance = add_instance(db_url, odoo.url)
        iid = str(instance["id"])
        admin = OdooClient(odoo.url, "odoo", "admin", "admin")
        bad = sorted(admin.create("res.partner", {"name": f"Bad VAT {i}", "vat": "X" * 40}) for i in range(2))
        admin.close()
        lost, samples = kill_a_worker_inside_a_pull(db_url, odoo, iid)

        # -- then every res.partner.create fails: four push rounds of one contact, each one failed attempt --
        push_runs = fail_four_pushes(db_url, adapters, instance, odoo)
        assert len(push_runs) == 4

        # -- metrics: the lost run is an error of class WorkerLost, Odoo's faults were retried ------------
        assert total(samples, "specgen_sync_errors_total", instance=iid, entity=lost["entity"],
                     error_class="WorkerLost") == 1
        assert total(samples, "specgen_sync_retries_total", instance=iid) >= 1
        assert total(samples, "specgen_sync_records_total", instance=iid, entity="partner", direction="pull") >= 1
        assert total(samples, "specgen_odoo_call_duration_seconds_count", model="res.partner", method="search_read") >= 1

        # -- ops.sync_health ------------------------------------------------------------------------------
        with connect(db_url) as conn:
            view = {r["entity"]: r for r in conn.execute("select * from ops.sync_health where instance_id = %s",
                                                         (iid,)).fetchall()}
            run = conn.execute("select * from ops.runs where id = %s", (lost["id"],)).fetchone()
            letters = conn.execute("select id, record_ref from odoo.dead_letters order by id").fetchall()
        assert run["error"].startswith("WorkerLost: ") and run["finished_at"] is not None
        assert view[lost["entity"]]["error_rate"] > 0
        assert view["partner"]["dead_letters"] == 2 and view["partner"]["last_success_at"] is not None
        assert sorted(int(d["record_ref"]) for d in letters) == bad

        # -- the dashboard in a real browser ---------------------------------------------------------------
        seen = drive_the_dashboard(db_url, node, chromium)
    assert_the_dashboard_shows(seen, db_url, view=view, lost=lost, run=run, push_runs=push_runs, letters=letters)


def assert_the_dashboard_shows(seen: dict, db_url, *, view: dict, lost: dict, run: dict, push_runs: list,
                               letters: list) -> None:
    """What the browser saw matches ops.sync_health, the lost pull, the failed pushes and the dead letters."""
    assert seen["loginUrl"].endswith("/login?next=%2F") and "not accepted" in seen["wrongTokenError"]
    assert {(h["instance"], h["entity"]) for h in seen["health"]} == {(r["instance"], e) for e, r in view.items()}
    for row in seen["health"]:
        assert row["state"] == (", ".join(flags(view[row["entity"]])) or "ok"), row
    partner = next(h for h in seen["health"] if h["entity"] == "partner")
    assert partner["deadLetters"].startswith("2 / ")
    assert seen["summary"]["dead_letters"] == 2
    assert {"trace": lost["trace_id"], "status": "failed", "error": run["error"], "kind": "pull",
            "entity": lost["entity"]} in seen["failures"]
    # push failures are visible: failed push runs of their entity, and the oldest waiting change
    for r in push_runs:
        assert {"trace": r["trace_id"], "status": "failed", "error": r["error"], "kind": "push",
                "entity": "contact"} in seen["failures"]
        assert {"trace": r["trace_id"], "status": "failed", "error": r["error"], "kind": "push",
                "entity": "contact"} in seen["runs"]
    assert all("500" in r["error"] for r in push_runs)
    contact_row = next(h for h in seen["health"] if h["entity"] == "contact")
    assert "push retrying" in contact_row["state"], contact_row  # the chaos run's good pulls keep "errors" off
    assert view["contact"]["error_rate"] > 0 and contact_row["errorRate"] == percent(view["contact"]["error_rate"])
    assert contact_row["outbox"].startswith("1 waiting; oldest ") and ", 4 attempts: " in contact_row["outbox"], contact_row
    assert contact_row["outboxError"] == view["contact"]["outbox_oldest_error"][:200] and "500" in contact_row["outboxError"]
    assert view["contact"]["outbox_waiting"] == 1 and view["contact"]["outbox_oldest_attempts"] == 4
    assert seen["summary"]["outbox"] == 1
    assert set(seen["latency"]) == {"event_to_row", "pull_run", "push_run"}
    assert int(seen["latency"]["pull_run"][0]) >= 1 and max(seen["charts"]) == 3
    assert seen["letterIds"] == sorted((d["id"] for d in letters), reverse=True)
    assert seen["replayed"] not in seen["lettersAfter"] and "Re-queued 1 dead letter(s)" in seen["flash"]
    assert {"run", "step"} <= set(seen["traceSteps"]) and "Bad VAT" in seen["payload"]
    with connect(db_url) as conn:
        replayed = conn.execute("select replayed_at from odoo.dead_letters where id = %s", (seen["replayed"],)).fetchone()
    assert replayed["replayed_at"] is not None
    for name in ("dashboard-overview.png", "dashboard-dead-letters.png"):
        shot = Path(SCREENSHOTS / name).read_bytes()
        assert shot[:8] == b"\x89PNG\r\n\x1a\n" and len(shot) > 10_000
