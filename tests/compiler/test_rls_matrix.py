"""The permission matrix, executed: every role x entity x command, on rows of the caller's org and of
another org, must be allowed or denied exactly as roles.yaml says. Plus the escalation attempts.
"""
from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from generator.database.cluster import apply_sql
from generator.emit.policies import writable_columns
from generator.ir import IR, Permission, Table
from generator.pipeline import compile_ir, render_all
from tests.rls_fixtures import build_world, migrated_world, make_row, new_user

pytestmark = pytest.mark.db
COMMANDS = ("select", "insert", "update", "delete")
STAMP = "20260101000000"


@pytest.fixture(scope="module")
def ir(repo_root) -> IR:
    return compile_ir(repo_root)


@pytest.fixture(scope="module")
def db(pg_cluster, standin_template, ir):
    yield from migrated_world(pg_cluster, standin_template, ir, STAMP)


def act_as(conn, user: uuid.UUID | None, extra_claims: dict | None = None) -> None:
    role = "anon" if user is None else "authenticated"
    claims = {"role": role, **({"sub": str(user)} if user else {}), **(extra_claims or {})}
    conn.execute(f"set local role {role}")
    conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))


def expected(ir: IR, t: Table, command: str, role: str | None, org_is_mine: bool, own: bool) -> bool:
    """What roles.yaml says, read independently of the generated SQL."""
    perm = next((p for p in ir.permissions if (p.schema, p.table, p.command) == (t.schema, t.name, command)), None)
    if perm is None:
        return False
    for g in perm.grants:
        if g.role == "anon":
            return True  # anon grants are for everyone, signed in or not
        if role is None:
            continue
        if role not in next(r.satisfied_by for r in ir.roles if r.name == g.role):
            continue
        # on a global table, org_is_mine says whether the row's user shares an org with the caller
        if g.rows == "all" or (g.rows in ("org", "co_members") and org_is_mine) or (g.rows == "own" and own and (
                org_is_mine or t.scope != "tenant")):
            return True
    return False


def _permission(ir: IR, t: Table, command: str) -> Permission | None:
    return next((p for p in ir.permissions if (p.schema, p.table, p.command) == (t.schema, t.name, command)), None)


def _tables(ir: IR) -> list[Table]:
    return [t for t in ir.tables if t.schema in ir.exposed_schemas]


def _targets(conn, world, t: Table, actor: uuid.UUID | None, other: uuid.UUID):
    """(label, org_is_mine, own, key) rows to act on: mine and someone else's in org A, and one in org B."""
    ir = world.ir
    tn = ir.tenancy
    if (t.schema, t.name) == (tn.root_schema, tn.root_table):
        return [("org A (mine)", True, False, world.orgs["A"]), ("org B", False, False, world.orgs["B"])]
    if t.scope != "tenant":
        own = make_row(conn, world, t, None, owner=actor) if actor and t.owned_by else None
        if not t.owned_by:
            return [("someone else's", True, False, make_row(conn, world, t, None, owner=other))]
        # A row keyed by a user (a profile): of a user in no org, of a co-member in org A, of org B's member.
        rows = [("a user in no org's", False, False, make_row(conn, world, t, None, owner=other))]
        weakest = max((r for r in ir.roles if not r.system), key=lambda r: len(r.satisfied_by)).name
        for label, org, mine in (("a co-member's in org A", "A", True), ("org B member's", "B", False)):
            user = new_user(conn)
            conn.execute(f"insert into {tn.membership_schema}.{tn.membership_table} ({tn.column}, {tn.user_column}, "
                         f"{tn.role_column}) values (%s, %s, %s)", (world.orgs[org], user, weakest))
            rows.append((label, mine, False, make_row(conn, world, t, None, owner=user)))
        return rows + ([("mine", True, True, own)] if own is not None else [])
    rows = [("org A, someone else's", True, False, make_row(conn, world, t, "A", owner=other)),
            ("org B", False, bool(t.owned_by), make_row(conn, world, t, "B", owner=actor))]
    if t.owned_by and actor:
        rows.append(("org A, mine", True, True, make_row(conn, world, t, "A", owner=actor)))
    return rows


def _try(conn, sql: str, params) -> bool:
    """Run one statement in a savepoint; True if it touched a row (or inserted), False if refused or filtered."""
    try:
        with conn.transaction():
            cur = conn.execute(sql, params)
            return cur.rowcount > 0 if not sql.lstrip().startswith("select") else cur.fetchone()[0] > 0
    except (psycopg.errors.InsufficientPrivilege, psycopg.errors.CheckViolation) as exc:
        if isinstance(exc, psycopg.errors.CheckViolation):
            raise
        return False


def _insert_values(conn, world, t: Table, actor, org: str) -> dict:
    """A full valid row for org `org`, written by nobody yet: build it as owner, read it back, delete it."""
    row = None
    with conn.transaction():
        key = make_row(conn, world, t, org if t.scope == "tenant" else None, owner=actor)
        row = conn.execute(f"select to_jsonb(x) from {t.qualified} x where {t.primary_key[0]} = %s",
                           (key,)).fetchone()[0]
        raise psycopg.Rollback()  # the row only served to produce valid values
    for fk in t.foreign_keys:  # users made for the throwaway row were rolled back with it
        col = fk.columns[0]
        if fk.ref_schema == "auth" and row.get(col) is not None and col != t.owned_by:
            row[col] = str(new_user(conn))
    p = _permission(world.ir, t, "insert")
    allowed = set(writable_columns(world.ir, t, p)) if p else {c.name for c in t.columns if not c.identity}
    return {k: (psycopg.types.json.Jsonb(v) if isinstance(v, (dict, list)) and t.column(k).type.base == "jsonb"
                else v) for k, v in row.items() if k in allowed and v is not None}


def _insert_kinds(world, t: Table) -> list[tuple[str, bool, bool]]:
    """(label, org_is_mine, own) for the rows an actor tries to create."""
    tn = world.ir.tenancy
    if (t.schema, t.name) == (tn.root_schema, tn.root_table):
        return [("a new org", True, False)]
    if t.scope != "tenant":
        return [("someone else's", True, False)] + ([("mine", True, True)] if t.owned_by else [])
    kinds = [("org A, someone else's", True, False), ("org B", False, bool(t.owned_by))]
    return kinds + ([("org A, mine", True, True)] if t.owned_by else [])


def _statement(ir: IR, t: Table, command: str, key) -> tuple[str, list]:
    if command == "select":
        return f"select count(*) from {t.qualified} where {t.primary_key[0]} = %s", [key]
    if command == "update":
        p = _permission(ir, t, "update")
        cols = writable_columns(ir, t, p) if p else [c.name for c in t.columns if c.system in (None, "platform")]
        col = cols[0]
        return f"update {t.qualified} set {col} = {col} where {t.primary_key[0]} = %s", [key]
    return f"delete from {t.qualified} where {t.primary_key[0]} = %s", [key]


def run_matrix(url: str, world, ir: IR) -> tuple[list[str], set]:
    """Act out every cell of the matrix; return the mismatches and the cells judged."""
    tn = ir.tenancy
    roles = [r.name for r in ir.roles if not r.system] + [None]  # None = anon
    mismatches, cells = [], set()

    def judge(t, command, role, label, mine, own, actual):
        want = expected(ir, t, command, role, mine, own)
        cells.add((t.schema, t.name, command, role, mine))
        if actual != want:
            mismatches.append(f"{t.schema}.{t.name} {command} as {role or 'anon'} on {label}: "
                              f"{'allowed' if actual else 'denied'}, spec says {'allow' if want else 'deny'}")

    with psycopg.connect(url) as conn:
        other = new_user(conn)
        conn.commit()
        for t in _tables(ir):
            for role in roles:
                actor = world.users[(role, "A")] if role else None
                with conn.transaction():
                    # Inserts first, so a row the actor may create does not exist yet.
                    for label, mine, own in _insert_kinds(world, t):
                        values = _insert_values(conn, world, t, actor if own and actor else other,
                                                "A" if mine else "B")
                        if (t.schema, t.name) == (tn.root_schema, tn.root_table):
                            values.pop(t.primary_key[0], None)
                        sql = (f"insert into {t.qualified} ({', '.join(values)}) "
                               f"values ({', '.join(['%s'] * len(values))})")
                        act_as(conn, actor)
                        actual = _try(conn, sql, list(values.values()))
                        conn.execute("reset role")
                        judge(t, "insert", role, label, mine, own and actor is not None, actual)
                    for label, mine, own, key in _targets(conn, world, t, actor, other):
                        for command in ("select", "update", "delete"):
                            sql, params = _statement(ir, t, command, key)
                            act_as(conn, actor)
                            actual = _try(conn, sql, params)
                            conn.execute("reset role")
                            judge(t, command, role, label, mine, own, actual)
                    raise psycopg.Rollback()
    return mismatches, cells


def test_the_matrix_holds_for_every_role_entity_and_command(db, ir):
    """Every role x entity x command on own-org and other-org rows is allowed or denied exactly as the spec says."""
    url, world = db
    roles = [r.name for r in ir.roles if not r.system] + [None]
    mismatches, cells = run_matrix(url, world, ir)
    assert mismatches == []
    # Every table x role x command was judged on a row of the caller's own org, and tenant tables also on
    # a row of another org.
    for t in _tables(ir):
        for role in roles:
            for command in COMMANDS:
                assert (t.schema, t.name, command, role, True) in cells
                if t.scope == "tenant":
                    assert (t.schema, t.name, command, role, False) in cells


def test_the_matrix_test_catches_a_leaky_policy(pg_cluster, standin_template, ir):
    """With one policy loosened to `using (true)`, the matrix reports the cross-tenant read it allows."""
    name = pg_cluster.create_database(template=standin_template)
    url = pg_cluster.url_for(name)
    try:
        sql = render_all(ir, STAMP)[f"supabase/migrations/{STAMP}_baseline.sql"]
        leaky = "create policy tasks_select on app.tasks for select to authenticated using (true);"
        sql = "\n".join(leaky if line.startswith("create policy tasks_select ") else line for line in sql.splitlines())
        apply_sql(url, sql)
        with psycopg.connect(url) as conn:
            world = build_world(conn, ir)
            conn.commit()
        mismatches, _ = run_matrix(url, world, ir)
    finally:
        pg_cluster.drop_database(name)
    assert "app.tasks select as viewer on org B: allowed, spec says deny" in mismatches
    assert all(m.startswith("app.tasks select") for m in mismatches)


def test_every_exposed_entity_command_and_role_is_covered(ir):
    """The matrix test's loops reach every table, role and command of the spec (no silent gaps)."""
    tables = {(t.schema, t.name) for t in _tables(ir)}
    assert {(p.schema, p.table) for p in ir.permissions} <= tables
    assert len([r for r in ir.roles if not r.system]) == 4


def test_columns_outside_a_restricted_grant_cannot_be_written(db, ir):
    """Where the matrix lists columns, writing any other column is refused by column privileges."""
    url, world = db
    checked = 0
    with psycopg.connect(url) as conn:
        for p in ir.permissions:
            if p.command != "update" or not p.grants[0].columns:
                continue
            t = ir.table(p.schema, p.table)
            forbidden = [c.name for c in t.columns if c.name not in p.grants[0].columns and not c.system]
            for role in ("owner",):
                actor = world.users[(role, "A")]
                with conn.transaction():
                    key = _targets(conn, world, t, actor, new_user(conn))[-1][3]
                    for col in forbidden:
                        act_as(conn, actor)
                        assert _try(conn, f"update {t.qualified} set {col} = {col} where {t.primary_key[0]} = %s",
                                    [key]) is False, f"{t.name}.{col}"
                        conn.execute("reset role")
                        checked += 1
                    raise psycopg.Rollback()
    assert checked >= 3


class TestEscalation:
    """Attempts to reach another tenant's data or more rights than granted. All must be denied."""

    def test_insert_with_another_orgs_id(self, db, ir):
        """An owner of org A cannot create a task in org B."""
        url, world = db
        with psycopg.connect(url) as conn:
            project_b = make_row(conn, world, ir.entity_table("project"), "B")
            conn.commit()
            act_as(conn, world.users[("owner", "A")])
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("insert into app.tasks (org_id, project_id, title) values (%s, %s, 'x')",
                             (world.orgs["B"], project_b))

    def test_update_org_id(self, db, ir):
        """Nobody can move a row to another org, not even an owner of both orgs."""
        url, world = db
        with psycopg.connect(url) as conn:
            owner = world.users[("owner", "A")]
            conn.execute("insert into app.memberships (org_id, user_id, role) values (%s, %s, 'owner')",
                         (world.orgs["B"], owner))
            task = make_row(conn, world, ir.entity_table("task"), "A", owner=owner)
            conn.commit()
            act_as(conn, owner)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("update app.tasks set org_id = %s where id = %s", (world.orgs["B"], task))
            conn.rollback()
            conn.execute("delete from app.memberships where org_id = %s and user_id = %s", (world.orgs["B"], owner))
            conn.commit()

    def test_call_helper_functions_as_anon(self, db, ir):
        """anon cannot execute the security definer helpers."""
        url, _ = db
        with psycopg.connect(url) as conn:
            act_as(conn, None)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("select private.user_org_ids(array['owner']::app.org_role[])")
        with psycopg.connect(url) as conn:
            granted = conn.execute("select has_function_privilege('anon', 'private.user_org_ids(app.org_role[])', "
                                   "'execute'), has_schema_privilege('anon', 'private', 'usage')").fetchone()
            assert granted == (False, False)

    @pytest.mark.parametrize("table", ["ops.runs", "ops.run_events", "ops.audit_log", "ops.artifacts",
                                       "odoo.outbox", "odoo.instances", "odoo.dead_letters"])
    def test_read_ops_and_bridge_tables_as_authenticated(self, db, table):
        """A signed-in owner cannot read run tracking, the audit log or the sync's bridge tables."""
        url, world = db
        with psycopg.connect(url) as conn:
            act_as(conn, world.users[("owner", "A")])
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"select count(*) from {table}")

    def test_forge_a_role_claim_in_user_metadata(self, db, ir):
        """Groups placed in user_metadata (which users can edit) grant nothing; only app_metadata counts."""
        url, world = db
        with psycopg.connect(url) as conn:
            viewer = world.users[("viewer", "A")]
            forged = {"groups": {str(world.orgs["B"]): ["platform-owners"]}}
            conn.execute("update auth.users set raw_user_meta_data = %s where id = %s", (json.dumps(forged), viewer))
            conn.commit()
            act_as(conn, viewer, {"user_metadata": {**forged, "role": "owner"}})
            assert conn.execute("select count(*) from app.orgs where id = %s", (world.orgs["B"],)).fetchone()[0] == 0
            assert conn.execute("update app.orgs set name = 'pwned' where id = %s",
                                (world.orgs["A"],)).rowcount == 0  # only owners may rename; RLS filters it out
            conn.rollback()
            memberships = conn.execute("select count(*) from app.memberships where user_id = %s",
                                       (viewer,)).fetchone()[0]
            assert memberships == 1


def test_sso_groups_in_app_metadata_become_memberships(db, ir):
    """IdP groups under app_metadata map to org roles (the strongest wins) and are removed when dropped."""
    url, world = db
    with psycopg.connect(url) as conn:
        org_a, org_b = str(world.orgs["A"]), str(world.orgs["B"])
        user = new_user(conn, json.dumps({"groups": {org_a: ["platform-staff", "platform-admins"],
                                                     "not-a-uuid": ["platform-owners"]}}))
        rows = conn.execute("select org_id::text, role::text from app.memberships where user_id = %s",
                            (user,)).fetchall()
        assert rows == [(org_a, "admin")]
        conn.execute("update auth.users set raw_app_meta_data = %s where id = %s",
                     (json.dumps({"groups": {org_b: ["platform-readonly"]}}), user))
        rows = conn.execute("select org_id::text, role::text from app.memberships where user_id = %s",
                            (user,)).fetchall()
        assert rows == [(org_b, "viewer")]
        conn.rollback()


def test_audited_changes_are_logged_with_pii_masked_and_the_log_is_append_only(db, ir):
    """Changes to audited entities land in ops.audit_log with actor, org and changed columns; pii is masked;
    nobody, not even the service role, can change or delete a log entry."""
    url, world = db
    with psycopg.connect(url) as conn:
        member = world.users[("member", "A")]
        with conn.transaction():
            act_as(conn, member)
            contact = conn.execute("insert into app.contacts (org_id, full_name, email) values (%s, 'Ada', "
                                   "'ada@example.com') returning id", (world.orgs["A"],)).fetchone()[0]
            conn.execute("update app.contacts set email = 'ada@lovelace.org', notes = 'x' where id = %s", (contact,))
        rows = conn.execute("select actor, org_id, operation::text, row_pk, old_values, new_values, changed_columns "
                            "from ops.audit_log where table_name = 'contacts' and row_pk = %s order by id",
                            (str(contact),)).fetchall()
        assert [r[2] for r in rows] == ["insert", "update"]
        assert all(r[0] == member and r[1] == world.orgs["A"] for r in rows)
        assert rows[0][5]["email"] == "***" and rows[0][5]["full_name"] == "Ada"
        assert rows[1][6] == ["email", "notes"]
        assert rows[1][4] == {"email": "***", "notes": None} and rows[1][5] == {"email": "***", "notes": "x"}
        assert "ada@" not in json.dumps([r[4] for r in rows] + [r[5] for r in rows])
        conn.commit()
        for role in ("service_role", None):
            with conn.transaction():
                if role:
                    conn.execute(f"set local role {role}")
                with pytest.raises((psycopg.errors.InsufficientPrivilege, psycopg.errors.RaiseException)):
                    conn.execute("delete from ops.audit_log")
            with conn.transaction():
                if role:
                    conn.execute(f"set local role {role}")
                with pytest.raises((psycopg.errors.InsufficientPrivilege, psycopg.errors.RaiseException)):
                    conn.execute("update ops.audit_log set actor = null")
