"""One tenant's broken configuration stops only that tenant: an instance whose secret env var is unset
is skipped and reported (JSON log line, metric, `sync status` data, dashboard API), and the others sync."""
from __future__ import annotations

import json
import logging

import httpx
import pytest

from bridge import metrics, queries
from bridge.dashboard import Auth, create_app
from bridge.db import connect
from bridge.serve import ThreadedServer
from bridge.worker import Worker
from tests.sync.conftest import add_instance
from tests.sync.test_metrics import samples

pytestmark = pytest.mark.db
TOKEN = "dashboard-test-token-0123456789"


def test_an_instance_with_an_unset_secret_is_skipped_and_the_others_sync(db_url, odoo, adapters, caplog, monkeypatch):
    good = add_instance(db_url, odoo.url, name="good")
    broken = add_instance(db_url, odoo.url, name="broken")
    with connect(db_url) as conn:
        conn.execute("update odoo.instances set secret_ref = 'SPECGEN_TEST_UNSET_SECRET' where id = %s", (broken["id"],))
    monkeypatch.delenv("SPECGEN_TEST_UNSET_SECRET", raising=False)

    worker = Worker(db_url, adapters, interval=0, reconcile_every=0)
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

    monkeypatch.setenv("SPECGEN_TEST_UNSET_SECRET", "admin")  # fixed: the next cycle syncs it and clears the flag
    worker.cycle()
    with connect(db_url) as conn:
        assert conn.execute("select count(*) as n from odoo.partners where instance_id = %s",
                            (broken["id"],)).fetchone()["n"] > 0
        assert queries.skipped_instances(conn) == []
    assert samples(metrics.exposition())[("specgen_sync_instance_skipped", (("instance", str(broken["id"])),))] == 0
