"""The schedule-functions migration on a real pg_cron (Debian's postgresql-<v>-cron, in a cluster of its own
that preloads it), with stand-ins for pg_net and Vault (pg_net_vault_standin.sql): two inactive jobs that,
once enabled, POST to the sync Edge Functions with the URL and key read from Vault."""
from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from generator.database.cluster import NoPostgres, apply_migrations, apply_sql, standin_sql, start_cluster
from tests.needs import unavailable
from tests.projects import copy_project
from tests.specgen_cli import specgen

pytestmark = pytest.mark.db

CRON_DB = "specgen_cron"  # pg_cron lives in one database, cron.database_name
STANDIN = Path(__file__).with_name("pg_net_vault_standin.sql")
PREFIX = "specgen-odoo-decoupled-platform-"
FUNCTIONS = ("sync-from-odoo", "sync-to-odoo")
URL, KEY = "https://abcdefghijklmnop.supabase.co", "test-anon-key-7f3a9c"  # stored in Vault by the test
TOKEN = "test-function-token-91c2"


@pytest.fixture(scope="module")
def cron_cluster():
    try:
        cluster = start_cluster(preload=("pg_cron",), settings={"cron.database_name": CRON_DB})
    except NoPostgres as exc:
        unavailable(f"no PostgreSQL with pg_cron: {exc} (apt-get install postgresql-15-cron)")
    with psycopg.connect(cluster.conninfo, autocommit=True) as conn:
        conn.execute(f"create database {CRON_DB}")
    yield cluster
    cluster.stop()


@pytest.fixture
def scheduled(tmp_path, repo_root):
    """The repository's project with the schedule-functions migration written after its own."""
    project = copy_project(repo_root, tmp_path)
    result = specgen("migrate", "--empty", "schedule_functions", "--template", "schedule-functions", cwd=project)
    assert result.returncode == 0, result.stderr
    return project


def _jobs(conn) -> dict[str, tuple]:
    rows = conn.execute("select jobname, schedule, active, command from cron.job order by jobname").fetchall()
    return {name: rest for name, *rest in rows}


def test_the_jobs_are_created_inactive_and_call_the_functions_with_vault_secrets(cron_cluster, scheduled):
    url = cron_cluster.url_for(CRON_DB)
    apply_sql(url, standin_sql())
    apply_sql(url, STANDIN.read_text())
    applied = apply_migrations(url, scheduled / "supabase/migrations")
    migration = applied[-1]
    assert migration.name.endswith("_schedule_functions.sql")
    with psycopg.connect(url, autocommit=True) as conn:
        jobs = _jobs(conn)
        assert sorted(jobs) == [PREFIX + f for f in FUNCTIONS]
        assert all(schedule == "* * * * *" and active is False for schedule, active, _ in jobs.values())
        conn.execute("select vault.create_secret(%s, 'project_url'), vault.create_secret(%s, 'anon_key'), "
                     "vault.create_secret(%s, 'specgen_function_token')", (URL, KEY, TOKEN))
        for function in FUNCTIONS:
            command = jobs[PREFIX + function][2]
            request_id = conn.execute(command).fetchone()[0]  # what pg_cron runs, by hand
            row = conn.execute("select url, headers, body, params, timeout_milliseconds from net.requests_made"
                               " where id = %s", (request_id,)).fetchone()
            assert row == (f"{URL}/functions/v1/{function}",
                           {"Content-Type": "application/json", "Authorization": f"Bearer {KEY}",
                            "x-specgen-function-token": TOKEN}, {}, {}, 150000)
        # the header's way to enable them, as written
        enable = next(line.removeprefix("--").strip() for line in migration.read_text().splitlines()
                      if "active := true" in line)
        conn.execute(enable)
        assert all(active is True for _, active, _ in _jobs(conn).values())
    text = migration.read_text()
    assert URL not in text and KEY not in text and TOKEN not in text
    apply_sql(url, text)  # again: the same two jobs, inactive again
    with psycopg.connect(url) as conn:
        again = _jobs(conn)
        assert sorted(again) == sorted(jobs) and all(active is False for _, active, _ in again.values())
        assert {name: command for name, (_, _, command) in again.items()} == {n: c for n, (_, _, c) in jobs.items()}


def test_where_pg_cron_is_not_preloaded_the_migration_schedules_nothing(supabase_db, scheduled):
    """`specgen verify`'s throwaway database (the shared test cluster): the migration applies, says why it
    did nothing, and creates no cron schema."""
    notices = []
    migration = sorted((scheduled / "supabase/migrations").glob("*.sql"))[-1]
    with psycopg.connect(supabase_db) as conn:
        conn.add_notice_handler(lambda diag: notices.append(diag.message_primary))
        conn.execute(migration.read_text())
        assert conn.execute("select to_regnamespace('cron')").fetchone()[0] is None
        database = conn.execute("select current_database()").fetchone()[0]
    assert notices == [f"pg_cron is not preloaded for database {database}: the Edge Functions are not scheduled"]
