"""The real Supabase CLI (npm `supabase`, pinned in tests/node/package-lock.json) against the Supabase
stand-in, with `--db-url` as a user runs it on a plain PostgreSQL: `db push` applies every committed
migration, `migration list` shows each one applied, `db lint` (plpgsql_check) and `db advisors`
(Supabase's splinter) find nothing at warning level, and `inspect db` reads pg_stat_statements.
None of these needs Docker. The CLI writes `supabase/.temp/` into its workdir and its state into
$HOME/.supabase, so it runs on a copy of supabase/ with HOME in a temp folder."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from tests.consumers import NODE_DIR
from tests.needs import NODE_PACKAGES, unavailable

from generator.database.cluster import apply_sql, standin_sql

pytestmark = [pytest.mark.db, pytest.mark.node]

SUPABASE = NODE_DIR / "node_modules" / ".bin" / "supabase"
OUR_SCHEMAS = "app,odoo,ops,private"


def cli_url(conninfo: str) -> str:
    """The CLI takes a URL only, percent-encoded, with `sslmode=disable` for a server without TLS (over TCP it
    fails without it); a unix socket directory goes in the `host` parameter (pgx's form)."""
    params = psycopg.conninfo.conninfo_to_dict(conninfo)
    user = quote(params.get("user", "postgres"), safe="")
    password = f":{quote(params['password'], safe='')}" if params.get("password") else ""
    host, port = params.get("host", "localhost"), params.get("port")
    query = "sslmode=disable"
    if host.startswith("/"):
        query += f"&host={quote(host, safe='')}"
        host = "localhost"
    netloc = f"{user}{password}@{host}" + (f":{port}" if port else "")
    return f"postgresql://{netloc}/{quote(params['dbname'], safe='')}?{query}"


@pytest.fixture(scope="module")
def supabase(tmp_path_factory):
    """Run the CLI: a function taking its arguments, returning the finished process."""
    if not shutil.which("node"):
        unavailable("Node.js is not installed")
    if not SUPABASE.exists():
        unavailable(NODE_PACKAGES)
    home = tmp_path_factory.mktemp("supabase-home")
    env = {**os.environ, "HOME": str(home), "DO_NOT_TRACK": "1", "SUPABASE_TELEMETRY_DISABLED": "1"}

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([str(SUPABASE), *args], capture_output=True, text=True, env=env,
                                stdin=subprocess.DEVNULL, timeout=300)
        if check:
            assert result.returncode == 0, f"supabase {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result
    return run


@pytest.fixture(scope="module")
def workdir(repo_root, tmp_path_factory) -> Path:
    """A project folder holding a copy of supabase/ (the CLI's layout: supabase/migrations/)."""
    root = tmp_path_factory.mktemp("supabase-project")
    shutil.copytree(repo_root / "supabase", root / "supabase")
    return root


def migration_versions(workdir: Path) -> list[str]:
    return sorted(p.name.split("_", 1)[0] for p in (workdir / "supabase" / "migrations").glob("*.sql"))


@pytest.fixture(scope="module")
def pushed(pg_cluster, standin_template, supabase, workdir) -> str:
    """The CLI URL of a stand-in database on which `supabase db push` applied every migration."""
    name = pg_cluster.create_database(template=standin_template, prefix="supabasecli")
    url = cli_url(pg_cluster.url_for(name))
    result = supabase("db", "push", "--db-url", url, "--workdir", str(workdir), "--yes")
    applied = re.findall(r"Applying migration (\d{14})_", result.stdout + result.stderr)
    assert sorted(set(applied)) == migration_versions(workdir)
    yield url
    pg_cluster.drop_database(name)


@pytest.fixture(scope="module")
def plpgsql_check(pg_cluster) -> None:
    """`db lint` creates plpgsql_check for its run (and rolls back): the server must have it."""
    with psycopg.connect(pg_cluster.conninfo) as conn:
        if not conn.execute("select 1 from pg_available_extensions where name = 'plpgsql_check'").fetchone():
            unavailable("plpgsql_check is not installed (apt-get install postgresql-<v>-plpgsql-check)")


def test_migration_list_shows_every_migration_applied(supabase, workdir, pushed):
    result = supabase("migration", "list", "--db-url", pushed, "--workdir", str(workdir))
    rows = re.findall(r"^\s*`?(\d{14})?`?\s*\|\s*`?(\d{14})?`?\s*\|", result.stdout, re.MULTILINE)
    assert rows, result.stdout
    assert all(local == remote for local, remote in rows), result.stdout
    assert sorted(local for local, _ in rows) == migration_versions(workdir)


def test_db_push_again_has_nothing_to_apply(supabase, workdir, pushed):
    result = supabase("db", "push", "--db-url", pushed, "--workdir", str(workdir), "--yes")
    assert "Applying migration" not in result.stdout + result.stderr


def test_db_lint_finds_nothing_in_our_schemas(supabase, plpgsql_check, pushed):
    """plpgsql_check on every function of app, odoo, ops and private: no warning, no error."""
    result = supabase("db", "lint", "--db-url", pushed, "--schema", OUR_SCHEMAS, "--level", "warning",
                      "--output-format", "json", check=False)
    assert json.loads(result.stdout)["results"] == [], result.stdout
    assert result.returncode == 0, result.stderr
    strict = supabase("db", "lint", "--db-url", pushed, "--schema", OUR_SCHEMAS, "--level", "warning",
                      "--fail-on", "warning")
    assert "No schema errors found" in strict.stdout + strict.stderr


def test_db_lint_reports_a_broken_function(supabase, plpgsql_check, supabase_db):
    """The lint above can fail: a plpgsql function reading a missing table is an error."""
    apply_sql(supabase_db, "create schema app; create function app.broken() returns bigint language plpgsql as "
                           "$$ begin return (select count(*) from app.missing); end $$;")
    result = supabase("db", "lint", "--db-url", cli_url(supabase_db), "--schema", "app", "--level", "warning",
                      "--fail-on", "warning", "--output-format", "json", check=False)
    assert result.returncode != 0
    assert [r["function"] for r in json.loads(result.stdout)["results"]] == ["app.broken"]


def test_db_advisors_report_no_warning(supabase, pushed):
    """Supabase's own advisors (splinter), security and performance: nothing at level warn or above."""
    result = supabase("db", "advisors", "--db-url", pushed, "--type", "all", "--level", "warn",
                      "--fail-on", "warn", "--output-format", "json", check=False)
    assert json.loads(result.stdout)["results"] == [], result.stdout
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("report", ["outliers", "calls", "db-stats", "index-stats", "table-stats",
                                    "role-stats", "vacuum-stats", "bloat", "locks", "blocking"])
def test_inspect_db_reports_run(supabase, pushed, report):
    """`inspect db` reads pg_stat_statements (outliers, calls, db-stats) in `extensions`, as on Supabase."""
    supabase("inspect", "db", report, "--db-url", pushed)


def test_db_reset_drops_the_standin_auth_schema(supabase, workdir, pg_cluster, supabase_db):
    """On a plain PostgreSQL `db reset --db-url` drops every non-system schema, the stand-in's `auth` with
    it, and the baseline then fails on `auth.uid()`. docs/migrations.md says what to run instead (the
    database dropped and created again, the stand-in, `db push`); this holds that advice to the CLI."""
    url = cli_url(supabase_db)
    dbname = psycopg.conninfo.conninfo_to_dict(supabase_db)["dbname"]
    supabase("db", "push", "--db-url", url, "--workdir", str(workdir), "--yes")
    result = supabase("db", "reset", "--db-url", url, "--workdir", str(workdir), "--yes", check=False)
    assert result.returncode != 0
    assert 'schema "auth" does not exist' in result.stdout + result.stderr
    with psycopg.connect(supabase_db, autocommit=True) as conn:
        assert conn.execute("select to_regnamespace('auth')").fetchone() == (None,)
    with psycopg.connect(pg_cluster.conninfo, autocommit=True) as conn:
        conn.execute(f"drop database {dbname} with (force)")
        conn.execute(f"create database {dbname}")
    apply_sql(supabase_db, standin_sql())
    result = supabase("db", "push", "--db-url", url, "--workdir", str(workdir), "--yes")
    assert sorted(set(re.findall(r"Applying migration (\d{14})_", result.stdout + result.stderr))) \
        == migration_versions(workdir)


def test_a_project_from_supabase_init_to_a_migrated_database(supabase, tmp_path, pg_cluster, standin_template):
    """The README's walk: `supabase init`, `specgen init`, `specgen build` write into the CLI's own folder
    (config.toml's two keys in step, the rest of it and .temp/ untouched); a migration from `supabase
    migration new` is no drift and is recorded by the next build; `supabase db push` applies all of it;
    `migration list` agrees; `specgen verify` on the pushed database finds no difference; `build --prune`
    keeps every file of the CLI's."""
    import tomllib
    from tests.specgen_cli import specgen

    project = tmp_path / "app"
    project.mkdir()
    supabase("init", "--workdir", str(project))
    config = project / "supabase/config.toml"
    theirs = {p: p.read_bytes() for p in (project / "supabase").rglob("*") if p.is_file() and p != config}
    assert theirs, "supabase init wrote nothing besides config.toml"
    for args in (("init", str(project)), ("build",), ("diff",)):
        result = specgen(*args, cwd=project)
        assert result.returncode == 0, f"specgen {args}: {result.stdout}{result.stderr}"
    assert not (project / "generated/supabase").exists()
    assert [p.name for p in (project / "supabase/migrations").glob("*_baseline.sql")]
    assert (project / "supabase/tests/rls.test.sql").is_file()
    api = tomllib.loads(config.read_text())["api"]
    assert "app" in api["schemas"] and "public" in api["schemas"]
    assert tomllib.loads(config.read_text())["db"]["port"] == 54322  # the rest of the file is the CLI's
    baseline = next((project / "supabase/migrations").glob("*_baseline.sql")).name
    while time.strftime("%Y%m%d%H%M%S", time.gmtime()) <= baseline[:14]:
        time.sleep(0.1)  # a user's next command comes later: the CLI names a migration by the current second
    made = supabase("migration", "new", "add_report_cache", "--workdir", str(project))
    hand = next((project / "supabase/migrations").glob("*_add_report_cache.sql"))
    hand.write_text("create table app.report_cache (id int primary key);\n")
    assert specgen("diff", cwd=project).returncode == 0, made.stdout
    built = specgen("build", cwd=project)
    assert f"recorded the hand-written migration {hand.name}" in built.stderr
    name = pg_cluster.create_database(template=standin_template, prefix="supabaseinit")
    try:
        url = cli_url(pg_cluster.url_for(name))
        supabase("db", "push", "--db-url", url, "--workdir", str(project), "--yes")
        listed = supabase("migration", "list", "--db-url", url, "--workdir", str(project)).stdout
        assert all(local == remote for local, remote in re.findall(
            r"^\s*`?(\d{14})?`?\s*\|\s*`?(\d{14})?`?\s*\|", listed, re.MULTILINE)), listed
        assert hand.name.split("_", 1)[0] in listed
        verified = specgen("verify", "--database-url", pg_cluster.url_for(name), cwd=project)
        assert verified.returncode == 0 and verified.stdout.strip().endswith("0 differences"), \
            verified.stdout + verified.stderr
    finally:
        pg_cluster.drop_database(name)
    assert specgen("build", "--prune", cwd=project).returncode == 0
    assert all(p.read_bytes() == data for p, data in theirs.items())
    assert tomllib.loads(config.read_text())["db"]["port"] == 54322
