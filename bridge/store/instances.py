"""odoo.instances as the command line manages them: register, list (never a secret), remove."""
from __future__ import annotations

import psycopg

from bridge.store import db


class NoSuchOrg(LookupError):
    pass


class DuplicateInstance(ValueError):
    pass


def org_id(conn: psycopg.Connection, org: str):
    """The id of the org named by id or slug, or NoSuchOrg."""
    try:
        row = conn.execute("select id from app.orgs where id::text = %s or slug = %s", (org, org)).fetchone()
    except psycopg.errors.InvalidTextRepresentation:
        row = None
    if row is None:
        raise NoSuchOrg(org)
    return row["id"]


def register(conn: psycopg.Connection, org, name: str, base_url: str, database: str, login: str, secret_ref: str,
             protocol: str, token: str, hmac_secret_ref: str | None, request_limit: int | None):
    """Insert the instance (only the sha256 of its webhook token is kept); its id, or DuplicateInstance."""
    try:
        return conn.execute(
            """insert into odoo.instances (org_id, name, base_url, database, login, secret_ref, protocol,
                                           webhook_token_hash, webhook_hmac_secret_ref, request_limit_seconds)
               values (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) returning id""",
            (org, name, base_url, database, login, secret_ref, protocol, db.webhook_token_hash(token),
             hmac_secret_ref, request_limit)).fetchone()["id"]
    except psycopg.errors.UniqueViolation:
        raise DuplicateInstance(name) from None


def listed(conn: psycopg.Connection) -> list[dict]:
    """Every instance, oldest first, with the names of its secrets' variables and never a secret."""
    return [dict(r) for r in conn.execute(
        "select id, org_id, name, base_url, database, login, secret_ref, protocol, active, "
        "webhook_token_hash is not null as webhook_token_set, webhook_hmac_secret_ref "
        "from odoo.instances order by created_at").fetchall()]


def remove(conn: psycopg.Connection, instance_id) -> None:
    """Delete the instance; its mirrored rows, cursors and queues go with it (on delete cascade)."""
    conn.execute("delete from odoo.instances where id = %s", (instance_id,))
