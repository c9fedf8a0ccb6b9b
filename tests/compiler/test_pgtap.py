"""The generated pgTAP suite (supabase/tests/) runs green, as `supabase test db` would run it."""
from __future__ import annotations

import shutil
import subprocess

import psycopg
import pytest
from tests.needs import unavailable

from generator.database.cluster import apply_sql
from generator.pipeline import compile_ir, render_all

pytestmark = pytest.mark.db
STAMP = "20260101000000"


def test_generated_pgtap_suite_passes_on_the_migrated_database(pg_cluster, supabase_db, repo_root):
    """Every pgTAP assertion of rls.test.sql passes; the plan count matches what ran."""
    with psycopg.connect(supabase_db, autocommit=True) as conn:
        available = conn.execute("select 1 from pg_available_extensions where name = 'pgtap'").fetchone()
        if not available:
            unavailable("pgTAP is not installed (apt-get install postgresql-15-pgtap)")
        conn.execute("create extension pgtap with schema extensions")
    files = render_all(compile_ir(repo_root), STAMP)
    apply_sql(supabase_db, files[f"supabase/migrations/{STAMP}_baseline.sql"])
    params = psycopg.conninfo.conninfo_to_dict(supabase_db)
    psql = shutil.which("psql")
    assert psql, "psql is needed to run pgTAP files"
    script = "set search_path = public, extensions;\n" + files["supabase/tests/rls.test.sql"]
    result = subprocess.run([psql, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", params["host"],
                             "-U", params["user"], "-d", params["dbname"]], input=script, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    plan = next(line for line in lines if line.startswith("1.."))
    oks = [line for line in lines if line.startswith("ok ")]
    failures = [line for line in lines if line.startswith("not ok")]
    assert failures == [], "\n".join(failures + [line for line in lines if line.startswith("#")])
    assert len(oks) == int(plan.split("..")[1]) > 100
