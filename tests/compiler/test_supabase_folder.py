"""Where specgen writes the Supabase project's files: supabase/ at the root (where `supabase init` puts it),
or the spec's `project.supabase_dir`; a project still holding its migrations in generated/supabase/ (where
earlier specgen wrote them) is told how to move them, and nothing is written."""
from __future__ import annotations

import json

import pytest
from tests.projects import copy_project
from tests.specgen_cli import specgen


def _set_dir(project, value: str) -> None:
    entities = project / "spec/schema/entities.yaml"
    text = entities.read_text()
    assert "\nproject:\n" in text
    entities.write_text(text.replace("\nproject:\n", f"\nproject:\n  supabase_dir: {value}\n", 1))


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_a_configured_folder_holds_what_supabase_would(tmp_path, repo_root):
    """A monorepo's apps/db/supabase: the migrations, snapshots, lock and pgTAP suite go there, the same bytes
    as in supabase/ by default; diff is clean and names paths where they are; nothing lands in supabase/."""
    project = copy_project(repo_root, tmp_path / "p", parts=("spec",))
    _set_dir(project, "apps/db/supabase")
    built = specgen("build", cwd=project)
    assert built.returncode == 0, built.stderr
    assert "in generated/ and apps/db/supabase/:" in built.stderr
    assert "wrote apps/db/supabase/tests/rls.test.sql" in built.stderr
    assert not (project / "supabase").exists()
    default = copy_project(repo_root, tmp_path / "d", parts=("spec",))
    assert specgen("build", cwd=default).returncode == 0
    ours, theirs = _files(project / "apps/db/supabase"), _files(default / "supabase")
    stamped = ("migrations/", "snapshots/")  # the baseline is named by the second each build ran in
    assert sorted(p for p in ours if not p.startswith(stamped)) == sorted(p for p in theirs if not p.startswith(stamped))
    functions = [p for p in ours if p.startswith("functions/")]
    assert "functions/webhook-receiver/index.ts" in functions and "functions/_shared/spec.ts" in functions
    assert len(ours) - len(functions) == 4  # a baseline, its snapshot, the lock and the pgTAP suite
    assert ours["tests/rls.test.sql"] == theirs["tests/rls.test.sql"]
    assert all(ours[p] == theirs[p] for p in functions)
    assert specgen("diff", cwd=project).returncode == 0
    (project / "apps/db/supabase/tests/rls.test.sql").write_text("-- edited\n")
    drift = specgen("diff", cwd=project)
    assert drift.returncode == 1 and "edited: apps/db/supabase/tests/rls.test.sql" in drift.stdout


def test_hand_written_migrations_go_into_the_configured_folder(tmp_path, repo_root):
    project = copy_project(repo_root, tmp_path, parts=("spec",))
    _set_dir(project, "db/supabase")
    assert specgen("build", cwd=project).returncode == 0
    made = specgen("migrate", "--empty", "buckets", cwd=project)
    assert made.returncode == 0, made.stderr
    path = made.stdout.split()[1].rstrip(":")
    assert path.startswith("db/supabase/migrations/") and (project / path).is_file()


def test_migrations_left_in_generated_supabase_are_refused_with_the_move_to_make(tmp_path, repo_root):
    """A checkout made by an earlier specgen: build would otherwise start a second history in supabase/ beside the
    first. Every command that reads the migrations says to `git mv` them (or to keep them there), exit 2."""
    project = copy_project(repo_root, tmp_path)
    (project / "supabase").rename(project / "generated/supabase")
    before = _files(project)
    for command in (("build",), ("diff",), ("migrate", "next"), ("migrate", "--empty", "x"), ("lint",)):
        result = specgen(*command, cwd=project)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert "git mv generated/supabase supabase" in result.stderr and "Traceback" not in result.stderr
    assert _files(project) == before
    _set_dir(project, "generated/supabase")  # or keep them where they are
    built = specgen("build", cwd=project)
    assert built.returncode == 0 and built.stderr.splitlines()[0] == "wrote generated/manifest.json", built.stderr
    assert specgen("diff", cwd=project).returncode == 0


@pytest.mark.parametrize("value, message", [
    ("spec/supabase", "is inside spec/"),
    ("generated/contracts/supabase", "is inside generated/"),
    ("db", "does not match"),
    ("../elsewhere/supabase", "does not match"),
    ("/abs/supabase", "does not match"),
])
def test_a_bad_supabase_dir_is_a_spec_error_at_its_line(tmp_path, repo_root, value, message):
    project = copy_project(repo_root, tmp_path, parts=("spec",))
    _set_dir(project, json.dumps(value))
    result = specgen("check", cwd=project)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("spec/schema/entities.yaml:6:"), result.stderr
    assert message in result.stderr and "supabase_dir" in result.stderr
