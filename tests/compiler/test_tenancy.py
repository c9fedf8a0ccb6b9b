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
from tests.rls_fixtures import migrated_world

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


def _project(conn, org) -> uuid.UUID:
    return conn.execute("insert into app.projects (org_id, name) values (%s, %s) returning id",
                        (org, f"p-{uuid.uuid4().hex[:6]}")).fetchone()[0]


def test_a_reference_to_another_orgs_row_is_refused_for_the_service_role_too(db):
    """(org_id, project_id) -> (org_id, id): the service role (which RLS does not limit) cannot point org A's
    task at org B's project, and the error is the same as for an id that exists nowhere."""
    url, world = db
    a, b = world.orgs["A"], world.orgs["B"]
    with psycopg.connect(url) as conn:
        act_as(conn, None, "service_role")
        theirs = _project(conn, b)
        errors = []
        for target in (theirs, uuid.uuid4()):
            with pytest.raises(psycopg.errors.ForeignKeyViolation) as caught:
                with conn.transaction():
                    conn.execute("insert into app.tasks (org_id, project_id, title) values (%s, %s, 'x')", (a, target))
            errors.append(caught.value.diag.message_primary)
        assert errors[0] == errors[1]  # nothing tells whether B's project exists
        mine = _project(conn, a)
        task = conn.execute("insert into app.tasks (org_id, project_id, title) values (%s, %s, 'ok') returning id",
                            (a, mine)).fetchone()[0]
        with pytest.raises(psycopg.errors.ForeignKeyViolation):  # nor moved there afterwards
            with conn.transaction():
                conn.execute("update app.tasks set project_id = %s where id = %s", (theirs, task))
        with pytest.raises(psycopg.errors.ForeignKeyViolation):  # nor its org changed under the reference
            with conn.transaction():
                conn.execute("update app.tasks set org_id = %s where id = %s", (b, task))
        conn.rollback()


def test_on_delete_set_null_clears_the_reference_and_keeps_the_org(db):
    """tasks.product_id is `on delete set null`: PostgreSQL 15's `set null (product_id)` leaves org_id alone
    (a plain `set null` on the composite key would null org_id too, and fail its not null)."""
    url, world = db
    a = world.orgs["A"]
    with psycopg.connect(url) as conn:
        act_as(conn, None, "service_role")
        conn.execute("select set_config('specgen.sync_origin', 'odoo', true)")
        product = conn.execute("insert into odoo.products (org_id, instance_id, odoo_id, name) values "
                               "(%s, %s, 987654, 'Widget') returning id", (a, world.instances["A"])).fetchone()[0]
        task = conn.execute("insert into app.tasks (org_id, project_id, product_id, title) values (%s, %s, %s, 't') "
                            "returning id", (a, _project(conn, a), product)).fetchone()[0]
        conn.execute("delete from odoo.products where id = %s", (product,))
        assert conn.execute("select org_id, product_id from app.tasks where id = %s", (task,)).fetchone() == (a, None)
        conn.rollback()


def test_the_migration_names_existing_rows_that_point_at_another_org(pg_cluster, standin_template, repo_root):
    """The platform's migrations up to the same-org one, a task pointing at another org's project written
    before it, then the validate migration: it stops with a message naming the column and the count."""
    from pathlib import Path

    from generator.database.cluster import apply_sql
    folder = Path(repo_root) / "supabase/migrations"
    files = sorted(folder.glob("*.sql"))
    validate = next(f for f in files if f.name.endswith("_same_org_references_validate.sql"))
    name = pg_cluster.create_database(template=standin_template)
    url = pg_cluster.url_for(name)
    try:
        for f in files[:files.index(validate) - 1]:
            apply_sql(url, f.read_text())
        with psycopg.connect(url) as conn:
            orgs = [conn.execute("insert into app.orgs (name, slug) values (%s, %s) returning id",
                                 (n, n.lower())).fetchone()[0] for n in ("A", "B")]
            project = conn.execute("insert into app.projects (org_id, name) values (%s, 'theirs') returning id",
                                   (orgs[1],)).fetchone()[0]
            conn.execute("insert into app.tasks (org_id, project_id, title) values (%s, %s, 'mine')", (orgs[0], project))
            conn.commit()
        apply_sql(url, files[files.index(validate) - 1].read_text())  # added `not valid`: old rows not checked yet
        with pytest.raises(psycopg.errors.RaiseException, match=r"app\.tasks\.project_id: 1 row\(s\) point at a row "
                                                                r"of app\.projects in another org"):
            apply_sql(url, validate.read_text())
    finally:
        pg_cluster.drop_database(name)


def _role_of(conn, org, user):
    row = conn.execute("select role::text from app.memberships where org_id = %s and user_id = %s",
                       (org, user)).fetchone()
    return row[0] if row else None


def test_an_admin_grants_changes_and_revokes_only_roles_up_to_admin(db):
    """roles.yaml `memberships: {ceiling: own_rank}`: the matrix lets admins write memberships.role; the
    ceiling keeps them at or below their own rank."""
    url, world = db
    a = world.orgs["A"]
    admin, owner, member = (world.users[(r, "A")] for r in ("admin", "owner", "member"))
    with psycopg.connect(url) as conn:
        def as_admin(sql, params, refused=False):
            with conn.transaction():
                act_as(conn, admin)
                if refused:
                    with pytest.raises(psycopg.errors.InsufficientPrivilege):
                        with conn.transaction():
                            conn.execute(sql, params)
                    return None
                return conn.execute(sql, params).rowcount

        as_admin("update app.memberships set role = 'owner' where org_id = %s and user_id = %s", (a, admin), refused=True)
        assert as_admin("update app.memberships set role = 'viewer' where org_id = %s and user_id = %s", (a, owner)) == 0
        assert as_admin("delete from app.memberships where org_id = %s and user_id = %s", (a, owner)) == 0
        newcomer = conn.execute("insert into auth.users (id, email) values (gen_random_uuid(), 'n@example.com') "
                                "returning id").fetchone()[0]
        as_admin("insert into app.memberships (org_id, user_id, role) values (%s, %s, 'owner')", (a, newcomer),
                 refused=True)
        assert (_role_of(conn, a, admin), _role_of(conn, a, owner)) == ("admin", "owner")
        # at their own rank and below they may act
        assert as_admin("update app.memberships set role = 'admin' where org_id = %s and user_id = %s", (a, member)) == 1
        assert _role_of(conn, a, member) == "admin"
        conn.rollback()


def test_an_org_keeps_its_last_owner_whoever_asks(db):
    """`keep_one: owner` is a deferred constraint trigger: the last owner cannot leave or be demoted, not even
    by the service role; with a second owner they can; deleting the org is fine."""
    url, world = db
    a = world.orgs["A"]
    owner, admin = world.users[("owner", "A")], world.users[("admin", "A")]
    with psycopg.connect(url) as conn:
        for role in ("authenticated", "service_role"):
            for change in ("delete from app.memberships where org_id = %s and user_id = %s",
                           "update app.memberships set role = 'admin' where org_id = %s and user_id = %s"):
                with pytest.raises(psycopg.errors.CheckViolation, match="would be left with no owner"):
                    with conn.transaction():
                        act_as(conn, owner if role == "authenticated" else None, role)
                        assert conn.execute(change, (a, owner)).rowcount == 1
                        conn.execute("set constraints all immediate")
        with conn.transaction():  # a second owner first, then the first may leave
            act_as(conn, None, "service_role")
            conn.execute("update app.memberships set role = 'owner' where org_id = %s and user_id = %s", (a, admin))
            conn.execute("delete from app.memberships where org_id = %s and user_id = %s", (a, owner))
            conn.execute("set constraints all immediate")
            assert _role_of(conn, a, owner) is None
            raise psycopg.Rollback()
        with conn.transaction():
            conn.execute("delete from app.orgs where id = %s", (a,))
            conn.execute("set constraints all immediate")
            raise psycopg.Rollback()
        assert _role_of(conn, a, owner) == "owner"


def test_a_profile_is_seen_only_by_people_who_share_an_org_with_its_user(db):
    """roles.yaml `profile: select: {rows: co_members}`: org A's member reads the profiles (email included)
    of org A's people and their own, never org B's."""
    url, world = db
    with psycopg.connect(url) as conn:
        for role, org in (("owner", "A"), ("viewer", "A"), ("owner", "B")):
            user = world.users[(role, org)]
            conn.execute("insert into app.profiles (id, display_name, email) values (%s, %s, %s) "
                         "on conflict (id) do nothing", (user, f"{role} {org}", f"{role}.{org}@example.com"))
        with conn.transaction():
            act_as(conn, world.users[("viewer", "A")])
            seen = {r[0] for r in conn.execute("select display_name from app.profiles").fetchall()}
            hidden = conn.execute("select count(*) from app.profiles where id = %s",
                                  (world.users[("owner", "B")],)).fetchone()[0]
        assert {"owner A", "viewer A"} <= seen and "owner B" not in seen and hidden == 0
        conn.rollback()
