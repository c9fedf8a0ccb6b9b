"""One tenant's broken configuration stops only that tenant: an instance whose secret env var is unset
is skipped and reported (JSON log line, metric, `sync status` data, dashboard API), and the others sync."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import httpx
import pytest

from bridge.observe import metrics

from bridge.store import queries
from bridge.http.dashboard import Auth, create_app
from bridge.store.db import connect
from bridge.http.serve import ThreadedServer
from bridge.sync.worker import Worker
from tests.runtime.support import SECRET_ENV, add_instance, runtime_settings
from tests.runtime.helpers import ROOT
from tests.runtime.test_metrics import samples
from tests.runtime.test_push import add_contact

pytestmark = pytest.mark.db
TOKEN = "dashboard-test-token-0123456789"


def test_an_instance_with_an_unset_secret_is_skipped_and_the_others_sync(db_url, odoo, adapters, caplog):
    good = add_instance(db_url, odoo.url, name="good")
    broken = add_instance(db_url, odoo.url, name="broken")
    with connect(db_url) as conn:
        conn.execute("update odoo.instances set secret_ref = 'SPECGEN_TEST_UNSET_SECRET' where id = %s", (broken["id"],))
    worker = Worker(db_url, adapters, settings=runtime_settings(), interval=0, reconcile_every=0)  # the unset one not in it
    with caplog.at_level(logging.ERROR):
        totals = worker.cycle()
        worker.cycle()  # reported once, not on every cycle
    assert totals["instances.skipped"] == 1

    with connect(db_url) as conn:
        mirrored = {r["instance_id"]: r["n"] for r in conn.execute(
            "select instance_id, count(*) as n from odoo.partners group by instance_id").fetchall()}
        skipped = queries.skipped_instances(conn)
    assert mirrored.get(good["id"], 0) == odoo.state()["records"]["res.partner"] > 0
    assert broken["id"] not in mirrored
    assert [(s["id"], s["name"]) for s in skipped] == [(broken["id"], "broken")]
    assert "SPECGEN_TEST_UNSET_SECRET" in skipped[0]["reason"]

    lines = [r for r in caplog.records if "instance skipped" in r.getMessage()]
    assert len(lines) == 1
    exposition = samples(metrics.exposition())
    assert exposition[("specgen_sync_instance_skipped", (("instance", str(broken["id"])),))] == 1

    with ThreadedServer(create_app(db_url, Auth(token=TOKEN))) as server:
        api = httpx.get(f"{server.url}/api/skipped-instances", headers={"authorization": f"Bearer {TOKEN}"}, timeout=10)
        page = httpx.get(f"{server.url}/", headers={"authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert api.status_code == 200 and [i["name"] for i in api.json()] == ["broken"]
    assert "Attention needed" in page.text and "SPECGEN_TEST_UNSET_SECRET" in page.text

    with connect(db_url) as conn:  # fixed (it names a variable that is set): the next cycle syncs it, clears the flag
        conn.execute("update odoo.instances set secret_ref = %s where id = %s", (SECRET_ENV, broken["id"]))
    worker.cycle()
    with connect(db_url) as conn:
        assert conn.execute("select count(*) as n from odoo.partners where instance_id = %s",
                            (broken["id"],)).fetchone()["n"] > 0
        assert queries.skipped_instances(conn) == []
    assert samples(metrics.exposition())[("specgen_sync_instance_skipped", (("instance", str(broken["id"])),))] == 0


def cli(db_url: str, *args: str, fixed: bool = False):
    """`specgen sync ... --json` in a process of its own, the broken instance's variable unset (or set)."""
    env = {k: v for k, v in os.environ.items() if k != "SPECGEN_TEST_UNSET_SECRET"}
    env.update({SECRET_ENV: "admin", "PYTHONPATH": str(ROOT)})
    if fixed:
        env["SPECGEN_TEST_UNSET_SECRET"] = "admin"
    return subprocess.run([sys.executable, "-m", "specgen", "sync", *args, "--database-url", db_url, "--json"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)


def test_one_shot_commands_skip_a_broken_instance_and_do_the_others(db_url, odoo, adapters):
    """`sync process` / `push` / `pull` without --instance: the broken instance's queued work stays
    queued untouched (a config fix is all it needs), the good one's is done; exit 3, the broken one named."""
    good = add_instance(db_url, odoo.url, name="good")
    broken = add_instance(db_url, odoo.url, name="broken")
    ids = sorted(odoo.db.table("res.partner"))[:3]
    with connect(db_url) as conn:
        conn.execute("update odoo.instances set secret_ref = 'SPECGEN_TEST_UNSET_SECRET' where id = %s", (broken["id"],))
        for inst in (good, broken):
            for oid in ids:
                event = {"_action": "Send Webhook Notification(#2)", "_model": "res.partner", "_id": oid, "id": oid}
                conn.execute("insert into odoo.webhook_events (instance_id, idempotency_key, odoo_model, odoo_id, "
                             "payload, trace_id) values (%s, %s, 'res.partner', %s, %s, %s)",
                             (inst["id"], f"k{oid}", oid, json.dumps(event), f"{oid:032x}"))
    add_contact(db_url, good["org_id"], full_name="Goes Out")
    add_contact(db_url, broken["org_id"], full_name="Waits For Its Secret")

    def queue(table: str) -> dict:
        with connect(db_url) as conn:
            return {(str(r["instance_id"]), r["status"], r["attempts"]): r["n"] for r in conn.execute(
                f"select instance_id, status, attempts, count(*) as n from {table} group by 1, 2, 3").fetchall()}

    for command in ("process", "push", "pull"):
        result = cli(db_url, command)
        assert result.returncode == 3, (command, result.returncode, result.stderr[-2000:])
        assert "Traceback" not in result.stderr, result.stderr
        assert [line for line in result.stderr.splitlines() if line.startswith("skipped instance")] == [
            "skipped instance broken: environment variable SPECGEN_TEST_UNSET_SECRET "
            "(the instance's secret_ref) is not set (MissingSecret)"], result.stderr
        out = json.loads(result.stdout)
        assert [(s["instance"], s["id"]) for s in out["skipped_instances"]] == [("broken", str(broken["id"]))]
    g, b = str(good["id"]), str(broken["id"])
    assert queue("odoo.webhook_events") == {(g, "done", 1): 3, (b, "pending", 0): 3}
    assert queue("odoo.outbox") == {(g, "done", 1): 1, (b, "pending", 0): 1}
    with connect(db_url) as conn:
        assert conn.execute("select count(*) as n from odoo.dead_letters").fetchone()["n"] == 0
        mirrored = {r["instance_id"]: r["n"] for r in conn.execute(
            "select instance_id, count(*) as n from odoo.partners group by 1").fetchall()}
        skipped = queries.skipped_instances(conn)
        skip_runs = conn.execute("select count(*) as n from ops.runs where error like 'InstanceSkipped: %'").fetchone()
    assert mirrored.get(good["id"], 0) > 3 and broken["id"] not in mirrored
    assert [(s["name"], s["reason"]) for s in skipped] == [("broken", "environment variable SPECGEN_TEST_UNSET_SECRET "
                                                             "(the instance's secret_ref) is not set (MissingSecret)")]
    assert skip_runs["n"] == 1  # three commands, one reason: recorded once

    again = cli(db_url, "process")  # still broken: exit 3 again, nothing claimed for it
    assert again.returncode == 3 and queue("odoo.webhook_events")[(b, "pending", 0)] == 3
    fixed = cli(db_url, "process", fixed=True)  # fixed: the next run takes its work as it was left
    assert fixed.returncode == 0, fixed.stderr
    assert "skipped_instances" not in json.loads(fixed.stdout)
    assert queue("odoo.webhook_events") == {(g, "done", 1): 3, (b, "done", 1): 3}
