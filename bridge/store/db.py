"""Database helpers shared by the sync: connections, instances, echo suppression, advisory locks."""
from __future__ import annotations

import hashlib

import psycopg
from psycopg.rows import dict_row

URL_ENV = "SPECGEN_DATABASE_URL"


def connect(url: str, autocommit: bool = False) -> psycopg.Connection:
    return psycopg.connect(url, autocommit=autocommit, row_factory=dict_row,
                           application_name="specgen-sync")


def as_sync(conn: psycopg.Connection, trace_id: str | None = None) -> None:
    """Mark the current transaction as written by the sync: the outbox trigger will not echo it."""
    conn.execute("select set_config('specgen.sync_origin', 'odoo', true), set_config('specgen.trace_id', %s, true)",
                 (trace_id or "",))


def lazy_commit(conn: psycopg.Connection) -> None:
    """This transaction's commit does not wait for the WAL flush (a crash may lose it, never corrupt it)."""
    conn.execute("set local synchronous_commit = off")


def webhook_token_hash(token: str) -> str:
    """What ``odoo.instances.webhook_token_hash`` holds for a webhook URL token (never the token itself):
    its SHA-256, in hex. The receiver compares with it."""
    return hashlib.sha256(token.encode()).hexdigest()


def instance(conn: psycopg.Connection, instance_id) -> dict | None:
    """One instance by id, active or not."""
    return conn.execute("select * from odoo.instances where id = %s", (instance_id,)).fetchone()


# odoo.instances.request_limit_seconds' default (generator/load/platform_tables.py): above Odoo's default
# limit_time_real of 120 s, with a margin
DEFAULT_REQUEST_LIMIT = 180


def request_limit(instance: dict) -> float:
    """Seconds an Odoo call of this instance may run before it commits: the pull's lookback, and how long
    a create whose answer was lost is waited for."""
    return float(instance.get("request_limit_seconds") or DEFAULT_REQUEST_LIMIT)


def ping(conn: psycopg.Connection) -> None:
    """One round trip: raises when the database does not answer."""
    conn.execute("select 1")


def instances(conn: psycopg.Connection, only: str | None = None, active: bool = True) -> list[dict]:
    sql = "select * from odoo.instances where true"
    params: list = []
    if active:
        sql += " and active"
    if only:
        sql += " and (id::text = %s or name = %s)"
        params += [only, only]
    return list(conn.execute(sql + " order by created_at, id", params).fetchall())


def lock_key(kind: str, instance_id, entity: str) -> tuple[str, str]:
    """The two texts hashed into an advisory lock's key. `bridge.sync.reaper` matches held pull locks in
    pg_locks by the same format: keep them in step."""
    return (f"specgen.{kind}", f"{instance_id}:{entity}")


def try_lock(conn: psycopg.Connection, kind: str, instance_id, entity: str) -> bool:
    """Session advisory lock per (kind, instance, entity); released on unlock or disconnect."""
    a, b = lock_key(kind, instance_id, entity)
    row = conn.execute("select pg_try_advisory_lock(hashtext(%s), hashtext(%s)) as ok", (a, b)).fetchone()
    conn.commit()
    return bool(row["ok"])


def unlock(conn: psycopg.Connection, kind: str, instance_id, entity: str) -> None:
    a, b = lock_key(kind, instance_id, entity)
    if conn.closed:
        return
    try:
        conn.rollback()
        conn.execute("select pg_advisory_unlock(hashtext(%s), hashtext(%s))", (a, b))
        conn.commit()
    except psycopg.Error:
        pass
