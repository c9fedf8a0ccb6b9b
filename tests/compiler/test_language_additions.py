"""Issue 15, section 5, on a real PostgreSQL: identity keys, `unique nulls not distinct`, and grants to
every signed-in user (roles.yaml `role: authenticated`), on the golden case identity_nulls_signed_in."""
from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import psycopg
import pytest

from generator.database.advisor import run_advisor
from generator.database.cluster import apply_sql
from generator.pipeline import compile_ir

CASE = Path(__file__).parent / "golden" / "identity_nulls_signed_in"
BASELINE = CASE / "expected/supabase/migrations/20260101000000_baseline.sql"
STRANGER = "00000000-0000-0000-0000-0000000000e1"  # signed in, member of no org
OTHER = "00000000-0000-0000-0000-0000000000e2"
MEMBER = "00000000-0000-0000-0000-0000000000e3"
ORG = "00000000-0000-0000-0000-00000000000a"


@pytest.fixture
def db(supabase_db):
    apply_sql(supabase_db, BASELINE.read_text())
    with psycopg.connect(supabase_db, autocommit=True) as conn:
        for user in (STRANGER, OTHER, MEMBER):
            conn.execute("insert into auth.users (id) values (%s)", (user,))
        conn.execute("insert into app.org (id, title) values (%s, 'A')", (ORG,))
        conn.execute("insert into app.membership (org_id, user_id, role) values (%s, %s, 'member')", (ORG, MEMBER))
    return supabase_db


def _as(conn, user: str | None) -> None:
    role = "anon" if user is None else "authenticated"
    conn.execute(f"set local role {role}")
    conn.execute("select set_config('request.jwt.claims', %s, true)",
                 (json.dumps({"sub": user, "role": role} if user else {"role": role}),))


def _run(url: str, user: str | None, sql: str, args=()):
    """One statement as `user` (None = anon) in a transaction of its own; rows, or the error."""
    with psycopg.connect(url) as conn:
        try:
            with conn.transaction():
                _as(conn, user)
                cur = conn.execute(sql, args)
                return cur.fetchall() if cur.description else cur.rowcount
        except psycopg.Error as exc:
            return exc


@pytest.mark.db
def test_a_signed_in_user_with_no_membership_does_what_the_grant_says_and_anon_cannot(db):
    posted = _run(db, STRANGER, "insert into app.notice (body) values ('hello') returning id, created_by::text")
    assert isinstance(posted, list) and posted[0][1] == STRANGER, posted
    notice = posted[0][0]
    assert _run(db, OTHER, "select body from app.notice") == [("hello",)]  # select: every signed-in user
    assert _run(db, OTHER, "update app.notice set body = 'x'") == 0  # update: own rows only
    assert _run(db, OTHER, "delete from app.notice") == 0
    assert _run(db, STRANGER, "update app.notice set body = 'edited' where id = %s", (notice,)) == 1
    anon = _run(db, None, "select body from app.notice")
    assert isinstance(anon, psycopg.errors.InsufficientPrivilege), anon
    assert isinstance(_run(db, None, "insert into app.notice (body) values ('spam')"), psycopg.errors.InsufficientPrivilege)
    # Org rows stay with the org's members: the same stranger sees no ticket and cannot file one.
    assert _run(db, MEMBER, "insert into app.ticket (org_id, title) values (%s, 't')", (ORG,)) == 1
    assert _run(db, STRANGER, "select title from app.ticket") == []
    refused = _run(db, STRANGER, "insert into app.ticket (org_id, title) values (%s, 't')", (ORG,))
    assert isinstance(refused, psycopg.errors.InsufficientPrivilege), refused
    assert _run(db, STRANGER, "delete from app.notice where id = %s", (notice,)) == 1


@pytest.mark.db
def test_identity_keys_are_numbered_by_the_database_and_never_written_by_clients(db):
    with psycopg.connect(db, autocommit=True) as conn:
        a = conn.execute(f"insert into app.ticket (org_id, title, external_ref) values ('{ORG}', 'a', 'A') returning number").fetchone()[0]
        b = conn.execute(f"insert into app.ticket (org_id, title, external_ref) values ('{ORG}', 'b', 'B') returning number").fetchone()[0]
        assert (a, b) == (1, 2)
        with pytest.raises(psycopg.errors.GeneratedAlways):
            conn.execute(f"insert into app.ticket (number, org_id, title) values (9, '{ORG}', 'c')")
        # the reference takes the key's type, bigint, and keeps to one org
        conn.execute(f"insert into app.reply (org_id, ticket_number, body) values ('{ORG}', {b}, 'r')")
        assert conn.execute("select format_type(atttypid, atttypmod) from pg_attribute "
                            "where attrelid = 'app.reply'::regclass and attname = 'ticket_number'").fetchone() == ("bigint",)
    assert isinstance(_run(db, MEMBER, f"insert into app.ticket (number, org_id, title) values (5, '{ORG}', 'x')"),
                      psycopg.errors.GeneratedAlways)
    # and `overriding system value` does not get past the column privileges: clients never write the key
    overriding = _run(db, MEMBER, f"insert into app.ticket (number, org_id, title) overriding system value "
                                  f"values (5, '{ORG}', 'x')")
    assert isinstance(overriding, psycopg.errors.InsufficientPrivilege), overriding


@pytest.mark.db
def test_unique_nulls_not_distinct_lets_one_null_in_and_refuses_the_second(db):
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("insert into app.notice (body) values ('one')")  # slug null
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("insert into app.notice (body) values ('two')")
        conn.execute(f"insert into app.ticket (org_id, title) values ('{ORG}', 'no ref')")
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(f"insert into app.ticket (org_id, title) values ('{ORG}', 'no ref either')")


@pytest.mark.db
def test_the_advisor_finds_nothing_in_the_case(db):
    ir = compile_ir(CASE)
    with psycopg.connect(db) as conn:
        findings = run_advisor(conn, [*ir.schemas, "private"], list(ir.schemas))
    assert findings == []


def test_pydantic_and_openapi_refuse_an_identity_key_on_insert_and_update():
    sys.path.insert(0, str(CASE / "expected/python"))
    try:
        models = importlib.import_module("board_contracts.models")
    finally:
        sys.path.pop(0)
    from pydantic import ValidationError
    assert models.AppNoticeInsert(body="hi").model_dump(exclude_unset=True) == {"body": "hi"}
    for kind in ("Insert", "Update"):
        with pytest.raises(ValidationError):
            getattr(models, f"AppNotice{kind}")(body="hi", id=3)
    assert models.AppNoticeRow.model_fields["id"].annotation is int
    schemas = json.loads((CASE / "expected/openapi/openapi.json").read_text())["components"]["schemas"]
    assert schemas["app.notice.Row"]["properties"]["id"]["readOnly"] is True
    for kind in ("Insert", "Update"):
        assert "id" not in schemas[f"app.notice.{kind}"]["properties"]
        assert schemas[f"app.notice.{kind}"]["additionalProperties"] is False
