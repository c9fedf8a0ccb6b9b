"""Write Odoo records into their tables: the bulk path (COPY into a staging table, then one
INSERT ... ON CONFLICT (instance_id, odoo_id)) for Odoo-owned mirrors, and a per-record path that
applies the conflict policy for shared entities. Used by pull, the event processor and reconcile.

Every function here runs inside the caller's transaction and never commits.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

import psycopg
from psycopg.rows import tuple_row

from bridge.store import deadletters

from bridge.sync import conflicts, htmltext
from bridge.adapters import ConversionError, EntityAdapter, canonical_json, m2o_id, parse_odoo_datetime, values_hash
from bridge.store.copytext import _copy_cell, bulk_columns, encode_copy  # noqa: F401 (the pull and tests import them from here)
from bridge.odoo.client import OdooClient

REF_PREFIX = "specgen:"
MAX_DEPTH = 3


@dataclass
class Context:
    """What a write needs: the instance, every adapter, an Odoo client and the trace id."""

    instance: dict
    adapters: dict
    client: OdooClient
    trace_id: str
    counts: dict = field(default_factory=dict)
    source: str = "pull"
    # Odoo-owned mirrors already map (instance_id, odoo_id) -> id in their own unique key; a copy in
    # odoo.entity_mappings costs ~45% of the bulk write and as much disk again, so it is off by default
    # (SPECGEN_SYNC_MIRROR_MAPPINGS=1 turns it on). Shared entities always write theirs (synced_values).
    mirror_mappings: bool = field(default_factory=lambda: os.environ.get("SPECGEN_SYNC_MIRROR_MAPPINGS", "0") == "1")

    def bump(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n


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


def local_ids(conn, adapter: type[EntityAdapter], instance_id, odoo_ids) -> dict[int, str]:
    with conn.cursor(row_factory=tuple_row) as cur:
        rows = cur.execute(f"select odoo_id, id::text from {adapter.qualified_table()} "
                           "where instance_id = %s and odoo_id = any(%s::int[])", (instance_id, list(odoo_ids))).fetchall()
    return dict(rows)


def new_ids(n: int) -> list[str]:
    """n random version-4 uuids as text, ~10x faster than str(uuid.uuid4()) in a loop."""
    raw = os.urandom(16 * n).hex()
    return [f"{raw[i:i + 8]}-{raw[i + 8:i + 12]}-4{raw[i + 13:i + 16]}-{'89ab'[int(raw[i + 16], 16) & 3]}"
            f"{raw[i + 17:i + 20]}-{raw[i + 20:i + 32]}" for i in range(0, 32 * n, 32)]


def _resolve_targets(conn, ctx: Context, adapter, records: list[dict], own: dict[int, str], depth: int,
                     pending: dict | None = None, unresolved: dict | None = None) -> dict:
    """{(target entity, odoo id): local uuid} for every many2one of the records, fetching missing targets.

    With a ``pending`` dict, a missing target is not fetched: it gets a placeholder uuid, recorded in
    ``pending`` (placeholder -> (target, odoo id)), for `complete` to replace once earlier pages are in.
    A target that has an open dead letter is not fetched again (it would only be refused again): it
    stays unresolved, and ``unresolved`` gets (target, odoo id) -> why, for the records' refusals.
    """
    wanted: dict[str, set[int]] = {}
    m2os = adapter.many2ones()
    for rec in records:
        for fm in m2os:
            oid = m2o_id(rec.get(fm.odoo_field))
            if oid:
                wanted.setdefault(fm.target, set()).add(oid)
    resolved: dict = {}
    for target, ids in wanted.items():
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
            dead = deadletters.open_for(conn, ctx.instance["id"], tadapter.odoo_model, missing)
            fetch = sorted(missing - dead.keys())
            if fetch and depth < MAX_DEPTH:
                fetched = _fetch_targets(conn, ctx, tadapter, fetch, missing, found, depth)
                gone = set(fetch) - {r["id"] for r in fetched}
                dead.update(deadletters.open_for(conn, ctx.instance["id"], tadapter.odoo_model,
                                                 set(fetch) - gone - found.keys()))
            else:
                gone = set()
            if unresolved is not None:
                for oid in missing - found.keys():
                    dl = dead.get(oid)
                    unresolved[(target, oid)] = (
                        f"dead letter #{dl['id']} ({dl['error_class']}: {dl['reason'][:200]})" if dl
                        else "not in Odoo (read with active_test False)" if oid in gone
                        else "not fetched (dependency depth limit)" if depth >= MAX_DEPTH else "not stored")
        for oid, lid in found.items():
            resolved[(target, oid)] = lid
    return resolved


def _dead(conn, ctx: Context, adapter, record: dict, reason: str, error_class: str) -> None:
    _, created = deadletters.add(conn, source=ctx.source, instance_id=ctx.instance["id"], entity=adapter.entity,
                                 odoo_model=adapter.odoo_model, record_ref=record.get("id"), payload=record,
                                 reason=reason, error_class=error_class, attempts=1, trace_id=ctx.trace_id)
    ctx.bump("dead_lettered" if created else "dead_letter_seen_again")


@dataclass
class Prepared:
    """Records converted and validated, ready to write: rows (with their records) and refusals."""

    adapter: type[EntityAdapter]
    rows: list[dict]
    records: list[dict]
    refused: list[tuple[dict, str, str]]  # (record, reason, error class) -> dead letters
    pending: dict = field(default_factory=dict)  # placeholder uuid -> (target entity, odoo id)
    copy_data: bytes | None = None  # the rows as COPY text, once `encode_copy` has run
    depth: int = 0  # dependency depth (fetching a missing many2one or many2many target adds one)


def prepare(conn: psycopg.Connection, ctx: Context, adapter: type[EntityAdapter], records: list[dict],
            depth: int = 0, defer_missing: bool = False) -> Prepared:
    """Convert and validate Odoo records (as read, with id and write_date).

    It writes nothing itself unless a missing many2one target has to be fetched. With
    ``defer_missing`` it never writes: missing targets get placeholder uuids (valid for validation)
    and `complete` resolves them later, e.g. after the previous page of a pull has committed.
    """
    # as text once: each row carries them, and str() of a UUID costs more than the rest of its COPY cell
    instance_id, org_id = str(ctx.instance["id"]), str(ctx.instance["org_id"])
    # one version per id: the latest write_date (a page never repeats an id, but events can)
    by_id: dict[int, dict] = {}
    for rec in records:
        prev = by_id.get(rec["id"])
        if prev is None or (rec.get("write_date") or "") >= (prev.get("write_date") or ""):
            by_id[rec["id"]] = rec
    records = list(by_id.values())
    # Html fields arrive as sanitized markup; the app and every comparison hold their text (bridge/sync/htmltext)
    html = htmltext.html_fields(adapter, ctx.client) if ctx.client is not None else []
    if html:
        records = [htmltext.record_to_text(rec, html) for rec in records]
    # Provisional ids: used when a row is new. For an existing row ON CONFLICT keeps its id, and
    # references to it are resolved from the table, so no lookup of the page's own ids is needed.
    own = dict(zip(by_id, new_ids(len(by_id))))
    pending: dict = {}
    unresolved: dict = {}
    resolved = _resolve_targets(conn, ctx, adapter, records, own, depth, pending if defer_missing else None,
                                unresolved) if records else {}
    rows, good, refused = [], [], []
    required = [fm for fm in adapter.many2ones() if not fm.nullable]

    def resolve(target: str, oid: int) -> str | None:
        return resolved.get((target, oid))
    for rec in records:
        try:
            values = adapter.from_odoo(rec, resolve)
        except ConversionError as exc:
            refused.append((rec, str(exc), "ConversionError"))
            continue
        if required and (orphan := deadletters.orphan_refusal(ctx, required, rec, values, unresolved)):
            refused.append(orphan)
            continue
        values.update(id=own[rec["id"]], org_id=org_id, instance_id=instance_id, odoo_id=rec["id"],
                      odoo_write_date=parse_odoo_datetime(rec.get("write_date")))
        rows.append(values)
        good.append(rec)
    out = Prepared(adapter, [], [], refused, pending, depth=depth)
    for row, rec, err in zip(rows, good, adapter.validate(rows) if rows else []):
        if err:
            refused.append((rec, f"validation failed: {err}", "ValidationError"))
        else:
            out.rows.append(row)
            out.records.append(rec)
    return out


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


def write(conn: psycopg.Connection, ctx: Context, prepared: Prepared) -> int:
    """Write prepared rows (and dead-letter the refused records). Returns how many rows changed."""
    adapter = prepared.adapter
    if prepared.pending:
        raise ValueError("prepared rows still hold placeholder references: call complete() first")
    for rec, reason, error_class in prepared.refused:
        _dead(conn, ctx, adapter, rec, reason, error_class)
        if error_class == deadletters.ORPHAN_CLASS:
            ctx.bump("orphaned")
    if adapter.owner == "shared":
        n = sum(_upsert_shared(conn, ctx, adapter, row, rec) for row, rec in zip(prepared.rows, prepared.records))
    else:
        if prepared.copy_data is None:
            encode_copy(prepared)
        n = _upsert_bulk(conn, ctx, adapter, prepared.rows, prepared.copy_data)
    if adapter.many2manys and prepared.records:
        replace_links(conn, ctx, adapter, prepared.records, prepared.depth)
    if prepared.records and deadletters.is_required_parent(ctx, adapter):
        # children refused while this record was missing can be stored now: replay their dead letters
        released = deadletters.release_orphans(conn, ctx.instance["id"], adapter.odoo_model,
                                               [r["id"] for r in prepared.records], trace_id=ctx.trace_id)
        if released:
            ctx.bump("orphans_released", released)
    return n


def _many2many_targets(conn, ctx: Context, tadapter, ids: set[int], depth: int) -> dict[int, str]:
    """{odoo id: local id} of many2many targets, fetching the ones not mirrored yet as a many2one's are
    (read by id and upserted first, same transaction; not when they have an open dead letter or past the
    depth limit). Those that still cannot be stored are left out of the result."""
    found = local_ids(conn, tadapter, ctx.instance["id"], ids) if ids else {}
    missing = ids - found.keys()
    if missing and depth < MAX_DEPTH:
        dead = deadletters.open_for(conn, ctx.instance["id"], tadapter.odoo_model, missing)
        fetch = sorted(missing - dead.keys())
        if fetch:
            _fetch_targets(conn, ctx, tadapter, fetch, missing, found, depth)
    return found


def _fetch_targets(conn, ctx: Context, tadapter, fetch: list[int], missing: set[int], found: dict,
                   depth: int) -> list[dict]:
    """Read the records a page points at and does not mirror yet (`fetch`), upsert them first in the same
    transaction, and add the local ids of `missing` now stored to `found`. Returns what Odoo answered."""
    fetched = ctx.client.read(tadapter.odoo_model, fetch, read_fields(tadapter, ctx.client),
                              tadapter.read_context()) or []
    if fetched:
        upsert(conn, replace(ctx, counts={}), tadapter, fetched, depth=depth + 1)
        ctx.bump("dependencies_fetched", len(fetched))
        found.update(local_ids(conn, tadapter, ctx.instance["id"], missing))
    return fetched


def replace_links(conn, ctx: Context, adapter, records: list[dict], depth: int = 0) -> int:
    """Make the join rows of each record's many2manys the set Odoo holds (a list of ids per field):
    links Odoo no longer has are deleted, new ones inserted, unchanged ones left alone (no audit churn).
    A linked record that cannot be stored (see `_many2many_targets`) is left out, as an optional
    many2one to it would be NULL; ``links_skipped`` counts them. Returns how many rows changed."""
    instance_id = ctx.instance["id"]
    own = local_ids(conn, adapter, instance_id, [r["id"] for r in records])
    shared = adapter.owner == "shared" and adapter.pushes()
    if shared and own:
        # an app change of these records still waits for the push: it resolves the links against the
        # base (bridge/sync/push.py), so the pull leaves them as the app has them
        waiting = {str(r["local_id"]) for r in conn.execute(
            "select distinct local_id from odoo.outbox where instance_id = %s and entity = %s "
            "and local_id = any(%s::uuid[]) and status in ('pending', 'processing')",
            (instance_id, adapter.entity, list(own.values())), prepare=False).fetchall()}
        own = {k: v for k, v in own.items() if str(v) not in waiting}
    agreed: dict[str, dict[str, list[int]]] = {}  # local id -> {relation: Odoo ids both sides now hold}
    changed = 0
    for rel in adapter.many2manys:
        tadapter = ctx.adapters.get(rel.target)
        if tadapter is None:
            continue
        # a record whose field was not read (an older payload, or a model without it) keeps its links
        present = [r for r in records if rel.odoo_field in r and r["id"] in own]
        if not present:
            continue
        wanted = {int(oid) for r in present for oid in (r[rel.odoo_field] or [])}
        found = _many2many_targets(conn, ctx, tadapter, wanted, depth)
        sources, targets = [], []
        for r in present:
            for oid in dict.fromkeys(r[rel.odoo_field] or []):
                if oid in found:
                    sources.append(own[r["id"]])
                    targets.append(found[oid])
                    agreed.setdefault(str(own[r["id"]]), {}).setdefault(rel.relation, []).append(int(oid))
                else:
                    ctx.bump("links_skipped")
        table, src, dst = rel.qualified_table(), f'"{rel.source_column}"', f'"{rel.target_column}"'
        with conn.cursor() as cur:
            cur.execute(f"delete from {table} j where j.{src} = any(%s::uuid[]) and (j.{src}, j.{dst}) not in "
                        "(select * from unnest(%s::uuid[], %s::uuid[]))",
                        ([own[r["id"]] for r in present], sources, targets))
            changed += cur.rowcount
            if adapter.tenant_column:
                cur.execute(f'insert into {table} ("{adapter.tenant_column}", {src}, {dst}) '
                            "select %s, s, t from unnest(%s::uuid[], %s::uuid[]) u(s, t) "
                            f"on conflict ({src}, {dst}) do nothing",
                            (ctx.instance["org_id"], sources, targets))
            else:
                cur.execute(f"insert into {table} ({src}, {dst}) select s, t from unnest(%s::uuid[], %s::uuid[]) "
                            f"u(s, t) on conflict ({src}, {dst}) do nothing", (sources, targets))
            changed += cur.rowcount
        if shared:
            for r in present:
                agreed.setdefault(str(own[r["id"]]), {}).setdefault(rel.relation, [])
    if shared and agreed:
        # the base the push compares the app's links with (entity_mappings.synced_values, LINKS_KEY)
        conn.execute(
            "update odoo.entity_mappings m set synced_values = coalesce(m.synced_values, '{}'::jsonb) || "
            "jsonb_build_object(%s::text, coalesce(m.synced_values -> %s, '{}'::jsonb) || u.links) "
            "from (select * from unnest(%s::uuid[], %s::jsonb[]) u(local_id, links)) u "
            "where m.instance_id = %s and m.entity = %s and m.local_id = u.local_id",
            (LINKS_KEY, LINKS_KEY, list(agreed), [canonical_json({k: sorted(v) for k, v in links.items()}).decode()
                                                  for links in agreed.values()], instance_id, adapter.entity),
            prepare=False)
    if changed:
        ctx.bump("links_changed", changed)
    return changed


# The key of entity_mappings.synced_values that holds a shared record's many2many links as last agreed
# with Odoo ({relation: sorted Odoo ids}); not a column, so the conflict policy never sees it.
LINKS_KEY = "_links"


def without_links(synced_values: dict | None) -> dict | None:
    return None if synced_values is None else {k: v for k, v in synced_values.items() if k != LINKS_KEY}


def upsert(conn: psycopg.Connection, ctx: Context, adapter: type[EntityAdapter], records: list[dict],
           depth: int = 0) -> int:
    """Upsert Odoo records (as read, with id and write_date). Returns how many rows changed."""
    if not records:
        return 0
    return write(conn, ctx, prepare(conn, ctx, adapter, records, depth))


def _stage(conn, adapter) -> str:
    name = f"_sg_stage_{adapter.schema}_{adapter.table}"
    cols = ", ".join(bulk_columns(adapter))
    conn.execute(f"create temp table if not exists {name} on commit delete rows as "
                 f"select {cols} from {adapter.qualified_table()} with no data")
    return name


def _upsert_bulk(conn, ctx: Context, adapter, rows: list[dict], copy_data: bytes) -> int:
    if not rows:
        return 0
    stage = _stage(conn, adapter)
    names = bulk_columns(adapter)
    with conn.cursor() as cur:
        cur.execute(f"truncate {stage}")
        with cur.copy(f"copy {stage} ({', '.join(names)}) from stdin") as copy:
            copy.write(copy_data)
    mapped = adapter.columns()
    sets = ", ".join(f'"{c}" = excluded."{c}"' for c in ["org_id", *mapped, "odoo_write_date"])
    old = ", ".join(f't."{c}"' for c in [*mapped, "odoo_write_date"])
    new = ", ".join(f'excluded."{c}"' for c in [*mapped, "odoo_write_date"])
    cols = ", ".join(f'"{c}"' for c in names)
    mapping_cte = ""
    if ctx.mirror_mappings:
        mapping_cte = """,
        m as (
          insert into odoo.entity_mappings (instance_id, entity, local_id, odoo_model, odoo_id, odoo_write_date)
          select %s, %s, id, %s, odoo_id, odoo_write_date from up
          on conflict (instance_id, entity, odoo_id) do update
            set odoo_write_date = excluded.odoo_write_date, local_id = excluded.local_id)"""
    row = conn.execute(f"""
        with up as (
          insert into {adapter.qualified_table()} as t ({cols}, synced_at)
          select {cols}, now() from {stage} order by odoo_id
          on conflict (instance_id, odoo_id) do update set {sets}, synced_at = now(), odoo_deleted_at = null
          where ({old}) is distinct from ({new}) or t.odoo_deleted_at is not null
          returning t.id, t.odoo_id, t.odoo_write_date, (xmax = 0) as inserted){mapping_cte}
        select count(*) filter (where inserted) as inserted, count(*) filter (where not inserted) as updated from up""",
        (ctx.instance["id"], adapter.entity, adapter.odoo_model) if ctx.mirror_mappings else ()).fetchone()
    ctx.bump("inserted", row["inserted"])
    ctx.bump("updated", row["updated"])
    ctx.bump("unchanged", len(rows) - row["inserted"] - row["updated"])
    return row["inserted"] + row["updated"]


class TenantMismatch(ValueError):
    """A row of another tenant was about to be written through this instance (a permanent error)."""

    name = "TenantMismatch"


def tenant_problem(adapter, local: dict, instance: dict) -> str | None:
    """Why the sync of ``instance`` must not touch ``local`` (a row of ``adapter``'s table), or None.

    A row belongs to one org (its tenant column) and, once linked, to one instance of that org; the
    sync of an instance writes only rows of its own org that are unlinked or linked to it.
    """
    tenant = getattr(adapter, "tenant_column", None) or "org_id"
    if tenant in local and str(local[tenant]) != str(instance["org_id"]):
        return "belongs to another org"
    if local.get("instance_id") is not None and str(local["instance_id"]) != str(instance["id"]):
        return "is linked to another instance"
    return None


def _upsert_shared(conn, ctx: Context, adapter, row: dict, rec: dict) -> int:
    """One record of a shared entity: resolve against the app row and the last synced base."""
    table, instance_id = adapter.qualified_table(), ctx.instance["id"]
    local = conn.execute(f"select * from {table} where instance_id = %s and odoo_id = %s for update",
                         (instance_id, row["odoo_id"])).fetchone()
    ref = adapter.external_ref_field()
    ref_value = rec.get(ref) if ref else None
    if local is None and isinstance(ref_value, str) and ref_value.startswith(REF_PREFIX):
        # The ref is written by anyone who can edit the Odoo record, so it only names a candidate: it is
        # taken only if that row is this instance's tenant's (checked below) and not linked elsewhere.
        claimed = conn.execute(f"select * from {table} where id::text = %s for update",
                               (ref_value[len(REF_PREFIX):],)).fetchone()
        if claimed is not None and (claimed["odoo_id"] is None or claimed["odoo_id"] == row["odoo_id"]
                                    or tenant_problem(adapter, claimed, ctx.instance)):
            local = claimed
    if local is not None and (problem := tenant_problem(adapter, local, ctx.instance)):
        _dead(conn, ctx, adapter, rec, f"{ref}={ref_value!r} names a row that {problem}; nothing was written"
              if ref_value else f"the row of this record {problem}; nothing was written", "TenantMismatch")
        ctx.bump("refused_other_tenant")
        return 0
    mapping = conn.execute("select synced_values from odoo.entity_mappings where instance_id=%s and entity=%s and odoo_id=%s",
                           (instance_id, adapter.entity, row["odoo_id"])).fetchone()
    if local is None and (mapping is not None or (isinstance(ref_value, str) and ref_value.startswith(REF_PREFIX))):
        # known to the app (mapped, or created by it) but its row is gone: deleted in the app, and the
        # outbox's unlink (or its dead letter) owns what happens next. Never resurrect it here.
        ctx.bump("skipped_deleted_in_app")
        return 0
    remote = adapter.comparable(row)
    base = without_links(mapping["synced_values"]) if mapping else None
    cols = adapter.columns()
    if local is None:
        res = conflicts.Resolution(remote, {}, remote, "odoo")
        conn.execute(
            f"insert into {table} (id, org_id, {', '.join(cols)}, instance_id, odoo_id, odoo_write_date, synced_at) "
            f"values (%s, %s, {', '.join(['%s'] * len(cols))}, %s, %s, %s, now())",
            [row["id"], row["org_id"], *[row[c] for c in cols], instance_id, row["odoo_id"], row["odoo_write_date"]])
        local_id = row["id"]
        ctx.bump("inserted")
    else:
        local_id = str(local["id"])
        current = adapter.comparable(local)
        res = conflicts.resolve(adapter.conflict or "odoo_wins", base, current, remote,
                                local_ts=local.get("updated_at"), remote_ts=row["odoo_write_date"])
        new = {c: (row[c] if res.values[c] == remote[c] else local[c]) for c in cols}
        changed = res.to_local or local["odoo_id"] != row["odoo_id"] or local["odoo_deleted_at"] is not None \
            or local["odoo_write_date"] != row["odoo_write_date"]
        if changed:
            conn.execute(
                f"update {table} set {', '.join(f'{c} = %s' for c in cols)}, instance_id = %s, odoo_id = %s, "
                "odoo_write_date = %s, synced_at = now(), odoo_deleted_at = null where id = %s",
                [*[new[c] for c in cols], instance_id, row["odoo_id"], row["odoo_write_date"], local_id])
            ctx.bump("updated")
        else:
            ctx.bump("unchanged")
        if res.to_push:
            pending = conn.execute("select 1 from odoo.outbox where instance_id=%s and entity=%s and local_id=%s "
                                   "and status in ('pending','processing')", (instance_id, adapter.entity, local_id)).fetchone()
            if not pending:
                conn.execute("insert into odoo.outbox (instance_id, entity, local_id, operation, payload, trace_id) "
                             f"select %s, %s, id, 'write', to_jsonb(t), %s from {table} t where id = %s",
                             (instance_id, adapter.entity, ctx.trace_id, local_id))
            ctx.bump("conflicts_to_push")
    conn.execute(
        """insert into odoo.entity_mappings (instance_id, entity, local_id, odoo_model, odoo_id, odoo_write_date,
                                             synced_hash, synced_values)
           values (%s,%s,%s,%s,%s,%s,%s,%s)
           on conflict (instance_id, entity, odoo_id) do update set local_id = excluded.local_id,
             odoo_write_date = excluded.odoo_write_date, synced_hash = excluded.synced_hash,
             synced_values = excluded.synced_values || case when odoo.entity_mappings.synced_values ? '_links'
               then jsonb_build_object('_links', odoo.entity_mappings.synced_values -> '_links') else '{}' end""",
        (instance_id, adapter.entity, local_id, adapter.odoo_model, row["odoo_id"], row["odoo_write_date"],
         values_hash(remote), canonical_json(remote).decode()))
    return 1


def tombstone(conn, ctx: Context, adapter, odoo_ids) -> int:
    """Mark rows whose Odoo record is gone: odoo_deleted_at = now() (the row itself is kept)."""
    if not odoo_ids:
        return 0
    n = conn.execute(f"update {adapter.qualified_table()} set odoo_deleted_at = now(), synced_at = now() "
                     "where instance_id = %s and odoo_id = any(%s) and odoo_deleted_at is null",
                     (ctx.instance["id"], list(odoo_ids))).rowcount
    ctx.bump("tombstoned", n)
    return n
