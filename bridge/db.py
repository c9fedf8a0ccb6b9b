"""Database helpers shared by the sync: connections, instances, echo suppression, advisory locks."""
from __future__ import annotations

import os

import psycopg
from psycopg.rows import dict_row

URL_ENV = "SPECGEN_DATABASE_URL"


def connect(url: str, autocommit: bool = False) -> psycopg.Connection:
    return psycopg.connect(url, autocommit=autocommit, row_factory=dict_row,
                           application_name="specgen-sync")


def default_url() -> str | None:
    return os.environ.get(URL_ENV)


def as_sync(conn: psycopg.Connection, trace_id: str | None = None) -> None:
    """Mark the current transaction as written by the sync: the outbox trigger will not echo it."""
    conn.execute("select set_config('specgen.sync_origin', 'odoo', true), set_config('specgen.trace_id', %s, true)",
                 (trace_id or "",))


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
