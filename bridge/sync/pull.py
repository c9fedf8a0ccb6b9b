"""Pull: Odoo -> PostgreSQL per (instance, entity), with a keyset cursor on (write_date, id).

- pages follow bridge/sync/cursor.py (scan ``write_date >= S`` ordered ``write_date, id``, or drain one
  second by id), correct although Odoo sends ``write_date`` in whole seconds and compares domains
  against the stored microseconds; a full page that does not move the cursor fails the run
  (``PaginationStuck``) instead of looping; the adapter's domain is added, with ``active_test: False``
  so archived records arrive;
- each run starts ``lookback`` seconds before the stored cursor, because write_date is the start
  of Odoo's transaction and a late commit can land behind a cursor that already passed it
  (upserts are idempotent, so re-reading costs only bandwidth);
- each page is upserted together with its cursor in ONE transaction (bulk COPY path);
- a session advisory lock per (instance, entity) makes a concurrent worker skip rather than pull the
  same records twice; the lock dies with the connection if the worker is killed;
- reconcile compares all ids: ids gone from Odoo are tombstoned, ids missing locally are fetched.
"""
from __future__ import annotations

import contextvars
import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Callable

import psycopg

from bridge.adapters import EntityAdapter, format_odoo_datetime, parse_odoo_datetime
from bridge.observe.context import CALL_TRACE
from bridge.odoo.client import OdooClient
from bridge.store import cursors, db, mirrors
from bridge.store.copytext import encode_copy
from bridge.store.runs import Run
from bridge.sync import cursor as keyset
from bridge.sync.context import Context
from bridge.sync.convert import Prepared
from bridge.sync.upsert import complete, prepare, read_fields, upsert, write
from bridge.sync.writer import tombstone


def instance_lookback(instance: dict) -> dt.timedelta:
    """How far behind its cursor a pull starts: the instance's request limit (a call may commit that long
    after its write_date)."""
    return dt.timedelta(seconds=db.request_limit(instance))
ORDER = "write_date asc, id asc"


def keyset_domain(domain: list, last_write_date: dt.datetime | None, last_id: int) -> list:
    """The first page after the stored cursor (last_write_date, last_id) within ``domain`` (an
    adapter's `odoo_domain()`); see bridge/sync/cursor.py for the pages after it."""
    return keyset.start(last_write_date, last_id).domain(domain)


def read_cursor(conn, instance_id, entity: str) -> tuple[dt.datetime | None, int]:
    return cursors.read(conn, instance_id, entity)


save_cursor = cursors.save
HEAD_ORDER = "write_date desc, id desc"


def save_head(conn, instance_id, adapter, client: OdooClient) -> None:
    """Ask Odoo for the newest write_date in the adapter's domain (one record, one field) and record it
    with the cursor: the cursor's distance to it is the lag, i.e. how far the mirror is behind Odoo
    (not how long Odoo has been quiet)."""
    head = client.search_read(adapter.odoo_model, adapter.odoo_domain(), ["write_date"], limit=1, order=HEAD_ORDER,
                              context=adapter.read_context())
    write_date = parse_odoo_datetime(head[0]["write_date"]) if head and head[0].get("write_date") else None
    cursors.save_head(conn, instance_id, adapter, write_date)
    conn.commit()


def submit(pool: ThreadPoolExecutor, fn, *args):
    """``pool.submit`` in a copy of this context: the trace id and the current run (which records
    debug Odoo calls) follow the work into the pool's thread."""
    return pool.submit(contextvars.copy_context().run, fn, *args)


class _Pages:
    """The pages of one pull. Three stages overlap: the next page is read from Odoo (prefetch thread)
    while this one is converted and validated (the caller's thread) and the previous one is written and
    committed (writer thread, on the connection that holds the lock). Pages still commit one by one, in
    order."""

    def __init__(self, conn, run: Run, ctx: Context, adapter, client: OdooClient, limit: int, progress):
        self.conn, self.run, self.ctx, self.adapter, self.client = conn, run, ctx, adapter, client
        self.limit, self.progress = limit, progress
        self.fields = read_fields(adapter, client)
        self.batches = 0
        self.inflight: list = []

    def fetch(self, pos: keyset.Position) -> list[dict]:
        return self.client.search_read(self.adapter.odoo_model, pos.domain(self.adapter.odoo_domain()), self.fields,
                                       limit=self.limit, order=pos.order, context=self.adapter.read_context())

    def write_page(self, prepared: Prepared | None, page: list[dict], wd, i) -> None:
        conn, ctx, adapter = self.conn, self.ctx, self.adapter
        try:
            db.as_sync(conn, self.run.trace_id)
            # page + cursor commit together; losing the very last commit in a crash only means
            # re-reading that page, so the commit need not wait for the WAL flush
            db.lazy_commit(conn)
            if prepared is None:  # a target is not in the database: fetch it on this connection
                upsert(conn, ctx, adapter, page)
            else:
                scratch = replace(ctx, counts={})  # counted only if the write holds
                try:
                    with conn.transaction():  # a savepoint
                        write(conn, scratch, prepared)
                except psycopg.errors.ForeignKeyViolation:
                    # a reference resolved while the page waited went stale (e.g. the processor
                    # inserted a parent this page also holds): resolve again, here, and write
                    ctx.bump("pages_resolved_again")
                    upsert(conn, ctx, adapter, page)
                else:
                    for key, n in scratch.counts.items():  # the main thread bumps only between writes
                        ctx.bump(key, n)
            save_cursor(conn, ctx.instance["id"], adapter, wd, i, self.run.id)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise

    def finish_write(self) -> None:
        if not self.inflight:
            return
        future, n = self.inflight.pop()
        future.result()
        self.batches += 1
        self.run.counts["read"] += n
        self.run.counts["batches"] = self.batches
        if self.progress:
            self.progress(n)

    def pull(self, url: str, last_wd, last_id: int, max_batches: int | None, should_stop) -> tuple:
        """Read, convert and write every page from the cursor (last_wd, last_id). Returns the last saved."""
        ctx, adapter, limit, inflight = self.ctx, self.adapter, self.limit, self.inflight
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pull-prefetch") as pool, \
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="pull-writer") as writer, \
                db.connect(url) as rconn:
            pos = keyset.start(last_wd, last_id)
            pending = submit(pool, self.fetch, pos)
            while True:
                page = pending.result()
                pending = None
                # raises PaginationStuck (the run fails, loudly) when a full page would not move on
                save, pos = keyset.advance(pos, page, limit)
                more = pos is not None and (max_batches is None or self.batches + len(inflight) + 1 < max_batches)
                if more:
                    pending = submit(pool, self.fetch, pos)
                if not page:  # an empty drain of one second: the scan goes on from the next
                    if more:
                        continue
                    break
                last_wd, last_id = save
                prepared = prepare(rconn, ctx, adapter, page, defer_missing=True)
                encode_copy(prepared)
                rconn.rollback()  # read-only: end the snapshot so the next page sees new commits
                self.finish_write()
                # targets written by the previous page are committed now; any still missing are
                # fetched from Odoo by the ordinary upsert, on the writer's connection
                if not complete(rconn, ctx, prepared):
                    prepared = None
                rconn.rollback()
                inflight.append((submit(writer, self.write_page, prepared, page, last_wd, last_id), len(page)))
                if not more:
                    break
                if should_stop is not None and should_stop():
                    self.run.counts["stopped_early"] = 1
                    break
            self.finish_write()
        return last_wd, last_id


def pull_entity(url: str, instance: dict, adapters: dict, adapter: type[EntityAdapter], client: OdooClient, *,
                lookback: dt.timedelta | None = None, batch_size: int | None = None,
                max_batches: int | None = None, full: bool = False,
                progress: Callable[[int], None] | None = None,
                should_stop: Callable[[], bool] | None = None, trace_id: str | None = None,
                mirror_mappings: bool = False) -> dict:
    """Pull one entity of one instance. Returns the run's counts (``locked`` if another worker has it).

    The run gets its own trace id, unless the caller continues one (``trace_id``, or an enclosing
    ``client.traced(...)``); every Odoo call of the run carries it.

    ``should_stop`` is checked between pages: a shutdown stops after the current page's commit.
    ``lookback`` overrides the instance's own (`instance_lookback`). ``mirror_mappings`` (the
    settings' switch, which the caller passes) also writes odoo.entity_mappings for Odoo-owned mirrors.
    """
    with Run(url, "pull", instance["id"], adapter.entity, trace_id=trace_id or CALL_TRACE.get()) as run, \
            db.connect(url) as conn:
        if not db.try_lock(conn, "pull", instance["id"], adapter.entity):
            run.counts["locked"] = 1
            run.event("skipped: another worker holds the pull lock", entity=adapter.entity)
            return dict(run.counts)
        try:
            ctx = Context(instance, adapters, client, run.trace_id, run.counts, source="pull",
                          mirror_mappings=mirror_mappings)
            save_head(conn, instance["id"], adapter, client)  # before the pages: a pull that fails shows its lag
            last_wd, last_id = (None, 0) if full else read_cursor(conn, instance["id"], adapter.entity)
            conn.commit()
            if last_wd is not None:
                last_wd, last_id = last_wd - (lookback if lookback is not None else instance_lookback(instance)), 0
            pages = _Pages(conn, run, ctx, adapter, client, batch_size or adapter.batch_size, progress)
            last_wd, last_id = pages.pull(url, last_wd, last_id, max_batches, should_stop)
            run.event("pull finished", entity=adapter.entity, read=run.counts["read"], batches=pages.batches,
                      cursor=[last_wd.isoformat() if last_wd else None, last_id])
            return dict(run.counts)
        finally:
            db.unlock(conn, "pull", instance["id"], adapter.entity)


def reconcile_entity(url: str, instance: dict, adapters: dict, adapter: type[EntityAdapter],
                     client: OdooClient, *, chunk: int = 1000, trace_id: str | None = None,
                     mirror_mappings: bool = False) -> dict:
    """Compare ids and write_dates with Odoo: tombstone local rows whose record is gone, fetch records
    missing locally, and re-read records whose write_date differs from the mirror's (a change that
    committed later than the pull's lookback, so the cursor had passed its write_date already)."""
    with Run(url, "reconcile", instance["id"], adapter.entity, trace_id=trace_id or CALL_TRACE.get()) as run, \
            db.connect(url) as conn:
        if not db.try_lock(conn, "pull", instance["id"], adapter.entity):
            run.counts["locked"] = 1
            return dict(run.counts)
        try:
            ctx = Context(instance, adapters, client, run.trace_id, run.counts, source="pull",
                          mirror_mappings=mirror_mappings)
            remote_wd = {r["id"]: r.get("write_date") or False for r in client.search_read(
                adapter.odoo_model, adapter.odoo_domain(), ["write_date"], context=adapter.read_context())}
            remote = set(remote_wd)
            rows = mirrors.linked_rows(conn, adapter, instance["id"])
            conn.commit()
            alive = {r["odoo_id"] for r in rows if not r["dead"]}
            known = {r["odoo_id"] for r in rows}
            # both sides as Odoo sends them (to the second), so only a real change differs
            stale = sorted(r["odoo_id"] for r in rows if not r["dead"] and r["odoo_id"] in remote
                           and format_odoo_datetime(r["odoo_write_date"]) != remote_wd[r["odoo_id"]])
            gone_candidates = sorted(alive - remote)
            # out of the domain is not deleted: only ids that no longer exist at all are tombstoned
            still = client.existing_ids(adapter.odoo_model, gone_candidates, chunk=chunk)
            gone = [i for i in gone_candidates if i not in still]
            missing = sorted(remote - known) + sorted((remote & known) - alive) + stale
            run.counts["remote"], run.counts["local"] = len(remote), len(alive)
            run.counts["stale"] = len(stale)
            db.as_sync(conn, run.trace_id)
            tombstone(conn, ctx, adapter, gone)
            conn.commit()
            for i in range(0, len(missing), chunk):
                records = client.read(adapter.odoo_model, missing[i:i + chunk], read_fields(adapter, client),
                                      adapter.read_context())
                db.as_sync(conn, run.trace_id)
                upsert(conn, ctx, adapter, records)
                conn.commit()
                run.counts["fetched_missing"] += len(records)
            run.event("reconcile finished", entity=adapter.entity, gone=len(gone), missing=len(missing) - len(stale),
                      stale=len(stale))
            return dict(run.counts)
        finally:
            db.unlock(conn, "pull", instance["id"], adapter.entity)
