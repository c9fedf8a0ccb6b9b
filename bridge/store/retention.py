"""What `specgen sync prune` deletes: finished history older than a cutoff, in short transactions."""
from __future__ import annotations

import datetime as dt

import psycopg

PRUNE = (  # (what, table, key, condition on %(cutoff)s): only finished work, never what is still open
    ("runs (and their steps)", "ops.runs", "id", "status <> 'running' and finished_at < %(cutoff)s"),
    ("webhook events", "odoo.webhook_events", "id",
     "status in ('done', 'dead') and processed_at < %(cutoff)s and recheck_at is null"),
    ("outbox rows", "odoo.outbox", "id", "status in ('done', 'dead') and updated_at < %(cutoff)s"),
    ("replayed dead letters", "odoo.dead_letters", "id", "replayed_at < %(cutoff)s"),
)


def prune(conn: psycopg.Connection, cutoff: dt.datetime, batch: int, dry_run: bool) -> dict[str, int]:
    """{what: rows deleted (or, dry, that would be)}; each batch of `batch` rows is committed on its own,
    so workers are never held up."""
    deleted = {}
    for what, table, key, cond in PRUNE:
        if dry_run:
            n = conn.execute(f"select count(*) as n from {table} where {cond}", {"cutoff": cutoff}).fetchone()["n"]
        else:
            n = 0
            while True:
                done = conn.execute(f"delete from {table} where {key} in (select {key} from {table} where {cond} "
                                    f"limit %(batch)s)", {"cutoff": cutoff, "batch": batch}).rowcount
                conn.commit()
                n += done
                if done < batch:
                    break
        deleted[what] = n
    return deleted
