"""Checks shared by the guarantee tests: the mirror equals Odoo, every app contact exists once in Odoo."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

from bridge.store.db import connect
from bridge.sync.contracts import pull_order
from bridge.odoo.client import OdooClient
from bridge.sync.worker import Worker
from tests.runtime.support import SECRET_ENV, runtime_settings

ROOT = Path(__file__).resolve().parents[2]
PARTNER_FIELDS = ["name", "email", "phone", "is_company", "parent_id", "vat", "city", "active"]


def odoo_partners(odoo_url: str) -> dict[int, dict]:
    c = OdooClient(odoo_url, "odoo", "admin", "admin")
    try:
        rows = c.search_read("res.partner", [], PARTNER_FIELDS + ["ref", "comment"], context={"active_test": False})
    finally:
        c.close()
    return {r["id"]: r for r in rows}


def mirror_problems(db_url: str, odoo_url: str, instance_id, adapters: dict | None = None) -> list[str]:
    """Every difference between Odoo's partners and odoo.partners / app.contacts (empty = in sync), and,
    given the adapters, between every pulled entity and its mirror (`entity_problems`)."""
    remote = odoo_partners(odoo_url)
    problems: list[str] = []
    with connect(db_url) as conn:
        rows = conn.execute("select * from odoo.partners where instance_id = %s", (instance_id,)).fetchall()
        contacts = conn.execute("select * from app.contacts").fetchall()
    live = {r["odoo_id"]: r for r in rows if r["odoo_deleted_at"] is None}
    if len(rows) != len({r["odoo_id"] for r in rows}):
        problems.append("duplicate partner rows")
    if set(live) != set(remote):
        problems.append(f"partner ids differ: missing {sorted(set(remote) - set(live))[:10]} "
                        f"extra {sorted(set(live) - set(remote))[:10]}")
    by_uuid = {r["id"]: r["odoo_id"] for r in rows}
    for oid in set(live) & set(remote):
        row, rec = live[oid], remote[oid]
        want = {"name": rec["name"], "email": rec["email"] or None, "phone": rec["phone"] or None,
                "is_company": rec["is_company"], "vat": rec["vat"] or None, "city": rec["city"] or None,
                "active": rec["active"], "parent": rec["parent_id"][0] if rec["parent_id"] else None}
        got = {k: row[k] for k in want if k != "parent"}
        got["parent"] = by_uuid.get(row["parent_id"]) if row["parent_id"] else None
        if got != want:
            problems.append(f"partner {oid} differs: {got} != {want}")
    # app.contacts: each exactly once in Odoo, same values; every Odoo individual exactly once in the app
    linked: dict[int, int] = {}
    for c in contacts:
        if c["odoo_deleted_at"] is not None:
            continue
        refs = [oid for oid, r in remote.items() if r["ref"] == f"specgen:{c['id']}"]
        if len(refs) > 1:
            problems.append(f"contact {c['id']} created {len(refs)} times in Odoo")
        if c["odoo_id"] is None:
            problems.append(f"contact {c['id']} never reached Odoo")
            continue
        linked[c["odoo_id"]] = linked.get(c["odoo_id"], 0) + 1
        rec = remote.get(c["odoo_id"])
        if rec is None:
            problems.append(f"contact {c['id']} points at missing partner {c['odoo_id']}")
            continue
        if (c["full_name"], c["email"], c["phone"]) != (rec["name"], rec["email"] or None, rec["phone"] or None):
            problems.append(f"contact {c['id']} differs from partner {c['odoo_id']}: "
                            f"{(c['full_name'], c['email'], c['phone'])} vs {(rec['name'], rec['email'], rec['phone'])}")
    individuals = {oid for oid, r in remote.items() if not r["is_company"]}
    if missing := individuals - set(linked):
        problems.append(f"Odoo individuals missing from app.contacts: {sorted(missing)[:10]}")
    if dup := [oid for oid, n in linked.items() if n > 1]:
        problems.append(f"app.contacts duplicates for {dup[:10]}")
    if adapters is not None:
        problems += entity_problems(db_url, odoo_url, instance_id, adapters)
    return problems


def entity_problems(db_url: str, odoo_url: str, instance_id, adapters: dict) -> list[str]:
    """Every entity the sync pulled, not only partners: each Odoo record of the adapter's domain (archived
    included) has one live row, equal column by column (many2ones through the target's mirror), and
    no live row is left for a record Odoo no longer has there."""
    from bridge.sync import htmltext
    from bridge.adapters import EntityAdapter
    from bridge.sync.upsert import read_fields
    client = OdooClient(odoo_url, "odoo", "admin", "admin")
    problems: list[str] = []
    try:
        with connect(db_url) as conn:
            def resolve(target: str, odoo_id: int):
                table = adapters[target].qualified_table()
                row = conn.execute(f"select id from {table} where instance_id = %s and odoo_id = %s",
                                   (instance_id, odoo_id)).fetchone()
                return str(row["id"]) if row else None

            synced = {r["entity"] for r in conn.execute(
                "select entity from odoo.sync_cursors where instance_id = %s", (instance_id,)).fetchall()}
            for adapter in pull_order(adapters):
                adapter: type[EntityAdapter]
                if not adapter.pulls() or adapter.entity not in synced:  # only what this test syncs
                    continue
                html = htmltext.html_fields(adapter, client)
                remote = {r["id"]: htmltext.record_to_text(r, html) for r in client.search_read(
                    adapter.odoo_model, adapter.odoo_domain(), read_fields(adapter, client),
                    context=adapter.read_context())}
                rows = conn.execute(f"select * from {adapter.qualified_table()} where instance_id = %s "
                                    "and odoo_id is not null and odoo_deleted_at is null", (instance_id,)).fetchall()
                live = {}
                for r in rows:
                    if r["odoo_id"] in live:
                        problems.append(f"{adapter.entity}: two live rows for Odoo id {r['odoo_id']}")
                    live[r["odoo_id"]] = r
                if set(remote) != set(live):
                    problems.append(f"{adapter.entity}: ids differ: missing {sorted(set(remote) - set(live))[:10]} "
                                    f"extra {sorted(set(live) - set(remote))[:10]}")
                def same(values: dict) -> dict:  # numeric(12,2) keeps 14896.80, Odoo sends 14896.8: one value
                    return adapter.comparable({k: (v.normalize() if isinstance(v, Decimal) else
                                                   str(v) if isinstance(v, uuid.UUID) else v)
                                               for k, v in values.items()})

                for oid in sorted(set(remote) & set(live)):
                    want = same(adapter.from_odoo(remote[oid], resolve))
                    got = same(dict(live[oid]))
                    if got != want:
                        diff = {k: (got.get(k), want.get(k)) for k in want if got.get(k) != want.get(k)}
                        problems.append(f"{adapter.entity} {oid} differs (mirror, odoo): {diff}")
    finally:
        client.close()
    return problems


def queue_depth(db_url: str) -> dict:
    with connect(db_url) as conn:
        return conn.execute(
            "select (select count(*) from odoo.outbox where status in ('pending','processing')) as outbox, "
            "(select count(*) from odoo.webhook_events where status in ('pending','processing')) as events, "
            "(select count(*) from odoo.dead_letters) as dead").fetchone()


def quiesce(db_url: str, adapters: dict, max_cycles: int = 8, **kw) -> Worker:
    """Run worker cycles in-process (short lease) until the queues are empty, then audit with reconcile.

    The cycles never reconcile, and re-read only 1 s before the cursor: either would quietly repair what
    a broken pull lost. At the end one
    reconcile per pulled entity audits the mirror, and ``w.repairs`` holds what it had to fetch or
    re-read ({entity: n}, only entities with repairs), and ``w.left`` the queue rows still open. A
    correct sync leaves both empty; tombstoning
    records deleted in Odoo is reconcile's own job and is not counted."""
    from bridge.store import db as bdb
    from bridge.sync.pull import reconcile_entity
    kw.setdefault("retry_base", 0.0)
    # a short lookback: re-reading the whole (young) test data on every pull would also hide a lost record
    kw.setdefault("lookback", 1.0)
    kw.setdefault("settings", runtime_settings())
    w = Worker(db_url, adapters, interval=0, reconcile_every=float("inf"), lease=0.2, **kw)
    for _ in range(max_cycles):
        time.sleep(0.25)  # let leases of killed workers expire
        with connect(db_url) as conn:  # leftovers of killed workers become claimable now
            # (not a create that got no answer: it waits out the request limit, as it must)
            conn.execute("update odoo.outbox set available_at = now() where status = 'pending' "
                         "and coalesce(last_error, '') not like 'AmbiguousCreate%%'")
            conn.execute("update odoo.webhook_events set available_at = now() where status = 'pending'")
        w.cycle()
        depth = queue_depth(db_url)
        if not depth["outbox"] and not depth["events"]:
            w.cycle()  # one more pull after the last push, so pushed records come back as rows
            break
    depth = queue_depth(db_url)
    w.left = {k: depth[k] for k in ("outbox", "events") if depth[k]}  # work the cycles did not finish
    w.repairs = {}
    with connect(db_url) as conn:
        instances = bdb.instances(conn)
    for inst in instances:
        client = w.clients(inst)
        for adapter in pull_order(adapters):
            if not adapter.pulls():
                continue
            counts = reconcile_entity(db_url, inst, adapters, adapter, client)
            n = counts.get("fetched_missing", 0) + counts.get("stale", 0)
            if n:
                w.repairs[adapter.entity] = w.repairs.get(adapter.entity, 0) + n
    w.clients.close()
    return w


def worker_process(db_url: str, *extra: str) -> subprocess.Popen:
    env = {**os.environ, SECRET_ENV: "admin", "PYTHONPATH": str(ROOT), "SPECGEN_LOG_LEVEL": "warning"}
    return subprocess.Popen([sys.executable, "-c", "from bridge.cli.sync import sync; sync()", "worker",
                             "--database-url", db_url, "--log-level", "warning", *extra],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)


def stop_process(proc: subprocess.Popen, sig=signal.SIGTERM, timeout: float = 20) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(5)
