"""The baseline migration on a real PostgreSQL with only the Supabase stand-in applied first."""
from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from generator.database.advisor import run_advisor
from generator.database.cluster import apply_migrations, apply_sql
from generator.names import RESERVED
from generator.pipeline import compile_ir, render_all

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def platform(repo_root):
    ir = compile_ir(repo_root)
    files = render_all(ir, "20260101000000")
    return ir, files["supabase/migrations/20260101000000_baseline.sql"]


@pytest.fixture
def migrated(supabase_db, platform):
    apply_sql(supabase_db, platform[1])
    return supabase_db


def _as_user(conn, user_id: str, role: str = "authenticated") -> None:
    conn.execute(f"set local role {role}")
    conn.execute("select set_config('request.jwt.claims', %s, true)",
                 (json.dumps({"sub": user_id, "role": role}),))


def test_committed_migrations_apply_in_order_to_a_fresh_database(repo_root, supabase_db):
    """Every committed migration applies, in name order, each in one transaction."""
    files = apply_migrations(supabase_db, repo_root / "supabase/migrations")
    assert files, "no committed migrations"
    with psycopg.connect(supabase_db) as conn:
        n = conn.execute("select count(*) from pg_tables where schemaname in ('app','odoo','ops')").fetchone()[0]
    ir = compile_ir(repo_root)
    assert n == len(ir.tables)


def test_every_ir_table_and_column_exists_with_its_nullability(migrated, platform):
    """The database has exactly the tables and columns the IR describes."""
    ir = platform[0]
    with psycopg.connect(migrated) as conn:
        rows = conn.execute("""
            select c.table_schema, c.table_name, c.column_name, c.is_nullable = 'YES'
            from information_schema.columns c join information_schema.tables t using (table_schema, table_name)
            where c.table_schema in ('app','odoo','ops') and t.table_type = 'BASE TABLE'""").fetchall()
    actual = {(s, t, c): nullable for s, t, c, nullable in rows}
    expected = {(t.schema, t.name, c.name): c.nullable for t in ir.tables for c in t.columns}
    assert actual == expected


def test_rls_is_on_for_every_table(migrated):
    """No table in app, odoo or ops is reachable without row level security."""
    with psycopg.connect(migrated) as conn:
        off = conn.execute("""
            select n.nspname || '.' || c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where c.relkind = 'r' and n.nspname in ('app','odoo','ops') and not c.relrowsecurity""").fetchall()
    assert off == []


def test_api_roles_without_membership_see_nothing(migrated):
    """A signed-in user who belongs to no org, and anon, get nothing; the service tables stay closed."""
    user = str(uuid.uuid4())
    with psycopg.connect(migrated) as conn:
        conn.execute("insert into auth.users (id, email) values (%s, 'a@example.com')", (user,))
        conn.execute("insert into app.orgs (name, slug) values ('Acme', 'acme')")
        conn.commit()
        with conn.transaction():
            _as_user(conn, user)
            assert conn.execute("select count(*) from app.orgs").fetchone()[0] == 0
            assert conn.execute("select count(*) from app.memberships").fetchone()[0] == 0
        with conn.transaction():
            _as_user(conn, user)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("select count(*) from odoo.instances")
        with conn.transaction():
            _as_user(conn, user)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("select count(*) from ops.runs")
        with conn.transaction():
            _as_user(conn, user, "anon")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("select count(*) from app.orgs")
        with conn.transaction():
            _as_user(conn, user)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("insert into app.orgs (name, slug) values ('Evil', 'evil')")


def test_service_role_reads_and_writes_every_schema(migrated):
    """The sync runs as service_role, which bypasses RLS and may use app, odoo and ops."""
    with psycopg.connect(migrated) as conn:
        conn.execute("set role service_role")
        org = conn.execute("insert into app.orgs (name, slug) values ('Acme', 'acme') returning id").fetchone()[0]
        inst = conn.execute("""insert into odoo.instances (org_id, name, base_url, database, login, secret_ref)
                               values (%s, 'main', 'https://erp.example.com', 'odoo', 'bot', 'ODOO_PASSWORD')
                               returning id""", (org,)).fetchone()[0]
        conn.execute("insert into ops.runs (trace_id, kind, instance_id) values ('t1', 'pull', %s)", (inst,))
        assert conn.execute("select count(*) from ops.runs").fetchone()[0] == 1


def test_updated_at_trigger_moves_on_update(migrated):
    """updated_at is maintained by the database, whatever the client sends."""
    with psycopg.connect(migrated) as conn:
        org = conn.execute("insert into app.orgs (name, slug) values ('Acme', 'acme') returning id").fetchone()[0]
        conn.commit()
        before = conn.execute("select updated_at from app.orgs where id = %s", (org,)).fetchone()[0]
        conn.execute("update app.orgs set name = 'Acme 2', updated_at = '2000-01-01' where id = %s", (org,))
        after = conn.execute("select updated_at from app.orgs where id = %s", (org,)).fetchone()[0]
        assert after > before


def test_spec_checks_are_enforced(migrated):
    """Checks from the spec (pattern, length, range) reject bad rows in the database itself."""
    with psycopg.connect(migrated, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("insert into app.orgs (name, slug) values ('Acme', 'Not A Slug')")
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("insert into app.orgs (name, slug) values ('', 'empty')")
        org = conn.execute("insert into app.orgs (name, slug) values ('Acme', 'acme') returning id").fetchone()[0]
        project = conn.execute("insert into app.projects (org_id, name) values (%s, 'P') returning id",
                               (org,)).fetchone()[0]
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("insert into app.tasks (org_id, project_id, title, priority) values (%s, %s, 't', 9)",
                         (org, project))
        with pytest.raises(psycopg.errors.InvalidTextRepresentation):
            conn.execute("insert into app.tasks (org_id, project_id, title, status) values (%s, %s, 't', 'nope')",
                         (org, project))


def test_deleting_an_org_cascades_to_its_rows(migrated):
    """Tenant columns reference the root with on delete cascade."""
    with psycopg.connect(migrated, autocommit=True) as conn:
        org = conn.execute("insert into app.orgs (name, slug) values ('Acme', 'acme') returning id").fetchone()[0]
        conn.execute("insert into app.projects (org_id, name) values (%s, 'P')", (org,))
        conn.execute("delete from app.orgs where id = %s", (org,))
        assert conn.execute("select count(*) from app.projects").fetchone()[0] == 0


def test_supabase_advisor_finds_nothing_with_every_schema_exposed(migrated, platform):
    """Splinter's lints find nothing at all (no ERROR, WARN or INFO), even treating app, odoo and ops as exposed.

    The `private` schema (policy helpers, which signed-in users must be able to execute) is checked for
    everything but exposure: like Supabase's own recommended setup, the Data API never serves it."""
    ir = platform[0]
    with psycopg.connect(migrated) as conn:
        findings = run_advisor(conn, [*ir.schemas, "private"], list(ir.schemas))
    assert findings == []


def test_advisor_catches_what_it_is_meant_to_catch(supabase_db):
    """The lint queries fire on a schema built to break them, so a clean result means something."""
    bad = """
    create schema app;
    create table app.nopk (x int);
    create table app.parent (id int primary key);
    create table app.child (id int primary key, parent_id int references app.parent (id), email text);
    create index child_a on app.child (email); create index child_b on app.child (email);
    alter table app.parent enable row level security;
    create policy p1 on app.parent for select to authenticated using (id = 1);
    create policy p2 on app.parent for select to authenticated using (id = 2);
    create policy p3 on app.parent for update to authenticated using (auth.uid() is not null) with check (true);
    create function app.f() returns int language sql security definer as 'select 1';
    create view app.v as select * from app.parent;
    """
    apply_sql(supabase_db, bad)
    with psycopg.connect(supabase_db) as conn:
        lints = {f.lint for f in run_advisor(conn, ["app"], ["app"])}
    assert {"no_primary_key", "unindexed_foreign_keys", "duplicate_index", "rls_disabled_in_public",
            "multiple_permissive_policies", "auth_rls_initplan", "rls_policy_always_true",
            "function_search_path_mutable", "anon_security_definer_function_executable",
            "security_definer_view", "sensitive_columns_exposed"} <= lints


def test_reserved_words_match_the_servers_keywords(pg_cluster):
    """The validator's reserved-word list is exactly what PostgreSQL reserves."""
    with psycopg.connect(pg_cluster.conninfo) as conn:
        words = {w for (w,) in conn.execute("select word from pg_get_keywords() where catcode in ('R', 'T')")}
    assert words == RESERVED


def test_app_changes_to_shared_entities_are_queued_in_the_outbox(migrated):
    """A change to a pushed entity writes an outbox row in the same transaction; the sync's own writes do not."""
    with psycopg.connect(migrated, autocommit=True) as conn:
        org = conn.execute("insert into app.orgs (name, slug) values ('Acme', 'acme') returning id").fetchone()[0]
        # No Odoo instance yet: nothing to push to, nothing queued.
        conn.execute("insert into app.contacts (org_id, full_name) values (%s, 'Early')", (org,))
        assert conn.execute("select count(*) from odoo.outbox").fetchone()[0] == 0
        inst = conn.execute("""insert into odoo.instances (org_id, name, base_url, database, login, secret_ref)
                               values (%s, 'main', 'https://erp.example.com', 'odoo', 'bot', 'ODOO_PASSWORD')
                               returning id""", (org,)).fetchone()[0]
        contact = conn.execute("insert into app.contacts (org_id, full_name) values (%s, 'Ada') returning id",
                               (org,)).fetchone()[0]
        conn.execute("update app.contacts set notes = 'met at a fair' where id = %s", (contact,))
        conn.execute("update app.contacts set notes = notes where id = %s", (contact,))  # no change: not queued
        with conn.transaction():
            conn.execute("select set_config('specgen.sync_origin', 'odoo', true)")
            conn.execute("update app.contacts set full_name = 'Ada L.' where id = %s", (contact,))
        conn.execute("delete from app.contacts where id = %s", (contact,))
        rows = conn.execute("select instance_id, entity, local_id, operation::text, payload ->> 'full_name' "
                            "from odoo.outbox order by id").fetchall()
    assert rows == [(inst, "contact", contact, "create", "Ada"), (inst, "contact", contact, "write", "Ada"),
                    (inst, "contact", contact, "unlink", "Ada L.")]


def test_a_failed_app_transaction_leaves_no_outbox_row(migrated):
    """The outbox row and the app change commit or roll back together."""
    with psycopg.connect(migrated) as conn:
        org = conn.execute("insert into app.orgs (name, slug) values ('Acme', 'acme') returning id").fetchone()[0]
        conn.execute("""insert into odoo.instances (org_id, name, base_url, database, login, secret_ref)
                        values (%s, 'main', 'https://erp.example.com', 'odoo', 'bot', 'ODOO_PASSWORD')""", (org,))
        conn.commit()
        conn.execute("insert into app.contacts (org_id, full_name) values (%s, 'Ada')", (org,))
        conn.rollback()
        assert conn.execute("select count(*) from odoo.outbox").fetchone()[0] == 0


def test_sync_health_view_flags_stalls_errors_and_dead_letters(migrated):
    """ops.sync_health shows one row per instance and entity, with the alert conditions as flags."""
    with psycopg.connect(migrated, autocommit=True) as conn:
        org = conn.execute("insert into app.orgs (name, slug) values ('Acme', 'acme') returning id").fetchone()[0]
        inst = conn.execute("""insert into odoo.instances (org_id, name, base_url, database, login, secret_ref)
                               values (%s, 'main', 'https://erp.example.com', 'odoo', 'bot', 'ODOO_PASSWORD')
                               returning id""", (org,)).fetchone()[0]
        conn.execute("""insert into ops.runs (trace_id, kind, instance_id, entity, status, started_at, finished_at)
                        values ('t1', 'pull', %(i)s, 'partner', 'succeeded', now() - interval '1 minute', now()),
                               ('t2', 'pull', %(i)s, 'product', 'failed', now() - interval '1 minute', now()),
                               ('t3', 'pull', %(i)s, 'product', 'succeeded', now() - interval '2 hours',
                                now() - interval '2 hours')""", {"i": inst})
        conn.execute("insert into odoo.dead_letters (source, instance_id, entity, payload, reason, trace_id) "
                     "select 'pull', %s, 'invoice', '{}', 'bad value', 't' from generate_series(1, 11)", (inst,))
        rows = {r[0]: r[1:] for r in conn.execute(
            "select entity, stalled, error_rate_high, dead_letters_growing, dead_letters from ops.sync_health")}
    assert rows["partner"] == (False, False, False, 0)
    assert rows["product"] == (True, True, False, 0)  # last success 2 hours ago; half of recent runs failed
    assert rows["invoice"][2:] == (True, 11)
    assert set(rows) == {"partner", "product", "sale_order", "sale_order_line", "invoice", "contact"}
