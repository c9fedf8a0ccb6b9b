"""The writer: converted rows (`bridge.sync.convert.Prepared`) into their tables. It never calls Odoo.

Odoo-owned mirrors take the bulk path (COPY into a staging table, then one INSERT ... ON CONFLICT
(instance_id, odoo_id)); shared entities go record by record through the conflict policy, against the
app row and the base last synced. Many2many links are made the sets Odoo holds, with the targets the
caller found (`bridge.sync.upsert` fetches missing ones first). All SQL is in `bridge.store`.

Every function here runs inside the caller's transaction and never commits.
"""
from __future__ import annotations

from bridge.adapters import canonical_json, values_hash
from bridge.store import deadletters, links as join_rows, mappings, mirrors, outbox
from bridge.store.copytext import encode_copy
from bridge.store.mappings import LINKS_KEY
from bridge.sync import conflicts
from bridge.sync.context import Context
from bridge.sync.convert import Prepared

REF_PREFIX = "specgen:"


class TenantMismatch(ValueError):
    """A row of another tenant was about to be written through this instance (a permanent error)."""

    name = "TenantMismatch"


def tenant_problem(adapter, local: dict, instance: dict) -> str | None:
    """Why the sync of ``instance`` must not touch ``local`` (a row of ``adapter``'s table), or None.

    A row belongs to one org (its tenant column) and, once linked, to one instance of that org; the
    sync of an instance writes only rows of its own org that are unlinked or linked to it.
    """
    tenant = adapter.tenant_column
    if tenant and tenant in local and str(local[tenant]) != str(instance["org_id"]):
        return "belongs to another org"
    if local.get("instance_id") is not None and str(local["instance_id"]) != str(instance["id"]):
        return "is linked to another instance"
    return None


def without_links(synced_values: dict | None) -> dict | None:
    return None if synced_values is None else {k: v for k, v in synced_values.items() if k != LINKS_KEY}


def dead(conn, ctx: Context, adapter, record: dict, reason: str, error_class: str) -> None:
    _, created = deadletters.add(conn, source=ctx.source, instance_id=ctx.instance["id"], entity=adapter.entity,
                                 odoo_model=adapter.odoo_model, record_ref=record.get("id"), payload=record,
                                 reason=reason, error_class=error_class, attempts=1, trace_id=ctx.trace_id)
    ctx.bump("dead_lettered" if created else "dead_letter_seen_again")


def write_rows(conn, ctx: Context, prepared: Prepared) -> int:
    """Write prepared rows (and dead-letter the refused records). Returns how many rows changed."""
    adapter = prepared.adapter
    if prepared.pending:
        raise ValueError("prepared rows still hold placeholder references: call complete() first")
    for rec, reason, error_class in prepared.refused:
        dead(conn, ctx, adapter, rec, reason, error_class)
        if error_class == deadletters.ORPHAN_CLASS:
            ctx.bump("orphaned")
    if adapter.owner == "shared":
        return sum(_upsert_shared(conn, ctx, adapter, row, rec) for row, rec in zip(prepared.rows, prepared.records))
    if prepared.copy_data is None:
        encode_copy(prepared)
    if not prepared.rows:
        return 0
    inserted, updated = mirrors.bulk_upsert(conn, adapter, ctx.instance["id"], prepared.copy_data,
                                            mirror_mappings=ctx.mirror_mappings)
    ctx.bump("inserted", inserted)
    ctx.bump("updated", updated)
    ctx.bump("unchanged", len(prepared.rows) - inserted - updated)
    return inserted + updated


def release_orphans(conn, ctx: Context, prepared: Prepared) -> None:
    """Children refused while these records were missing can be stored now: replay their dead letters."""
    adapter = prepared.adapter
    if prepared.records and deadletters.is_required_parent(ctx, adapter):
        released = deadletters.release_orphans(conn, ctx.instance["id"], adapter.odoo_model,
                                               [r["id"] for r in prepared.records], trace_id=ctx.trace_id)
        if released:
            ctx.bump("orphans_released", released)


def plan_links(conn, ctx: Context, adapter, records: list[dict]) -> tuple[dict, list]:
    """What `replace_links` will do: (own {odoo id: local key} of the records whose links the pull sets,
    [(relation, target adapter, records carrying the field, wanted target Odoo ids)])."""
    instance_id = ctx.instance["id"]
    own = mirrors.local_ids(conn, adapter, instance_id, [r["id"] for r in records])
    if adapter.owner == "shared" and adapter.pushes() and own:
        # an app change of these records still waits for the push: it resolves the links against the
        # base (bridge/sync/push.py), so the pull leaves them as the app has them
        waiting = outbox.waiting(conn, instance_id, adapter.entity, list(own.values()))
        own = {k: v for k, v in own.items() if str(v) not in waiting}
    plan = []
    for rel in adapter.many2manys:
        tadapter = ctx.adapters.get(rel.target)
        if tadapter is None:
            continue
        # a record whose field was not read (an older payload, or a model without it) keeps its links
        present = [r for r in records if rel.odoo_field in r and r["id"] in own]
        if present:
            plan.append((rel, tadapter, present, {int(oid) for r in present for oid in (r[rel.odoo_field] or [])}))
    return own, plan


def replace_links(conn, ctx: Context, adapter, own: dict, plan: list, found: list[dict[int, str]]) -> int:
    """Make the join rows of each planned record's many2manys the set Odoo holds: links Odoo no longer
    has are deleted, new ones inserted, unchanged ones left alone (no audit churn). ``found[i]`` gives
    the stored targets of ``plan[i]``; a linked record not among them is left out, as an optional
    many2one to it would be NULL (``links_skipped`` counts them). Returns how many rows changed."""
    shared = adapter.owner == "shared" and adapter.pushes()
    agreed: dict[str, dict[str, list[int]]] = {}  # local id -> {relation: Odoo ids both sides now hold}
    changed = 0
    for (rel, _, present, _), targets_found in zip(plan, found):
        sources, targets = [], []
        for r in present:
            for oid in dict.fromkeys(r[rel.odoo_field] or []):
                if oid in targets_found:
                    sources.append(own[r["id"]])
                    targets.append(targets_found[oid])
                    agreed.setdefault(str(own[r["id"]]), {}).setdefault(rel.relation, []).append(int(oid))
                else:
                    ctx.bump("links_skipped")
        changed += join_rows.replace(conn, rel, adapter.tenant_column, ctx.instance["org_id"],
                                     [own[r["id"]] for r in present], sources, targets)
        if shared:
            for r in present:
                agreed.setdefault(str(own[r["id"]]), {}).setdefault(rel.relation, [])
    if shared and agreed:
        # the base the push compares the app's links with (entity_mappings.synced_values, LINKS_KEY)
        mappings.merge_links(conn, ctx.instance["id"], adapter.entity, list(agreed),
                             [canonical_json({k: sorted(v) for k, v in links.items()}).decode()
                              for links in agreed.values()])
    if changed:
        ctx.bump("links_changed", changed)
    return changed


def tombstone(conn, ctx: Context, adapter, odoo_ids) -> int:
    """Mark rows whose Odoo record is gone: odoo_deleted_at = now() (the row itself is kept)."""
    if not odoo_ids:
        return 0
    n = mirrors.tombstone(conn, adapter, ctx.instance["id"], odoo_ids)
    ctx.bump("tombstoned", n)
    return n


def _claimed_row(conn, ctx: Context, adapter, row: dict, ref_value) -> dict | None:
    """The app row a shared record is written to: the one linked to it, else the one its external ref
    names (created by the app and pushed, the link not stored yet)."""
    local = mirrors.linked_row(conn, adapter, ctx.instance["id"], row["odoo_id"])
    if local is None and isinstance(ref_value, str) and ref_value.startswith(REF_PREFIX):
        # The ref is written by anyone who can edit the Odoo record, so it only names a candidate: it is
        # taken only if that row is this instance's tenant's (checked below) and not linked elsewhere.
        claimed = mirrors.row_by_text_key(conn, adapter, ref_value[len(REF_PREFIX):])
        if claimed is not None and (claimed["odoo_id"] is None or claimed["odoo_id"] == row["odoo_id"]
                                    or tenant_problem(adapter, claimed, ctx.instance)):
            local = claimed
    return local


def _upsert_shared(conn, ctx: Context, adapter, row: dict, rec: dict) -> int:
    """One record of a shared entity: resolve against the app row and the last synced base."""
    instance_id, pk = ctx.instance["id"], adapter.primary_key
    ref = adapter.external_ref_field()
    ref_value = rec.get(ref) if ref else None
    local = _claimed_row(conn, ctx, adapter, row, ref_value)
    if local is not None and (problem := tenant_problem(adapter, local, ctx.instance)):
        dead(conn, ctx, adapter, rec, f"{ref}={ref_value!r} names a row that {problem}; nothing was written"
             if ref_value else f"the row of this record {problem}; nothing was written", "TenantMismatch")
        ctx.bump("refused_other_tenant")
        return 0
    mapping = mappings.by_odoo_id(conn, instance_id, adapter.entity, row["odoo_id"])
    if local is None and (mapping is not None or (isinstance(ref_value, str) and ref_value.startswith(REF_PREFIX))):
        # known to the app (mapped, or created by it) but its row is gone: deleted in the app, and the
        # outbox's unlink (or its dead letter) owns what happens next. Never resurrect it here.
        ctx.bump("skipped_deleted_in_app")
        return 0
    remote = adapter.comparable(row)
    base = without_links(mapping["synced_values"]) if mapping else None
    cols = adapter.columns()
    if local is None:
        mirrors.insert_linked(conn, adapter, row, instance_id)
        local_id = row[pk]
        ctx.bump("inserted")
    else:
        local_id = str(local[pk])
        current = adapter.comparable(local)
        res = conflicts.resolve(adapter.conflict or "odoo_wins", base, current, remote,
                                local_ts=local.get("updated_at"), remote_ts=row["odoo_write_date"])
        new = {c: (row[c] if res.values[c] == remote[c] else local[c]) for c in cols}
        changed = res.to_local or local["odoo_id"] != row["odoo_id"] or local["odoo_deleted_at"] is not None \
            or local["odoo_write_date"] != row["odoo_write_date"]
        if changed:
            mirrors.update_linked(conn, adapter, local_id, new, instance_id, row["odoo_id"], row["odoo_write_date"])
            ctx.bump("updated")
        else:
            ctx.bump("unchanged")
        if res.to_push:
            if not outbox.has_open(conn, instance_id, adapter.entity, local_id):
                outbox.enqueue_write(conn, adapter, instance_id, local_id, ctx.trace_id)
            ctx.bump("conflicts_to_push")
    mappings.save_pulled(conn, instance_id, adapter, local_id, row["odoo_id"], row["odoo_write_date"],
                         values_hash(remote), canonical_json(remote).decode())
    return 1
