"""`specgen migrate --empty NAME --template schedule-functions`: a hand-written migration started from a
template (the pg_cron jobs calling the sync Edge Functions); without a database. The database side is
tests/functions/test_schedule.py."""
from __future__ import annotations

import hashlib
import json

import pytest

from tests.projects import copy_project
from tests.specgen_cli import specgen

JOBS = ("specgen-odoo-decoupled-platform-sync-from-odoo", "specgen-odoo-decoupled-platform-sync-to-odoo")


@pytest.fixture
def repo_project(tmp_path, repo_root):
    return copy_project(repo_root, tmp_path)


def _migrations(project):
    return sorted(p.name for p in (project / "supabase/migrations").glob("*.sql"))


def test_template_without_empty_is_a_usage_error_that_writes_nothing(repo_project):
    before = _migrations(repo_project)
    result = specgen("migrate", "schedule_functions", "--template", "schedule-functions", cwd=repo_project)
    assert result.returncode == 2
    assert "--template writes a hand-written migration: use it with --empty" in result.stderr
    assert "specgen migrate --empty schedule_functions --template schedule-functions" in result.stderr
    assert "Traceback" not in result.stderr and _migrations(repo_project) == before


def test_an_unknown_template_is_a_usage_error_naming_the_choices(repo_project):
    before = _migrations(repo_project)
    result = specgen("migrate", "--empty", "x", "--template", "storage-buckets", cwd=repo_project)
    assert result.returncode == 2 and "'storage-buckets' is not 'schedule-functions'" in result.stderr
    assert _migrations(repo_project) == before


def test_the_template_is_written_from_the_spec_and_recorded_by_the_next_build(repo_project):
    """The jobs are named after the project, inactive, with the URL and key read from Vault and the way to
    enable them in the header; build then records the file in the lock like any hand-written migration."""
    result = specgen("migrate", "--empty", "schedule_functions", "--template", "schedule-functions",
                     cwd=repo_project)
    assert result.returncode == 0, result.stderr
    hand = repo_project / result.stdout.split()[1].rstrip(":")
    assert hand.name.endswith("_schedule_functions.sql") and hand.name == _migrations(repo_project)[-1]
    text = hand.read_text()
    assert text.startswith("-- Written by hand, from specgen's template schedule-functions")
    header = [line for line in text.splitlines() if line.startswith("--")]
    assert ("--      select cron.alter_job(jobid, active := true) from cron.job where jobname like "
            "'specgen-odoo-decoupled-platform-%';") in header
    assert "--      select vault.create_secret('https://<project-ref>.supabase.co', 'project_url');" in header
    assert "--      select vault.create_secret('<the project''s anon key>', 'anon_key');" in header
    code = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    assert not any("create_secret" in line or "supabase.co" in line for line in code)  # no secret, no URL
    for job, function in zip(JOBS, ("sync-from-odoo", "sync-to-odoo")):
        assert f"perform cron.schedule('{job}', '* * * * *', $$" in text
        assert f"|| '/functions/v1/{function}'," in text
    assert ("perform cron.alter_job(jobid, active := false) from cron.job where jobname in "
            f"('{JOBS[0]}', '{JOBS[1]}');") in text
    assert specgen("diff", cwd=repo_project).returncode == 0  # pending: not drift
    result = specgen("build", cwd=repo_project)
    assert f"recorded the hand-written migration {hand.name} in the lock" in result.stderr
    lock = json.loads((repo_project / "supabase/migrations.lock.json").read_text())
    assert lock["migrations"][-1] == {"file": hand.name, "sha256": hashlib.sha256(hand.read_bytes()).hexdigest(),
                                      "by": "hand"}
    assert specgen("diff", cwd=repo_project).returncode == 0
