"""Dead letters: what failed for good, with reason, attempts and payload; and their replay."""
from __future__ import annotations

import datetime as dt

import orjson
import psycopg

from bridge.adapters import json_default, m2o_id


MERGED_SOURCES = ("pull", "webhook")
# A record refused because a required many2one points at a parent that is not stored (its own dead
# letter, or gone from Odoo). Its payload lists the parents under this key, so that storing or
# replaying a parent finds its orphans (`orphans_of`) without parsing reasons.
ORPHAN_CLASS = "MissingParent"
PARENTS_KEY = "_missing_parents"


def open_for(conn: psycopg.Connection, instance_id, odoo_model: str, odoo_ids) -> dict[int, dict]:
    """{odoo id: its newest open (not replayed) pull/webhook dead letter} for records of one model."""
    if not odoo_ids:
        return {}
    rows = conn.execute(
        """select distinct on (record_ref) id, record_ref, reason, error_class from odoo.dead_letters
           where instance_id = %s and odoo_model = %s and record_ref = any(%s) and replayed_at is null
             and source = any(%s::odoo.dead_letter_source[])
           order by record_ref, id desc""",
        (instance_id, odoo_model, [str(i) for i in odoo_ids], list(MERGED_SOURCES))).fetchall()
    return {int(r["record_ref"]): r for r in rows}


def orphans_of(conn: psycopg.Connection, instance_id, odoo_model: str, odoo_ids) -> list[int]:
    """Ids of the open orphan dead letters whose missing parent is one of these records."""
    if not odoo_ids:
        return []
    rows = conn.execute(
        f"""select id from odoo.dead_letters d
            where instance_id = %s and error_class = %s and replayed_at is null
              and exists (select 1 from jsonb_array_elements(coalesce(d.payload -> '{PARENTS_KEY}', '[]')) p
                          where p ->> 'odoo_model' = %s and (p ->> 'odoo_id')::bigint = any(%s::bigint[]))
            order by id""",
        (instance_id, ORPHAN_CLASS, odoo_model, [int(i) for i in odoo_ids])).fetchall()
    return [r["id"] for r in rows]


def orphan_refusal(ctx, required: list, rec: dict, values: dict, unresolved: dict) -> tuple | None:
    """The refusal (record, reason, error class) of a record whose required many2one has no stored
    target, or None (used by `bridge.sync.convert.convert`; ``ctx`` needs only ``adapters``).

    Without this the row would reach the table with a NULL reference and its NotNullViolation would
    fail the whole page, for good (the page is read again on every run). So only the orphan is
    refused: its dead letter names the parent and why it is missing, and its payload lists the
    parents (`PARENTS_KEY`), so that storing or replaying a parent brings it back.
    """
    problems, parents = [], []
    for fm in required:
        if values.get(fm.column) is not None:
            continue
        oid = m2o_id(rec.get(fm.odoo_field))
        if oid is None:
            problems.append(f"{fm.odoo_field} is required but empty in Odoo")
            continue
        tadapter = ctx.adapters.get(fm.target)
        why = unresolved.get((fm.target, oid), "not stored")
        problems.append(f"{fm.odoo_field}: parent {fm.target} {oid} is {why}" if why.startswith("not ")
                        else f"{fm.odoo_field}: parent {fm.target} {oid} is not stored: {why}")
        parents.append({"entity": fm.target, "odoo_model": tadapter.odoo_model if tadapter else None,
                        "odoo_id": oid})
    if not problems:
        return None
    if not parents:
        return rec, "; ".join(problems), "ValidationError"
    return {**rec, PARENTS_KEY: parents}, "; ".join(problems), ORPHAN_CLASS


def is_required_parent(ctx, adapter) -> bool:
    """Whether some entity has a required many2one to ``adapter`` (only then can it have orphans)."""
    return any(fm.target == adapter.entity and not fm.nullable
               for a in ctx.adapters.values() for fm in a.many2ones())


def add(conn: psycopg.Connection, *, source: str, instance_id, entity: str | None, odoo_model: str | None,
        record_ref, payload, reason: str, error_class: str | None, attempts: int, trace_id: str) -> tuple[int, bool]:
    """Dead-letter one piece of work. Returns (id, created).

    A pull re-reads its lookback window on every run, and a record edited again in Odoo sends another
    webhook: a bad Odoo record would come back again and again. For those sources an open (not yet
    replayed) dead letter of the same record is updated instead (attempts + 1, latest reason and
    payload), so the dead-letter count means records, not re-reads. Pushes always get their own.
    """
    body = orjson.dumps(payload, default=json_default).decode()
    ref = None if record_ref is None else str(record_ref)
    if source in MERGED_SOURCES and ref is not None:
        row = conn.execute(
            """update odoo.dead_letters set attempts = attempts + 1, reason = %s, error_class = %s, payload = %s
               where id = (select id from odoo.dead_letters
                           where source = %s and instance_id is not distinct from %s and odoo_model is not distinct from %s
                             and record_ref = %s and replayed_at is null
                           order by id desc limit 1 for update)
               returning id""",
            (reason[:4000], (error_class or "")[:200] or None, body, source, instance_id, odoo_model, ref)).fetchone()
        if row is not None:
            return (row["id"] if isinstance(row, dict) else row[0]), False
    row = conn.execute(
        """insert into odoo.dead_letters (source, instance_id, entity, odoo_model, record_ref, payload, reason,
                                          error_class, attempts, trace_id)
           values (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) returning id""",
        (source, instance_id, entity, odoo_model, ref, body, reason[:4000], (error_class or "")[:200] or None,
         attempts, trace_id)).fetchone()
    return (row["id"] if isinstance(row, dict) else row[0]), True


def replay(conn: psycopg.Connection, *, ids: list[int] | None = None, since: dt.datetime | None = None,
           until: dt.datetime | None = None, include_replayed: bool = False, trace_id: str) -> dict:
    """Re-queue dead letters: push ones as outbox rows, pull/webhook ones as events (re-read by id).

    Selected by id, or by a created_at window. Each is marked replayed_at in the same transaction.
    A pulled record's replay takes along the open dead letters of its orphans (children refused
    because it was missing), so that replaying an order brings its lines back too.
    """
    sql = "select * from odoo.dead_letters where true"
    params: list = []
    if ids:
        sql += " and id = any(%s)"
        params.append(ids)
    if since:
        sql += " and created_at >= %s"
        params.append(since)
    if until:
        sql += " and created_at < %s"
        params.append(until)
    if not include_replayed:
        sql += " and replayed_at is null"
    counts = {"outbox": 0, "events": 0, "skipped": 0}
    rows = conn.execute(sql + " order by id for update skip locked", params).fetchall()
    taken = {dl["id"] for dl in rows}
    for dl in list(rows):
        if dl["source"] in MERGED_SOURCES and dl["odoo_model"] and str(dl["record_ref"] or "").isdigit():
            extra = [i for i in orphans_of(conn, dl["instance_id"], dl["odoo_model"], [int(dl["record_ref"])])
                     if i not in taken]
            if extra:
                taken.update(extra)
                rows += conn.execute("select * from odoo.dead_letters where id = any(%s) order by id "
                                     "for update skip locked", (extra,)).fetchall()
    for dl in rows:
        payload = dl["payload"]
        if dl["source"] == "push" and dl["instance_id"] and isinstance(payload, dict) and payload.get("local_id"):
            conn.execute(
                """insert into odoo.outbox (instance_id, entity, local_id, operation, payload, trace_id)
                   values (%s,%s,%s,%s,%s,%s)""",
                (dl["instance_id"], dl["entity"], payload["local_id"], payload.get("operation", "write"),
                 orjson.dumps(payload.get("row") or {}).decode(), trace_id))
            counts["outbox"] += 1
        elif dl["instance_id"] and dl["odoo_model"] and dl["record_ref"] and str(dl["record_ref"]).isdigit():
            event = {"_model": dl["odoo_model"], "_id": int(dl["record_ref"]), "_replay_of": dl["id"]}
            conn.execute(
                """insert into odoo.webhook_events (instance_id, idempotency_key, odoo_model, odoo_id, payload, trace_id)
                   values (%s,%s,%s,%s,%s,%s) on conflict (instance_id, idempotency_key) do nothing""",
                (dl["instance_id"], f"replay:{dl['id']}:{dt.datetime.now(dt.timezone.utc).timestamp():.6f}",
                 dl["odoo_model"], int(dl["record_ref"]), orjson.dumps(event).decode(), trace_id))
            counts["events"] += 1
        else:
            counts["skipped"] += 1
            continue
        conn.execute("update odoo.dead_letters set replayed_at = now() where id = %s", (dl["id"],))
    return counts


def release_orphans(conn: psycopg.Connection, instance_id, odoo_model: str, odoo_ids, *, trace_id: str) -> int:
    """Replay the orphans of records just stored (their parent is there now). Returns how many."""
    ids = orphans_of(conn, instance_id, odoo_model, odoo_ids)
    return replay(conn, ids=ids, trace_id=trace_id)["events"] if ids else 0


def replay_run(url: str, *, note: str | None = None, **selection) -> tuple[dict, str]:
    """`replay` as a run of its own (kind 'replay', with its trace id), as the CLI and the dashboard
    do it. ``note`` adds a step naming the ids. Returns (counts, the run's trace id)."""
    from bridge.store import db
    from bridge.store.runs import Run
    with Run(url, "replay") as run, db.connect(url) as conn:
        counts = replay(conn, trace_id=run.trace_id, **selection)
        conn.commit()
        run.counts.update(counts)
        if note:
            run.event(note, ids=selection.get("ids"))
    return counts, run.trace_id
