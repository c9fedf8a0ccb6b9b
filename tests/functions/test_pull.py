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
from tests.runtime.helpers import mirror_problems, odoo_partners
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
        fired = odoo.faults.to_dict()["fired"]
        odoo.faults = None
        # the faults did fire (else this proved nothing), and the pull went through them
        assert fired.get("error500", 0) + fired.get("error429", 0) + fired.get("reset", 0) >= 3, fired
        assert answers and all(i.get("status") != "skipped" for a in answers for i in a["instances"])
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


def test_a_page_that_fails_to_commit_leaves_its_cursor_behind(two_dbs, adapters):  # noqa: F811
    """The database refuses a page (a trigger that raises, as a full disk would): the pull fails, and the
    page's cursor was not saved either, so the next invocation reads it again, even without a lookback.
    (One page holds every partner, so a cursor saved ahead of its rows would skip all but the last second.)"""
    _, fn_db = two_dbs
    with MockOdooServer(demo=60) as odoo:
        add_fixed_instance(fn_db, odoo.url)
        with connect(fn_db) as conn:
            conn.execute("create function refuse_partners() returns trigger language plpgsql as "
                         "$$ begin if new.odoo_id > 40 then raise exception 'no space left on device (test)'; end if; "
                         "return new; end $$")
            conn.execute("create trigger refuse before insert on odoo.partners for each row execute function refuse_partners()")
        function = serve_pull(fn_db, SPECGEN_FUNCTION_LOOKBACK_S="0")
        try:
            failed = invoke(function, batch_size=1000, entity="partner")
            assert failed["instances"][0]["entities"][0]["status"] == "failed"
            with connect(fn_db) as conn:
                assert conn.execute("select count(*) as n from odoo.partners").fetchone()["n"] == 0
                conn.execute("drop trigger refuse on odoo.partners")
                conn.execute("drop function refuse_partners()")
            # the partners alone: other entities would fetch the partners they point at as dependencies
            pull_until_done(function, batch_size=1000, entity="partner")
        finally:
            function.stop()
        with connect(fn_db) as conn:
            mirrored = {r["odoo_id"] for r in conn.execute("select odoo_id from odoo.partners").fetchall()}
        assert mirrored == set(odoo_partners(odoo.url))


def test_a_records_cap_stops_an_invocation_and_the_next_goes_on_from_the_cursor(two_dbs, adapters):  # noqa: F811
    """SPECGEN_FUNCTION_MAX_RECORDS (Supabase's 2 s of CPU per request): no new page starts once the records
    read in the invocation reach the cap, over all entities; the answer says more_to_do, and the
    invocations that follow go on from the cursors until everything is mirrored, as the Python pull does."""
    py_db, fn_db = two_dbs
    with MockOdooServer(demo=80) as odoo:
        py_inst = add_fixed_instance(py_db, odoo.url)
        add_fixed_instance(fn_db, odoo.url)
        python_pull(py_db, py_inst, adapters)
        function = serve_pull(fn_db, SPECGEN_FUNCTION_MAX_RECORDS="30")  # the default budget: only the cap stops
        try:
            first = invoke(function, batch_size=10)
            entities = first["instances"][0]["entities"]
            assert first["status"] == "more_to_do" and entities[0]["status"] == "more_to_do", first
            assert entities[0]["read"] == 30 and entities[0]["batches"] == 3  # three pages, then the cap
            assert all(e["status"] == "more_to_do" and e["read"] == 0 for e in entities[1:])  # not started
            # the body lowers the cap: one page of an entity not pulled yet
            lowered = invoke(function, batch_size=10, max_records=10, entity="product")
            (product,) = lowered["instances"][0]["entities"]
            assert lowered["status"] == "more_to_do" and (product["read"], product["batches"]) == (10, 1), lowered
            # the next: the lookback window read again (not progress), then past the cursor the first
            # left, and stopped by the cap again
            with connect(fn_db) as conn:
                before = conn.execute("select last_write_date, last_id from odoo.sync_cursors "
                                      "where entity = %s", (entities[0]["entity"],)).fetchone()
            second = invoke(function, batch_size=10)
            again = second["instances"][0]["entities"]
            assert second["status"] == "more_to_do" and again[0]["status"] == "more_to_do", second
            assert again[0]["read"] <= entities[0]["read"] + 10
            assert all(e["status"] == "more_to_do" and e["read"] == 0 for e in again[1:])
            with connect(fn_db) as conn:
                after = conn.execute("select last_write_date, last_id from odoo.sync_cursors "
                                     "where entity = %s", (entities[0]["entity"],)).fetchone()
            assert (after["last_write_date"], after["last_id"]) > (before["last_write_date"], before["last_id"])
            answers = pull_until_done(function, batch_size=10)
        finally:
            function.stop()
        assert len(answers) > 3 and all(a["status"] == "more_to_do" for a in answers[:-1])
        assert mirror_problems(fn_db, odoo.url, INSTANCE_ID, adapters) == []
    py, fn = snapshot(py_db), snapshot(fn_db)
    for key in ("odoo.partners", "odoo.products", "odoo.sale_orders", "odoo.sale_order_lines", "odoo.invoices",
                "app.contacts", "dead_letters", "cursors", "mappings"):
        assert fn[key] == py[key], key


@pytest.mark.parametrize("body, error", [
    ('{"entity": "partners"}', 'entity "partners" is not pulled from Odoo; pulled: '),
    ('{"budget": 5}', "unknown key budget; known: instance_id, entity, pull, budget_s, batch_size, max_records"),
    ('{"batch_size": "500"}', "batch_size must be a positive number"),
    ('{"max_records": 0}', "max_records must be a positive number"),
    ('{"pull": "no"}', "pull must be true or false"),
    ('{"instance_id": 7}', "instance_id must be a string"),
    ('{"instance_id": "no-such-instance"}', 'no active instance has the id or name "no-such-instance"'),
    ("[1]", "the body must be a JSON object"),
    ("{nope", "the body is not JSON"),
])
def test_a_wrong_request_is_a_400_that_says_what_and_does_nothing(two_dbs, body, error):
    """A typo in a manual catch-up must not be an invocation that silently pulls nothing."""
    import httpx
    from tests.functions.pull_support import TOKEN
    url, _ = two_dbs
    function = serve_pull(url)
    try:
        r = httpx.post(function.url, content=body, headers={"x-specgen-function-token": TOKEN}, timeout=60)
    finally:
        function.stop()
    assert r.status_code == 400 and r.json()["error"].startswith(error), r.text
    with connect(url) as conn:
        assert conn.execute("select count(*) as n from ops.runs").fetchone()["n"] == 0


def test_pull_false_processes_the_waiting_events_only(two_dbs, adapters):  # noqa: F811
    """`"pull": false`: no entity is pulled (no pull run, no cursor), and the waiting webhook event is
    processed: its record lands in the mirror, read from Odoo."""
    url, _ = two_dbs
    with MockOdooServer(demo=20) as odoo:
        add_fixed_instance(url, odoo.url)
        pid = sorted(odoo_partners(odoo.url))[0]
        with connect(url) as conn:
            conn.execute("insert into odoo.webhook_events (instance_id, idempotency_key, odoo_model, odoo_id, payload, "
                         "trace_id) values (%s, 'test-1', 'res.partner', %s, %s::jsonb, %s)",
                         (INSTANCE_ID, pid, f'{{"_id": {pid}, "_model": "res.partner"}}', "a" * 32))
        function = serve_pull(url)
        try:
            answer = invoke(function, pull=False)
        finally:
            function.stop()
    (inst,) = answer["instances"]
    assert inst["entities"] == [] and inst["events"]["status"] == "done", answer
    with connect(url) as conn:
        assert conn.execute("select count(*) as n from odoo.sync_cursors").fetchone()["n"] == 0
        assert conn.execute("select count(*) as n from ops.runs where kind = 'pull'").fetchone()["n"] == 0
        assert conn.execute("select status from odoo.webhook_events").fetchone()["status"] == "done"
        assert [r["odoo_id"] for r in conn.execute("select odoo_id from odoo.partners").fetchall()] == [pid]


@pytest.mark.parametrize("name", ["sync-from-odoo", "sync-to-odoo"])
def test_a_dead_database_gets_a_503_with_retry_after(name):
    """No database to reach: a clear 503 the scheduler retries, not a bare 500 from an uncaught error."""
    import httpx
    from tests.functions.pull_support import TOKEN
    from tests.functions.support import free_port, serve
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    function = serve(name, {"SUPABASE_DB_URL": dead, "SPECGEN_FUNCTION_TOKEN": TOKEN})
    try:
        r = httpx.post(function.url, json={}, headers={"x-specgen-function-token": TOKEN}, timeout=60)
    finally:
        function.stop()
    assert r.status_code == 503 and r.headers["retry-after"] == "5", r.text
    assert r.json()["error"].startswith(f"the {'pull' if name == 'sync-from-odoo' else 'push'} could not finish: ")
