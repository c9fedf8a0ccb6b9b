"""sync-from-odoo under plain Deno, against the mock Odoo over HTTP and a real PostgreSQL, beside the
Python pull it ports: the same Odoo records give the same rows (every column but generated uuids and
timestamps), dead letters, cursors and run counts; a tiny budget resumes from the cursor across
invocations; Odoo's faults lose nothing; the advisory lock keeps a Python pull and the function apart;
webhook events are processed."""
from __future__ import annotations

import pytest

from bridge.store.db import connect
from bridge.sync.contracts import pull_order
from bridge.sync.pull import pull_entity
from mock_odoo.server import MockOdooServer
from tests.functions.pull_support import (INSTANCE_ID, add_fixed_instance, invoke, pull_until_done, serve_pull,
                                          snapshot)
from tests.runtime.conftest import adapters, migrated_template, sync_generated  # noqa: F401 (fixtures)
from tests.runtime.helpers import mirror_problems
from tests.runtime.support import fast_client, runtime_settings

pytestmark = [pytest.mark.deno, pytest.mark.db]


@pytest.fixture
def two_dbs(pg_cluster, migrated_template):  # noqa: F811
    names = [pg_cluster.create_database(template=migrated_template) for _ in range(2)]
    yield [pg_cluster.url_for(n) for n in names]
    for n in names:
        pg_cluster.drop_database(n)


def odd_records(odoo: MockOdooServer) -> None:
    """Records the conversions and validation must treat alike: html notes, unicode, a too-long vat and
    order name (validation), a contact whose parent is a company, an archived partner."""
    client = fast_client({"base_url": odoo.url, "database": "odoo", "login": "admin", "secret_ref": "X"},
                         settings=runtime_settings(X="admin"))
    company = client.search("res.partner", [["is_company", "=", True]])[0]
    client.create("res.partner", {"name": "Zoë & Ünïcode", "comment": "<p>A &amp; B<br>line two</p><p>VIP</p>",
                                  "parent_id": company, "email": "zoe@example.com"})
    client.create("res.partner", {"name": "Too long vat", "vat": "BE" + "9" * 40, "is_company": True})
    archived = client.create("res.partner", {"name": "Archived", "city": "Gent"})
    client.write("res.partner", [archived], {"active": False})
    partner = client.search("res.partner", [["is_company", "=", False]])[0]
    client.create("sale.order", {"name": "S" * 80, "partner_id": partner})


def python_pull(url: str, instance: dict, adapters, **kw) -> list[dict]:  # noqa: F811
    client = fast_client(instance)
    return [pull_entity(url, instance, adapters, a, client, **kw) for a in pull_order(adapters)]


def runs(url: str) -> list[tuple]:
    with connect(url) as conn:
        rows = conn.execute("select kind, entity, status, counts, error from ops.runs where kind = 'pull' "
                            "order by started_at, id").fetchall()
    return [(r["kind"], r["entity"], r["status"], {k: v for k, v in r["counts"].items() if k != "duration_s"}, r["error"])
            for r in rows]


def test_the_same_records_give_the_same_rows_through_both_runtimes(two_dbs, adapters):  # noqa: F811
    py_db, fn_db = two_dbs
    with MockOdooServer(demo=60) as odoo:
        odd_records(odoo)
        py_inst = add_fixed_instance(py_db, odoo.url)
        add_fixed_instance(fn_db, odoo.url)
        python_pull(py_db, py_inst, adapters)
        function = serve_pull(fn_db)
        try:
            answer = invoke(function)
        finally:
            function.stop()
        assert answer["status"] == "done", answer
        (inst,) = answer["instances"]
        assert [e["entity"] for e in inst["entities"]] == [a.entity for a in pull_order(adapters)]
        assert all(e["status"] == "done" for e in inst["entities"]) and inst["events"]["status"] == "done"
    py, fn = snapshot(py_db), snapshot(fn_db)
    assert len(py["odoo.partners"]) > 50 and py["dead_letters"], "the data exercises rows and refusals"
    assert any("validation failed" in d[4] for d in py["dead_letters"])
    for key in py:
        assert fn[key] == py[key], key
    # the same runs, with the same counts
    assert runs(fn_db) == runs(py_db)


def test_a_tiny_budget_resumes_from_the_cursor_across_invocations(two_dbs, adapters):  # noqa: F811
    py_db, fn_db = two_dbs
    with MockOdooServer(demo=80) as odoo:
        py_inst = add_fixed_instance(py_db, odoo.url)
        add_fixed_instance(fn_db, odoo.url)
        python_pull(py_db, py_inst, adapters)
        # a budget far below one page: each invocation re-reads the lookback window, commits one page
        # past the stored cursor and stops
        function = serve_pull(fn_db, SPECGEN_FUNCTION_BUDGET_S="0.001")
        try:
            answers = pull_until_done(function, batch_size=7)
        finally:
            function.stop()
        assert len(answers) > 5
        assert any(e["status"] == "more_to_do" for a in answers[:-1] for e in a["instances"][0]["entities"])
        assert mirror_problems(fn_db, odoo.url, INSTANCE_ID, adapters) == []
    py, fn = snapshot(py_db), snapshot(fn_db)
    for key in ("odoo.partners", "odoo.products", "odoo.sale_orders", "odoo.sale_order_lines", "odoo.invoices",
                "app.contacts", "dead_letters", "cursors", "mappings"):
        assert fn[key] == py[key], key


def test_odoo_faults_lose_nothing(two_dbs, adapters):  # noqa: F811
    _, fn_db = two_dbs
    faults = "seed=5; *: error500=0.1, error429=0.05, retry_after=0.01, reset=0.05"
    with MockOdooServer(demo=60, faults=faults) as odoo:
        add_fixed_instance(fn_db, odoo.url)
        function = serve_pull(fn_db, SPECGEN_ODOO_RETRY_ATTEMPTS="3")
        try:
            answers = pull_until_done(function, batch_size=11)
        finally:
            function.stop()
        odoo.faults = None
        assert mirror_problems(fn_db, odoo.url, INSTANCE_ID, adapters) == []


def test_a_python_pull_holding_the_lock_makes_the_function_skip(two_dbs, adapters):  # noqa: F811
    _, fn_db = two_dbs
    with MockOdooServer(demo=10) as odoo:
        add_fixed_instance(fn_db, odoo.url)
        from bridge.store import db as dbmod
        holder = connect(fn_db)
        assert dbmod.try_lock(holder, "pull", INSTANCE_ID, "partner")
        function = serve_pull(fn_db)
        try:
            answer = invoke(function)
            entities = {e["entity"]: e["status"] for e in answer["instances"][0]["entities"]}
            assert entities["partner"] == "locked" and entities["product"] == "done"
            with connect(fn_db) as conn:
                # no page of partners (the contacts' parents are fetched as dependencies, as in Python)
                assert conn.execute("select count(*) as n from odoo.sync_cursors where entity = 'partner'").fetchone()["n"] == 0
                run = conn.execute("select counts from ops.runs where entity = 'partner' and kind = 'pull'").fetchone()
            assert run["counts"]["locked"] == 1
            dbmod.unlock(holder, "pull", INSTANCE_ID, "partner")
            holder.close()
            answer = invoke(function)
            assert {e["entity"]: e["status"] for e in answer["instances"][0]["entities"]}["partner"] == "done"
        finally:
            function.stop()
        assert mirror_problems(fn_db, odoo.url, INSTANCE_ID, adapters) == []
