"""Guarantees: nothing lost, duplicated or mismatched under kills, faults, concurrency (several workers,
a Python worker and the functions at once), changes during pagination, shared write_dates, early
webhooks and commits beyond the lookback (the webhook scenarios: test_guarantees_webhooks.py). Each runs
against the mock Odoo and a real PostgreSQL, and all but the Python client's own against both runtimes
(the `runtime` fixture, tests/runtime/conftest.py)."""
from __future__ import annotations

import random
import signal
import time

import pytest

from bridge.store.db import connect
from mock_odoo.server import MockOdooServer
from bridge.odoo.client import OdooClient
from bridge.odoo.errors import ValidationError
from bridge.odoo.retry import RetryPolicy
from bridge.sync.pull import pull_entity, reconcile_entity
from bridge.http.receiver import create_app
from bridge.http.serve import ThreadedServer
from tests.runtime.support import WEBHOOK_TOKEN, add_instance, fast_client, table_rows
from tests.runtime.helpers import mirror_problems, quiesce, stop_process, worker_process
from tests.runtime import runtimes

pytestmark = pytest.mark.db


def admin(odoo) -> OdooClient:
    return OdooClient(odoo.url, "odoo", "admin", "admin")


def churn(rng: random.Random, client: OdooClient, db_url: str, org_id, step: int) -> None:
    """A few Odoo edits, creates, archives and deletes, plus app-side contact inserts, edits and deletes."""
    ids = client.search("res.partner", [], context={"active_test": False})
    for pid in rng.sample(ids, min(4, len(ids))):
        client.write("res.partner", [pid], {"city": f"City {step}-{rng.randint(0, 999)}"})
    client.create("res.partner", {"name": f"Odoo New {step}", "email": f"new{step}@example.com",
                                  "parent_id": rng.choice(client.search("res.partner", [["is_company", "=", True]]))})
    victim = rng.choice(client.search("res.partner", [["is_company", "=", False], ["ref", "=", False]]))
    if rng.random() < 0.5:
        client.write("res.partner", [victim], {"active": False})
    else:
        client.unlink("res.partner", [victim])
    ordering = sorted({o["partner_id"][0] for o in client.search_read("sale.order", [], ["partner_id"])})
    with connect(db_url) as conn:
        conn.execute("insert into app.contacts (org_id, full_name, email) values (%s, %s, %s)",
                     (org_id, f"App Contact {step}", f"app{step}@example.com"))
        conn.execute("update app.contacts set phone = %s where id = (select id from app.contacts "
                     "where odoo_deleted_at is null order by full_name limit 1)", (f"+32 {step}",))
        if step % 2:  # not a contact with sale orders: Odoo refuses that delete (a dead letter, by design)
            conn.execute("delete from app.contacts where id = (select id from app.contacts "
                         "where odoo_deleted_at is null and not (coalesce(odoo_id, 0) = any(%s)) "
                         "order by full_name desc limit 1)", (ordering,))


def assert_only_edit_vs_delete_dead_letters(db_url: str) -> None:
    """The churn may edit in the app a contact that Odoo deleted meanwhile: that edit is dead-lettered
    (visible, replayable) and the row tombstoned (or deleted by a later app edit). Any other dead letter
    is a failure."""
    with connect(db_url) as conn:
        dead = conn.execute("select d.reason, d.record_ref, c.id is not null as row_exists, c.odoo_deleted_at "
                            "from odoo.dead_letters d left join app.contacts c on c.id::text = d.record_ref").fetchall()
    # "no longer exists": the push's re-read found nothing; "already been deleted": Odoo's MissingError on
    # the write itself (deleted between the re-read and the write; models `_write`)
    unexpected = [d for d in dead if not any(t in d["reason"] for t in ("no longer exists in Odoo",
                                                                        "already been deleted"))
                  or (d["row_exists"] and d["odoo_deleted_at"] is None)]
    assert unexpected == []


def test_worker_sigkilled_at_random_points_loses_and_duplicates_nothing(db_url, adapters, runtime):
    """Killing the worker (SIGKILL) mid-run, again and again, never loses, duplicates or corrupts a record."""
    rng = random.Random(20241127)
    with MockOdooServer(demo=150) as odoo:
        instance = add_instance(db_url, odoo.url)
        client = admin(odoo)
        for step in range(7):
            proc = runtime.worker(db_url, "--interval", "0.05", "--pull-batch-size", "15", "--lease", "1",
                                  "--retry-base", "0", "--reconcile-every", "600", "--no-reconcile-at-start",
                                  "--lookback", "1")
            churn(rng, client, db_url, instance["org_id"], step)
            time.sleep(rng.uniform(0.5, 2.5))
            runtime.stop(proc, signal.SIGKILL)
        with connect(db_url) as conn:
            # a run a kill interrupted is still 'running', or was closed by the next worker as WorkerLost
            interrupted = conn.execute("select count(*) as n from ops.runs where status = 'running' "
                                       "or error like 'WorkerLost:%%'").fetchone()["n"]
        w = runtime.quiesce(db_url, adapters)
        assert interrupted >= 1, "no kill landed inside a run; the test proved nothing"
        assert mirror_problems(db_url, odoo.url, instance["id"], adapters) == []
        assert w.left == {}, f"the sync did not finish: {w.left} queue rows still open"
        assert w.repairs == {}, f"reconcile had to repair what the sync lost: {w.repairs}"
        assert_only_edit_vs_delete_dead_letters(db_url)
        client.close()


def test_odoo_failing_20_percent_of_calls_loses_and_duplicates_nothing(db_url, adapters, runtime):
    """With 5xx, 429, resets, serialization failures and hangs on 20% of Odoo calls, and every create
    answered 504 and committed a second later, everything still syncs once."""
    rng = random.Random(7)
    with MockOdooServer(demo=120) as odoo:
        instance = add_instance(db_url, odoo.url)
        client = admin(odoo)
        for step in range(3):
            churn(rng, client, db_url, instance["org_id"], step)
        with connect(db_url) as conn:  # creates that commit after their answer was lost are waited for 2 s
            conn.execute("update odoo.instances set request_limit_seconds = 2 where id = %s", (instance["id"],))
            for i in range(8):  # enough creates for the faults to meet
                conn.execute("insert into app.contacts (org_id, full_name, email) values (%s, %s, %s)",
                             (instance["org_id"], f"Faulted Create {i}", f"fc{i}@example.com"))
        odoo.faults = ("seed=42; *: error500=0.06, error429=0.05, retry_after=0.01, reset=0.03, "
                       "serialization=0.03, hang=0.03, hang_for=0.6; "
                       "res.partner/create: late_execute=1, after=1")
        kw = {"client_kw": {"timeout": 0.3, "retry": RetryPolicy(attempts=10, base=0.01, cap=0.05, retry_after_cap=0.02)},
              "pull_batch_size": 25}
        w = runtime.quiesce(db_url, adapters, max_cycles=30, **kw)  # faults on to the end, its audit included
        state = odoo.state()
        odoo.faults = None  # only so the test itself can read Odoo: the sync does nothing more
        faults = state.get("faults", {})
        assert sum(faults.get("fired", {}).values()) >= 20 and len(faults["fired"]) >= 4, f"faults did not fire: {faults}"
        assert mirror_problems(db_url, odoo.url, instance["id"], adapters) == []
        assert w.left == {}, f"the sync did not finish: {w.left} queue rows still open"
        assert w.repairs == {}, f"reconcile had to repair what the sync lost: {w.repairs}"
        assert_only_edit_vs_delete_dead_letters(db_url)
        client.close()


def test_several_workers_on_one_instance_do_everything_exactly_once(db_url, adapters, runtime):
    """Three workers at once on one instance: no duplicate in Odoo or the database, and clean SIGTERM exits."""
    rng = random.Random(3)
    with MockOdooServer(demo=150) as odoo, ThreadedServer(create_app(db_url)) as receiver:
        instance = add_instance(db_url, odoo.url)
        odoo.webhooks.configure(urls=[f"{receiver.url}/webhooks/odoo/{instance['id']}/{WEBHOOK_TOKEN}"])
        client = admin(odoo)
        procs = [runtime.worker(db_url, "--interval", "0.05", "--pull-batch-size", "20", "--retry-base", "0",
                                "--reconcile-every", "600", "--no-reconcile-at-start",
                                "--lookback", "1") for _ in range(3)]
        try:
            for step in range(6):
                churn(rng, client, db_url, instance["org_id"], step)
                time.sleep(0.7)
            time.sleep(2)
        finally:
            codes = [runtime.stop(p) for p in procs]
        errors = [runtime.errors(p) for p in procs]
        assert codes == [0, 0, 0], errors
        with connect(db_url) as conn:
            skipped = conn.execute("select count(*) as n from ops.runs where (counts->>'locked')::int = 1").fetchone()["n"]
        w = runtime.quiesce(db_url, adapters)
        assert skipped > 0, "the workers never met on a lock; the test proved nothing"
        assert mirror_problems(db_url, odoo.url, instance["id"], adapters) == []
        assert w.left == {}, f"the sync did not finish: {w.left} queue rows still open"
        assert w.repairs == {}, f"reconcile had to repair what the sync lost: {w.repairs}"
        assert_only_edit_vs_delete_dead_letters(db_url)
        client.close()


def test_records_changing_during_pagination_are_not_missed(db_url, adapters):
    """Edits, creates, deletes and late commits landing between pages all end up in the mirror."""
    rng = random.Random(99)
    with MockOdooServer(demo=300, faults="seed=5; res.partner/write: late_commit=0.3, lag=30") as odoo:
        instance = add_instance(db_url, odoo.url)
        editor = admin(odoo)
        client = fast_client(instance)
        original = client.search_read
        pages = {"n": 0}

        def search_read_with_churn(*args, **kwargs):
            result = original(*args, **kwargs)
            if args and args[0] == "res.partner":
                pages["n"] += 1
                ids = editor.search("res.partner", [], context={"active_test": False})
                for pid in rng.sample(ids, 5):
                    editor.write("res.partner", [pid], {"name": f"Renamed {pages['n']}-{pid}"})
                editor.create("res.partner", {"name": f"Mid-page {pages['n']}"})
                victim = rng.choice(editor.search("res.partner", [["is_company", "=", False]]))
                try:
                    editor.unlink("res.partner", [victim])
                except ValidationError:  # a sale order points to it: Odoo refuses, archive it instead
                    editor.write("res.partner", [victim], {"active": False})
            return result

        client.search_read = search_read_with_churn
        pull_entity(db_url, instance, adapters, adapters["partner"], client, batch_size=25)
        assert pages["n"] >= 10
        client.search_read = original
        pull_entity(db_url, instance, adapters, adapters["partner"], client, batch_size=25)
        pull_entity(db_url, instance, adapters, adapters["contact"], client)
        reconcile_entity(db_url, instance, adapters, adapters["partner"], client)
        reconcile_entity(db_url, instance, adapters, adapters["contact"], client)
        assert mirror_problems(db_url, odoo.url, instance["id"], adapters) == []
        client.close()
        editor.close()


def test_many_records_with_one_write_date_cross_pages_and_resumes(db_url, adapters, runtime):
    """2,000 partners created in one transaction (one write_date) all arrive once, even when a run stops mid-second."""
    with MockOdooServer(demo=0) as odoo:
        instance = add_instance(db_url, odoo.url)
        client = fast_client(instance)
        ids = client.execute_kw("res.partner", "create", [[{"name": f"Same Second {i}", "is_company": i % 7 == 0}
                                                           for i in range(2000)]])
        dates = {r["write_date"] for r in client.read("res.partner", ids, ["write_date"])}
        assert len(dates) == 1
        first = runtime.pull(db_url, instance, adapters, "partner", client, batch_size=150, max_batches=4)
        # the Python pull stops after 4 pages; the function after the first page past its cursor (a budget
        # smaller than one page): either way the run ends inside the one second
        assert first["read"] == (600 if runtime.name == "python" else 150)
        runtime.pull(db_url, instance, adapters, "partner", client, batch_size=150)
        rows = table_rows(db_url, "odoo.partners", instance["id"])
        assert set(ids) <= set(rows) and len(rows) == len(set(rows))
        with connect(db_url) as conn:
            cursor = conn.execute("select last_id from odoo.sync_cursors where entity='partner'").fetchone()
        assert cursor["last_id"] == max(ids)
        runtime.pull(db_url, instance, adapters, "contact", client)
        assert mirror_problems(db_url, odoo.url, instance["id"], adapters) == []
        client.close()


def test_early_webhooks_and_commits_beyond_the_lookback_lose_nothing(db_url, adapters, runtime):
    """Odoo 17 as it is: notifications posted before the call commits (an eager read sees the old
    record), a third of them lost, and writes committed with a write_date 300 s old, far behind the
    pull's lookback (the instance's 2 s request limit), while a worker runs on its own schedule,
    reconcile every 3 s. The rechecked events and the scheduled reconcile must leave nothing for the
    final audit."""
    rng = random.Random(1414)
    # a third of the notifications lost, so some late commits are told by nothing but reconcile
    with MockOdooServer(demo=100, webhook_drop=0.35) as odoo, ThreadedServer(create_app(db_url)) as receiver:
        instance = add_instance(db_url, odoo.url)
        with connect(db_url) as conn:
            conn.execute("update odoo.instances set request_limit_seconds = 2 where id = %s", (instance["id"],))
        odoo.webhooks.configure(urls=[f"{receiver.url}/webhooks/odoo/{instance['id']}/{WEBHOOK_TOKEN}"],
                                models=["res.partner"])
        client = admin(odoo)
        proc = runtime.worker(db_url, "--interval", "0.05", "--pull-batch-size", "20", "--retry-base", "0",
                              "--reconcile-every", "3", "--no-reconcile-at-start")
        try:
            time.sleep(1.5)  # the first pulls
            odoo.faults = ("seed=14; res.partner/write: slow_commit=0.4, after=0.8, late_commit=0.25, lag=300; "
                           "res.partner/unlink: slow_commit=0.6, after=0.8; res.partner/create: slow_commit=0.4, after=0.8")
            for step in range(5):
                churn(rng, client, db_url, instance["org_id"], step)
            fired = dict(odoo.state()["faults"]["fired"])
            odoo.faults = None
            time.sleep(3 + 2 + 2)  # a scheduled reconcile after the last change, and every recheck due
        finally:
            code = runtime.stop(proc)
        assert code == 0, runtime.errors(proc)
        assert fired.get("slow_commit", 0) >= 3 and fired.get("late_commit", 0) >= 2, fired
        with connect(db_url) as conn:
            done = conn.execute(
                "select coalesce(sum((counts->>'rechecked')::int) filter (where kind = 'process'), 0) as rechecked, "
                "coalesce(sum((counts->>'stale')::int) filter (where kind = 'reconcile'), 0) as stale "
                "from ops.runs").fetchone()
        assert done["rechecked"] > 0, "no event was read a second time; the test proved nothing"
        assert done["stale"] > 0, "no late commit needed the scheduled reconcile; the test proved nothing"
        w = runtime.quiesce(db_url, adapters)
        assert mirror_problems(db_url, odoo.url, instance["id"], adapters) == []
        assert w.left == {}, f"the sync did not finish: {w.left} queue rows still open"
        assert w.repairs == {}, f"the final audit had to repair what the sync lost: {w.repairs}"
        assert_only_edit_vs_delete_dead_letters(db_url)
        client.close()


def test_a_python_worker_and_the_functions_at_once_on_one_instance(db_url, adapters):
    """A Python worker and a FunctionWorker side by side on one instance, on one database, with churn
    and webhooks: they meet on the pull locks and everything is synced once (0 lost, 0 duplicated,
    0 mismatched)."""
    from tests.functions.support import deno
    deno()
    rng = random.Random(2718)
    functions = runtimes.FunctionsRuntime()
    with MockOdooServer(demo=150) as odoo, ThreadedServer(create_app(db_url)) as receiver:
        instance = add_instance(db_url, odoo.url)
        odoo.webhooks.configure(urls=[f"{receiver.url}/webhooks/odoo/{instance['id']}/{WEBHOOK_TOKEN}"])
        client = admin(odoo)
        options = ("--interval", "0.05", "--pull-batch-size", "20", "--retry-base", "0", "--reconcile-every", "600",
                   "--no-reconcile-at-start", "--lookback", "1")
        python = worker_process(db_url, *options)
        function = functions.worker(db_url, *options)
        try:
            for step in range(6):
                churn(rng, client, db_url, instance["org_id"], step)
                time.sleep(0.7)
            time.sleep(2)
        finally:
            codes = [stop_process(python), functions.stop(function)]
        assert codes == [0, 0], (python.stderr.read().decode()[-2000:], function.errors)
        assert function.invocations > 3
        with connect(db_url) as conn:
            workers = conn.execute("select count(distinct worker) as n from ops.runs where kind = 'pull' "
                                   "and (counts->>'read')::int > 0").fetchone()["n"]
            skipped = conn.execute("select count(*) as n from ops.runs where (counts->>'locked')::int = 1").fetchone()["n"]
        w = quiesce(db_url, adapters)
        assert workers >= 2, "one runtime never pulled anything; the test proved nothing"
        assert skipped > 0, "the runtimes never met on a lock; the test proved nothing"
        assert mirror_problems(db_url, odoo.url, instance["id"], adapters) == []
        assert w.left == {}, f"the sync did not finish: {w.left} queue rows still open"
        assert w.repairs == {}, f"reconcile had to repair what the sync lost: {w.repairs}"
        assert_only_edit_vs_delete_dead_letters(db_url)
        client.close()
