"""sync-from-odoo's limits are hard and still lose nothing: a lookback window holding more records than an
invocation may read is crossed over several invocations (each goes on where the last stopped, from the
position its pull run recorded) and the cursor moves past it; waiting webhook events are processed before
the pulls, so a backlog that takes every invocation's budget does not keep them waiting."""
from __future__ import annotations

from datetime import datetime

import pytest

from bridge.store.db import connect
from mock_odoo.server import MockOdooServer
from tests.functions.pull_support import INSTANCE_ID, add_fixed_instance, invoke, pull_until_done, serve_pull
from tests.functions.test_pull import two_dbs  # noqa: F401 (fixture)
from tests.runtime.conftest import adapters, migrated_template, sync_generated  # noqa: F401 (fixtures)
from tests.runtime.helpers import mirror_problems
from tests.runtime.support import fast_client, runtime_settings

pytestmark = [pytest.mark.deno, pytest.mark.db]


def odoo_client(odoo: MockOdooServer):
    return fast_client({"base_url": odoo.url, "database": "odoo", "login": "admin", "secret_ref": "X"},
                       settings=runtime_settings(X="admin"))


def cursor(url: str, entity: str) -> tuple:
    with connect(url) as conn:
        c = conn.execute("select last_write_date, last_id from odoo.sync_cursors where instance_id = %s and entity = %s",
                         (INSTANCE_ID, entity)).fetchone()
    return (c["last_write_date"].replace(tzinfo=None), c["last_id"])


def test_a_lookback_window_larger_than_the_cap_is_crossed_and_the_cursor_moves_past_it(two_dbs, adapters):  # noqa: F811
    """300 partners committed late, all in one second inside the lookback window (180 s) behind the stored
    cursor, a cap of 50 records per invocation, pages of 10: no invocation reads more than the cap, each
    goes on with the window where the previous one stopped, the cursor moves past the window (to a partner
    written after it) within a bounded number of invocations, and the mirror equals Odoo. (Before: the
    window was exempt from the cap and read whole by every invocation; on Supabase, an invocation killed
    inside it never got past it.)"""
    _, url = two_dbs
    now = [datetime(2024, 1, 1, 9, 20, 0)]
    with MockOdooServer(demo=20, clock=lambda: now[0]) as odoo:
        client = odoo_client(odoo)
        client.create("res.partner", {"name": "Marker"})
        add_fixed_instance(url, odoo.url)
        function = serve_pull(url, SPECGEN_FUNCTION_MAX_RECORDS="50")
        try:
            pull_until_done(function, batch_size=10)
            stored = cursor(url, "partner")
            assert stored[0] == now[0]
            now[0] = datetime(2024, 1, 1, 9, 19, 30)  # 30 s behind the cursor: a late commit
            client.execute_kw("res.partner", "create", [[{"name": f"Late {i}", "city": "Gent"} for i in range(300)]])
            now[0] = datetime(2024, 1, 1, 9, 21, 0)
            after = client.create("res.partner", {"name": "After the window"})
            answers = []
            for _ in range(40):
                answers.append(invoke(function, batch_size=10))
                if answers[-1]["status"] == "done":
                    break
            reads = [sum(e["read"] for e in a["instances"][0]["entities"]) for a in answers]
            assert max(reads) <= 50, reads  # the cap holds inside the window too
            assert answers[-1]["status"] == "done", answers[-1]
            assert len(answers) >= 300 // 50, reads  # the window took several invocations
            assert cursor(url, "partner") == (now[0], after)  # moved past the window
            with connect(url) as conn:
                resumed = conn.execute("select count(*) as n from ops.runs where kind = 'pull' and entity = 'partner' "
                                       "and counts ? 'resumed'").fetchone()["n"]
            assert resumed >= 300 // 50 - 1  # each went on where the last stopped
        finally:
            function.stop()
        assert mirror_problems(url, odoo.url, INSTANCE_ID, adapters) == []


def test_waiting_events_are_processed_before_a_backlog(two_dbs, adapters):  # noqa: F811
    """A first load that takes many invocations (a budget below one page) and an event stored before the
    first invocation: the first invocation processes it (the partner it names is mirrored), although the
    pull of the backlog uses up its budget."""
    _, url = two_dbs
    with MockOdooServer(demo=80) as odoo:
        add_fixed_instance(url, odoo.url)
        newest = max(odoo_client(odoo).search("res.partner", []))
        with connect(url) as conn:
            event = conn.execute(
                "insert into odoo.webhook_events (instance_id, idempotency_key, odoo_model, odoo_id, payload, trace_id) "
                "values (%s, 'ev-1', 'res.partner', %s, %s::jsonb, 'trace-ev-1') returning id",
                (INSTANCE_ID, newest, f'{{"_model": "res.partner", "_id": {newest}}}')).fetchone()["id"]
        function = serve_pull(url, SPECGEN_FUNCTION_BUDGET_S="0.001")
        try:
            first = invoke(function, batch_size=7)
            assert first["status"] == "more_to_do", first  # the backlog is not done
            with connect(url) as conn:
                status = conn.execute("select status from odoo.webhook_events where id = %s", (event,)).fetchone()["status"]
                mirrored = conn.execute("select count(*) as n from odoo.partners where odoo_id = %s", (newest,)).fetchone()["n"]
            assert status == "done" and mirrored == 1, first
            assert first["instances"][0]["events"]["status"] == "done"
            pull_until_done(function, batch_size=7)
        finally:
            function.stop()
        assert mirror_problems(url, odoo.url, INSTANCE_ID, adapters) == []
