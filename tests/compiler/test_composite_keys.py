"""Composite primary keys and the references to them (issue 15, section 5), on the composite_keys golden case
migrated into PostgreSQL: RLS, the audit trigger and the same-org rule hold for a join table keyed
(project_id, user_id), and `on delete set null` of a composite reference resets only its optional column."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import psycopg
import pytest

from generator.pipeline import compile_ir
from tests.rls_fixtures import migrated_world, new_user

pytestmark = pytest.mark.db
CASE = Path(__file__).parent / "golden" / "composite_keys"


@pytest.fixture(scope="module")
def db(pg_cluster, standin_template):
    yield from migrated_world(pg_cluster, standin_template, compile_ir(CASE))


def act_as(conn, user: uuid.UUID | None, role: str = "authenticated") -> None:
    claims = {"role": role, **({"sub": str(user)} if user else {})}
    conn.execute(f"set local role {role}")
    conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))


def _project(conn, org) -> uuid.UUID:
    return conn.execute("insert into app.project (org_id, title) values (%s, 'p') returning id", (org,)).fetchone()[0]


def test_a_member_writes_and_reads_join_rows_of_their_own_org_only(db):
    """An admin of org A adds a project member through RLS; staff of A see it, staff of B do not; the same
    insert into org B's project is refused; the audit log keys the row by both columns."""
    url, world = db
    a, b = world.orgs["A"], world.orgs["B"]
    with psycopg.connect(url) as conn:
        ours, theirs, user = _project(conn, a), _project(conn, b), new_user(conn)
        conn.commit()
        with conn.transaction():
            act_as(conn, world.users[("admin", "A")])
            key = conn.execute("insert into app.project_member (org_id, project_id, user_id, level) "
                               "values (%s, %s, %s, 'lead') returning project_id, user_id", (a, ours, user)).fetchone()
            assert key == (ours, user)
        with conn.transaction():
            act_as(conn, world.users[("staff", "A")])
            seen = conn.execute("select level::text from app.project_member where project_id = %s and user_id = %s",
                                (ours, user)).fetchall()
            assert seen == [("lead",)]
        with conn.transaction():
            act_as(conn, world.users[("staff", "B")])
            assert conn.execute("select count(*) from app.project_member where project_id = %s",
                                (ours,)).fetchone()[0] == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # RLS: org B is not the admin's
            with conn.transaction():
                act_as(conn, world.users[("admin", "A")])
                conn.execute("insert into app.project_member (org_id, project_id, user_id) values (%s, %s, %s)",
                             (b, theirs, user))
        with pytest.raises(psycopg.errors.ForeignKeyViolation):  # same org: A's row cannot name B's project
            with conn.transaction():
                act_as(conn, world.users[("admin", "A")])
                conn.execute("insert into app.project_member (org_id, project_id, user_id) values (%s, %s, %s)",
                             (a, theirs, user))
        with conn.transaction():
            act_as(conn, world.users[("admin", "A")])
            conn.execute("update app.project_member set level = 'contributor' where project_id = %s and user_id = %s",
                         (ours, user))
        logged = conn.execute("select operation::text, row_pk, org_id from ops.audit_log "
                              "where table_name = 'project_member' and row_pk = %s order by id",
                              (f"{{{ours},{user}}}",)).fetchall()
        assert logged == [("insert", f"{{{ours},{user}}}", a), ("update", f"{{{ours},{user}}}", a)]


def test_a_composite_reference_stays_in_one_org_and_set_null_keeps_the_required_column(db):
    """task (org_id, project_id, assignee_id) -> project_member (org_id, project_id, user_id): a member of
    another org is refused; removing the member clears assignee_id and keeps the task's project_id."""
    url, world = db
    a, b = world.orgs["A"], world.orgs["B"]
    with psycopg.connect(url) as conn:
        ours, theirs, user = _project(conn, a), _project(conn, b), new_user(conn)
        conn.execute("insert into app.project_member (org_id, project_id, user_id) values (%s, %s, %s), "
                     "(%s, %s, %s)", (a, ours, user, b, theirs, user))
        conn.commit()
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            with conn.transaction():
                act_as(conn, None, "service_role")  # RLS does not limit it; the foreign key does
                conn.execute("insert into app.task (org_id, title, project_id, assignee_id) values (%s, 't', %s, %s)",
                             (a, theirs, user))
        with pytest.raises(psycopg.errors.ForeignKeyViolation):  # no such member of this project
            with conn.transaction():
                conn.execute("insert into app.task (org_id, title, project_id, assignee_id) values (%s, 't', %s, %s)",
                             (a, ours, uuid.uuid4()))
        with conn.transaction():
            act_as(conn, world.users[("staff", "A")])
            task = conn.execute("insert into app.task (org_id, title, project_id, assignee_id) "
                                "values (%s, 't', %s, %s) returning id", (a, ours, user)).fetchone()[0]
        conn.execute("insert into app.timesheet (project_id, user_id, hours) values (%s, %s, 1.5)", (ours, user))
        conn.execute("delete from app.project_member where project_id = %s and user_id = %s", (ours, user))
        assert conn.execute("select project_id, assignee_id from app.task where id = %s",
                            (task,)).fetchone() == (ours, None)
        assert conn.execute("select count(*) from app.timesheet where project_id = %s", (ours,)).fetchone()[0] == 0
        conn.rollback()
