"""Tenancy by construction (issue 13): what the database itself refuses, whoever asks, on the platform's spec.

Session settings the sync uses count only for the sync's role; profiles are shared only between members
of a common org; references between tenant rows stay inside one org, for the service role too.
"""
from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from generator.ir import IR
from generator.pipeline import compile_ir
from rls_fixtures import migrated_world

pytestmark = pytest.mark.db
STAMP = "20260101000000"


@pytest.fixture(scope="module")
def ir(repo_root) -> IR:
    return compile_ir(repo_root)


@pytest.fixture(scope="module")
def db(pg_cluster, standin_template, ir):
    yield from migrated_world(pg_cluster, standin_template, ir, STAMP)


def act_as(conn, user: uuid.UUID | None, role: str = "authenticated") -> None:
    claims = {"role": role, **({"sub": str(user)} if user else {})}
    conn.execute(f"set local role {role}")
    conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))


def _outbox(conn, name: str) -> list:
    return conn.execute("select trace_id from odoo.outbox where entity = 'contact' and payload ->> 'full_name' = %s",
                        (name,)).fetchall()


def test_an_app_session_cannot_skip_the_outbox_by_claiming_to_be_the_sync(db):
    """specgen.sync_origin = 'odoo' and specgen.trace_id count only when the sync's role sets them."""
    url, world = db
    with psycopg.connect(url) as conn:
        with conn.transaction():
            act_as(conn, world.users[("member", "A")])
            conn.execute("select set_config('specgen.sync_origin', 'odoo', true), "
                         "set_config('specgen.trace_id', 'forged', true)")
            conn.execute("insert into app.contacts (org_id, full_name) values (%s, 'Sneaky Sam')", (world.orgs["A"],))
        queued = _outbox(conn, "Sneaky Sam")
        assert len(queued) == 1 and queued[0][0] != "forged"
        with conn.transaction():
            act_as(conn, None, "service_role")
            conn.execute("select set_config('specgen.sync_origin', 'odoo', true)")
            conn.execute("insert into app.contacts (org_id, full_name) values (%s, 'Synced Sue')", (world.orgs["A"],))
        assert _outbox(conn, "Synced Sue") == []
        conn.rollback()
