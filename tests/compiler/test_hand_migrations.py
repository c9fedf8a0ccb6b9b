"""Migrations written by hand: SQL the spec cannot say (storage, realtime, pg_cron, extensions, a data fix).
Kept in order, recorded in the lock by the next build, never drift, and verify accepts what they add."""
from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from tests.specgen_cli import specgen
from tests.projects import copy_project


@pytest.fixture
def repo_project(tmp_path, repo_root):
    """A copy of this repository's spec and committed generated/ and supabase/ trees."""
    return copy_project(repo_root, tmp_path)


def _empty(project, name: str):
    result = specgen("migrate", "--empty", name, cwd=project)
    assert result.returncode == 0, result.stderr
    return project / result.stdout.split()[1].rstrip(":")


def test_a_hand_written_migration_is_kept_recorded_and_then_append_only(repo_project):
    """SQL the spec cannot say: `migrate --empty` writes the file, diff does not call it drift, build records
    it in the lock (by hand), the next generated migration comes after it, and an edit once recorded fails."""
    hand = _empty(repo_project, "storage_buckets")
    assert hand.read_text().startswith("-- Written by hand")
    hand.write_text(hand.read_text() + "create schema if not exists reports;\n")
    assert specgen("diff", cwd=repo_project).returncode == 0  # pending: not drift
    result = specgen("build", cwd=repo_project)
    assert f"recorded the hand-written migration {hand.name} in the lock" in result.stderr
    lock = json.loads((repo_project / "supabase/migrations.lock.json").read_text())
    assert lock["migrations"][-1] == {"file": hand.name, "sha256": hashlib.sha256(hand.read_bytes()).hexdigest(),
                                      "by": "hand"}
    assert specgen("diff", cwd=repo_project).returncode == 0
    entities = repo_project / "spec/schema/entities.yaml"
    anchor = "      - name: notes\n        type: text\n"
    assert anchor in entities.read_text()
    entities.write_text(entities.read_text().replace(anchor, anchor + "      - name: nickname\n        type: text\n", 1))
    result = specgen("migrate", "add_nickname", cwd=repo_project)
    assert result.returncode == 0, result.stderr
    lock = json.loads((repo_project / "supabase/migrations.lock.json").read_text())
    names = [e["file"] for e in lock["migrations"]]
    assert names.index(hand.name) == len(names) - 2 and names[-1].endswith("_add_nickname.sql")
    assert names[-1] > hand.name and specgen("diff", cwd=repo_project).returncode == 0
    hand.write_text(hand.read_text() + "-- an edit after it was recorded\n")
    result = specgen("diff", cwd=repo_project)
    assert result.returncode == 1 and f"{hand.name}: edited after it was recorded" in result.stdout




@pytest.mark.db
def test_verify_accepts_what_a_hand_written_migration_adds_and_reports_what_it_changes(repo_project, pg_cluster):
    """An extra table, function or policy from a hand-written migration is no difference; dropping one of the
    spec's policies is."""
    hand = _empty(repo_project, "reports")
    hand.write_text(hand.read_text() + "create table app.report_cache (id int primary key);\n"
                    "create function app.report_total() returns int language sql as $$ select 1 $$;\n")
    result = specgen("verify", cwd=repo_project)
    assert result.returncode == 0 and result.stdout.strip().endswith("0 differences"), result.stdout + result.stderr
    assert "(written by hand)" in result.stderr
    changer = _empty(repo_project, "drop_a_spec_policy")
    changer.write_text(changer.read_text() + "alter table app.report_cache add column note text;\n"
                       "drop policy if exists contacts_select on app.contacts;\n")
    result = specgen("verify", cwd=repo_project)
    assert result.returncode == 1, result.stdout
    assert "missing policy app.contacts.contacts_select" in result.stdout
    assert "report_cache" not in result.stdout  # its new column too is the hand-written migration's


def test_a_migration_sharing_a_timestamp_is_named_to_rename(repo_project):
    """`supabase migration new` in the second the baseline was made: the CLI keys migrations by timestamp, so
    `db push` would refuse the second one. diff names the one not in the lock, and exits 1."""
    migrations = repo_project / "supabase/migrations"
    newest = sorted(p.name for p in migrations.glob("*.sql"))[-1]
    clash = migrations / f"{newest[:14]}_add_bucket.sql"
    clash.write_text("select 1;\n")
    result = specgen("diff", cwd=repo_project)
    assert result.returncode == 1
    assert (f"supabase/migrations/{clash.name}: has the timestamp of {newest}; the Supabase CLI records a migration "
            f"by its timestamp, so two cannot share one: rename {clash.name} to a later one") in result.stdout
    assert "out of order" not in result.stdout
