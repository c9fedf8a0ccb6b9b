"""The converter: Odoo records in; rows, refusals and missing targets out. No database, no Odoo.

What it needs from outside is given: the many2one targets already stored (``resolved``), why the others
could not be stored (``unresolved``), and which Odoo fields hold html. `bridge.sync.upsert` looks those
up (and fetches missing targets through the client); `bridge.sync.writer` writes what comes out.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from bridge.adapters import ConversionError, EntityAdapter, m2o_id, parse_odoo_datetime
from bridge.store import deadletters
from bridge.sync import htmltext


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


def new_ids(n: int) -> list[str]:
    """n random version-4 uuids as text, ~10x faster than str(uuid.uuid4()) in a loop."""
    raw = os.urandom(16 * n).hex()
    return [f"{raw[i:i + 8]}-{raw[i + 8:i + 12]}-4{raw[i + 13:i + 16]}-{'89ab'[int(raw[i + 16], 16) & 3]}"
            f"{raw[i + 17:i + 20]}-{raw[i + 20:i + 32]}" for i in range(0, 32 * n, 32)]


def latest(records: list[dict]) -> dict[int, dict]:
    """{id: record}, one version per id: the latest write_date (a page never repeats an id, but events can)."""
    by_id: dict[int, dict] = {}
    for rec in records:
        prev = by_id.get(rec["id"])
        if prev is None or (rec.get("write_date") or "") >= (prev.get("write_date") or ""):
            by_id[rec["id"]] = rec
    return by_id


def as_text(records: list[dict], html: list[str]) -> list[dict]:
    """Html fields arrive as sanitized markup; the app and every comparison hold their text (htmltext)."""
    return [htmltext.record_to_text(rec, html) for rec in records] if html else records


def wanted_targets(adapter: type[EntityAdapter], records: list[dict]) -> dict[str, set[int]]:
    """{target entity: Odoo ids} the records' many2ones point at."""
    wanted: dict[str, set[int]] = {}
    m2os = adapter.many2ones()
    for rec in records:
        for fm in m2os:
            oid = m2o_id(rec.get(fm.odoo_field))
            if oid:
                wanted.setdefault(fm.target, set()).add(oid)
    return wanted


def convert(adapter: type[EntityAdapter], records: list[dict], *, instance: dict, adapters: dict,
            own: dict[int, str], resolved: dict, unresolved: dict, pending: dict | None = None,
            depth: int = 0) -> Prepared:
    """Rows of the records (one per id, html as text already): ``own`` gives each its provisional key,
    ``resolved`` {(target, odoo id): local key} its many2ones. A record that does not convert, whose
    required many2one has no target (why: ``unresolved``), or that fails validation is refused."""
    # as text once: each row carries them, and str() of a UUID costs more than the rest of its COPY cell
    instance_id, org_id = str(instance["id"]), str(instance["org_id"])
    pk, tenant = adapter.primary_key, adapter.tenant_column
    rows, good, refused = [], [], []
    required = [fm for fm in adapter.many2ones() if not fm.nullable]
    ctx = _Adapters(adapters)

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
        values[pk] = own[rec["id"]]
        if tenant:
            values[tenant] = org_id
        values.update(instance_id=instance_id, odoo_id=rec["id"],
                      odoo_write_date=parse_odoo_datetime(rec.get("write_date")))
        rows.append(values)
        good.append(rec)
    out = Prepared(adapter, [], [], refused, pending if pending is not None else {}, depth=depth)
    for row, rec, err in zip(rows, good, adapter.validate(rows) if rows else []):
        if err:
            refused.append((rec, f"validation failed: {err}", "ValidationError"))
        else:
            out.rows.append(row)
            out.records.append(rec)
    return out


@dataclass(frozen=True)
class _Adapters:
    """The part of a context `deadletters.orphan_refusal` reads."""

    adapters: dict
