"""SQL on ``odoo.outbox`` besides the queue's own (`bridge.store.queue`): what the pull asks of it.

Every function runs in the caller's transaction and never commits.
"""
from __future__ import annotations


def waiting(conn, instance_id, entity: str, local_ids: list) -> set[str]:
    """Those of the rows (by local id) that have an app change still waiting for the push."""
    return {str(r["local_id"]) for r in conn.execute(
        "select distinct local_id from odoo.outbox where instance_id = %s and entity = %s "
        "and local_id = any(%s::uuid[]) and status in ('pending', 'processing')",
        (instance_id, entity, local_ids), prepare=False).fetchall()}


def has_open(conn, instance_id, entity: str, local_id) -> bool:
    return conn.execute("select 1 from odoo.outbox where instance_id=%s and entity=%s and local_id=%s "
                        "and status in ('pending','processing')", (instance_id, entity, local_id)).fetchone() is not None


def enqueue_write(conn, adapter, instance_id, local_id, trace_id: str) -> None:
    """Queue a push of the row as it is now (fields the conflict policy gave the app that Odoo lacks)."""
    conn.execute("insert into odoo.outbox (instance_id, entity, local_id, operation, payload, trace_id) "
                 f"select %s, %s, \"{adapter.primary_key}\", 'write', to_jsonb(t), %s from {adapter.qualified_table()} t "
                 f'where "{adapter.primary_key}" = %s', (instance_id, adapter.entity, trace_id, local_id))
