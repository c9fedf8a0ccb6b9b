"""Upsert Odoo records: look up their many2one targets, fetch the missing ones from Odoo (read by id and
upserted first, in the same transaction, up to `MAX_DEPTH` levels), convert (`bridge.sync.convert`),
write (`bridge.sync.writer`), then the same for many2many targets before the links. This is the one
place of the write path that calls Odoo; the pull, the event processor and reconcile call it.

Every function here runs inside the caller's transaction and never commits.
"""
from __future__ import annotations

from dataclasses import replace

import psycopg

from bridge.adapters import EntityAdapter
from bridge.odoo.client import OdooClient
from bridge.store import deadletters
from bridge.store.copytext import _copy_cell, bulk_columns, encode_copy  # noqa: F401 (tests import them from here)
from bridge.store.mirrors import local_ids, stage as _stage  # noqa: F401
from bridge.sync import convert, htmltext, writer
from bridge.sync.context import Context
from bridge.sync.convert import Prepared, new_ids

MAX_DEPTH = 3


def read_fields(adapter: type[EntityAdapter], client: OdooClient | None = None) -> list[str]:
    """Fields to read; with a client, only those the Odoo model has (a missing one reads as empty)."""
    fields = adapter.odoo_fields()
    ref = adapter.external_ref_field()
    if adapter.owner == "shared" and ref:
        fields.append(ref)
    if client is not None:
        known = client.model_fields(adapter.odoo_model)
        fields = [f for f in fields if f in known]
    return fields


def _fetch(conn, ctx: Context, tadapter, fetch: list[int], missing: set[int], found: dict, depth: int) -> list[dict]:
    """Read the records a page points at and does not mirror yet (`fetch`), upsert them first in the same
    transaction, and add the local ids of `missing` now stored to `found`. Returns what Odoo answered."""
    fetched = ctx.client.read(tadapter.odoo_model, fetch, read_fields(tadapter, ctx.client),
                              tadapter.read_context()) or []
    if fetched:
        upsert(conn, replace(ctx, counts={}), tadapter, fetched, depth=depth + 1)
        ctx.bump("dependencies_fetched", len(fetched))
        found.update(local_ids(conn, tadapter, ctx.instance["id"], missing))
    return fetched


def _fetch_missing(conn, ctx: Context, tadapter, missing: set[int], found: dict, depth: int) -> dict:
    """Fetch the missing many2one targets of one target entity (not those with an open dead letter: they
    would only be refused again, nor past the depth limit). Returns {odoo id: why it is still missing}."""
    dead = deadletters.open_for(conn, ctx.instance["id"], tadapter.odoo_model, missing)
    fetch = sorted(missing - dead.keys())
    if fetch and depth < MAX_DEPTH:
        fetched = _fetch(conn, ctx, tadapter, fetch, missing, found, depth)
        gone = set(fetch) - {r["id"] for r in fetched}
        dead.update(deadletters.open_for(conn, ctx.instance["id"], tadapter.odoo_model,
                                         set(fetch) - gone - found.keys()))
    else:
        gone = set()
    why = {}
    for oid in missing - found.keys():
        dl = dead.get(oid)
        why[oid] = (f"dead letter #{dl['id']} ({dl['error_class']}: {dl['reason'][:200]})" if dl
                    else "not in Odoo (read with active_test False)" if oid in gone
                    else "not fetched (dependency depth limit)" if depth >= MAX_DEPTH else "not stored")
    return why


def _resolve_targets(conn, ctx: Context, adapter, records: list[dict], own: dict[int, str], depth: int,
                     pending: dict | None, unresolved: dict) -> dict:
    """{(target entity, odoo id): local uuid} for every many2one of the records, fetching missing targets.

    With a ``pending`` dict, a missing target is not fetched: it gets a placeholder uuid, recorded in
    ``pending`` (placeholder -> (target, odoo id)), for `complete` to replace once earlier pages are in.
    A target that cannot be stored stays unresolved, and ``unresolved`` gets (target, odoo id) -> why.
    """
    resolved: dict = {}
    for target, ids in convert.wanted_targets(adapter, records).items():
        tadapter = ctx.adapters.get(target)
        if tadapter is None:
            continue
        found = local_ids(conn, tadapter, ctx.instance["id"], ids) if ids else {}
        if tadapter is adapter:  # a parent in this very page that is not stored yet: its provisional id
            for oid in (ids - found.keys()) & own.keys():
                found[oid] = own[oid]
        missing = ids - found.keys()
        if missing and pending is not None:
            for oid, placeholder in zip(sorted(missing), new_ids(len(missing))):
                pending[placeholder] = (target, oid)
                found[oid] = placeholder
        elif missing:
            for oid, why in _fetch_missing(conn, ctx, tadapter, missing, found, depth).items():
                unresolved[(target, oid)] = why
        for oid, lid in found.items():
            resolved[(target, oid)] = lid
    return resolved


def prepare(conn: psycopg.Connection, ctx: Context, adapter: type[EntityAdapter], records: list[dict],
            depth: int = 0, defer_missing: bool = False) -> Prepared:
    """Convert and validate Odoo records (as read, with id and write_date).

    It writes nothing itself unless a missing many2one target has to be fetched. With
    ``defer_missing`` it never writes: missing targets get placeholder uuids (valid for validation)
    and `complete` resolves them later, e.g. after the previous page of a pull has committed.
    """
    by_id = convert.latest(records)
    html = htmltext.html_fields(adapter, ctx.client) if ctx.client is not None else []
    records = convert.as_text(list(by_id.values()), html)
    # Provisional ids: used when a row is new. For an existing row ON CONFLICT keeps its id, and
    # references to it are resolved from the table, so no lookup of the page's own ids is needed.
    own = dict(zip(by_id, new_ids(len(by_id))))
    pending: dict = {}
    unresolved: dict = {}
    resolved = _resolve_targets(conn, ctx, adapter, records, own, depth, pending if defer_missing else None,
                                unresolved) if records else {}
    return convert.convert(adapter, records, instance=ctx.instance, adapters=ctx.adapters, own=own,
                           resolved=resolved, unresolved=unresolved, pending=pending, depth=depth)


def complete(conn: psycopg.Connection, ctx: Context, prepared: Prepared) -> bool:
    """Replace placeholder references by the targets' ids, now in the database. False if any target
    is still missing (the caller then upserts the records the ordinary way, which fetches it)."""
    if not prepared.pending:
        return True
    wanted: dict[str, set[int]] = {}
    for target, oid in prepared.pending.values():
        wanted.setdefault(target, set()).add(oid)
    found = {(target, oid): lid for target, ids in wanted.items()
             for oid, lid in local_ids(conn, ctx.adapters[target], ctx.instance["id"], ids).items()}
    if len(found) < len(prepared.pending):
        return False
    columns = [fm.column for fm in prepared.adapter.many2ones()]
    for row in prepared.rows:
        for column in columns:
            key = prepared.pending.get(row.get(column))
            if key is not None:
                row[column] = found[key]
    if prepared.copy_data is not None:  # placeholders are random uuids: nothing else can match them
        for placeholder, key in prepared.pending.items():
            prepared.copy_data = prepared.copy_data.replace(placeholder.encode(), found[key].encode())
    prepared.pending = {}
    return True


def _link_targets(conn, ctx: Context, tadapter, ids: set[int], depth: int) -> dict[int, str]:
    """{odoo id: local id} of many2many targets, fetching the ones not mirrored yet as a many2one's are
    (not when they have an open dead letter or past the depth limit). Those that still cannot be stored
    are left out of the result."""
    found = local_ids(conn, tadapter, ctx.instance["id"], ids) if ids else {}
    missing = ids - found.keys()
    if missing and depth < MAX_DEPTH:
        dead = deadletters.open_for(conn, ctx.instance["id"], tadapter.odoo_model, missing)
        fetch = sorted(missing - dead.keys())
        if fetch:
            _fetch(conn, ctx, tadapter, fetch, missing, found, depth)
    return found


def write(conn: psycopg.Connection, ctx: Context, prepared: Prepared) -> int:
    """Write prepared rows (and dead-letter the refused records), then their many2many links, fetching
    link targets not mirrored yet. Returns how many rows changed."""
    adapter = prepared.adapter
    n = writer.write_rows(conn, ctx, prepared)
    if adapter.many2manys and prepared.records:
        own, plan = writer.plan_links(conn, ctx, adapter, prepared.records)
        found = [_link_targets(conn, ctx, tadapter, wanted, prepared.depth) for _, tadapter, _, wanted in plan]
        writer.replace_links(conn, ctx, adapter, own, plan, found)
    writer.release_orphans(conn, ctx, prepared)
    return n


def upsert(conn: psycopg.Connection, ctx: Context, adapter: type[EntityAdapter], records: list[dict],
           depth: int = 0) -> int:
    """Upsert Odoo records (as read, with id and write_date). Returns how many rows changed."""
    if not records:
        return 0
    return write(conn, ctx, prepare(conn, ctx, adapter, records, depth))
