"""The worker outlives its database: PostgreSQL stopped like a crash in the middle of a pull and started
again 10 s later; the same worker process carries on and the mirror matches Odoo field by field."""
from __future__ import annotations

import time

import pytest

from bridge.store.db import connect
from mock_odoo.server import MockOdooServer
from generator.database.cluster import apply_migrations, apply_sql, standin_sql, start_cluster
from tests.runtime import project
from tests.runtime.support import add_instance
from tests.runtime.helpers import mirror_problems, stop_process, worker_process
from tests.runtime.test_chaos import wait_for

pytestmark = pytest.mark.db


@pytest.fixture
def own_cluster(pg_cluster):
    """A server of its own: stopping it must not disturb the session's other tests."""
    if pg_cluster.kind != "system":
        pytest.skip(f"a {pg_cluster.kind} server cannot be stopped and started by the test")
    cluster = start_cluster()
    yield cluster
    cluster.stop()


def partner_rows(url: str, instance_id) -> int:
    try:
        with connect(url) as conn:
            return conn.execute("select count(*) as n from odoo.partners where instance_id = %s",
                                (instance_id,)).fetchone()["n"]
    except Exception:  # noqa: BLE001 - the database is down on purpose
        return -1


def test_the_worker_survives_a_database_restart_in_the_middle_of_a_pull(own_cluster):
    url = own_cluster.url_for(own_cluster.create_database())
    apply_sql(url, standin_sql())
    apply_migrations(url, project.generated() / "supabase/migrations")
    # 3,000 partners in pages of 10, each page 20 ms slower: a pull of several seconds to interrupt
    with MockOdooServer(demo=3000, faults="res.partner/search_read: latency=20ms") as odoo:
        instance = add_instance(url, odoo.url)
        worker = worker_process(url, "--interval", "0.2", "--pull-batch-size", "10", "--retry-base", "0")
        try:
            wait_for("the pull to be under way", lambda: partner_rows(url, instance["id"]) > 200, timeout=60)
            own_cluster.stop_server()
            time.sleep(10)
            assert worker.poll() is None, "the worker exited while its database was down"
            own_cluster.start_server()
            odoo.faults = None
            wait_for("the mirror to match Odoo", lambda: partner_rows(url, instance["id"]) > 0
                     and not mirror_problems(url, odoo.url, instance["id"]), timeout=120, every=0.5)
            assert worker.poll() is None, "the worker exited after its database came back"
        finally:
            code = stop_process(worker)
            stderr = worker.stderr.read().decode()
        assert mirror_problems(url, odoo.url, instance["id"]) == []
        assert partner_rows(url, instance["id"]) >= 3000
    assert code == 0, stderr
    assert stderr.count("database unavailable") >= 1 and "Traceback" not in stderr, stderr
