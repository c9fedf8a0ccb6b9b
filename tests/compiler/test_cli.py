"""The specgen command as CI and users run it: exit codes, drift detection, messages, help."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from tests.specgen_cli import specgen

from generator.load.loader import load_yaml
from tests.projects import copy_project


@pytest.fixture
def project(tmp_path, repo_root) -> Path:
    """A copy of this repository's spec and committed generated/ and supabase/ trees."""
    return copy_project(repo_root, tmp_path)


def test_build_on_the_committed_tree_changes_nothing(project, repo_root):
    """On a clean checkout `specgen build` rewrites no file and `specgen diff` exits 0."""
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    result = specgen("build", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "0 written" in result.stderr
    after = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    assert after == before
    diff = specgen("diff", cwd=project)
    assert diff.returncode == 0, diff.stdout + diff.stderr
    assert "no drift" in diff.stdout


def test_diff_names_a_hand_edited_file(project):
    """Editing a generated file by hand makes diff exit 1 with a unified diff naming the file."""
    types = project / "generated/contracts/src/database.ts"
    types.write_text(types.read_text().replace("export type Database = {", "export type Database = { hacked: true;"))
    result = specgen("diff", cwd=project)
    assert result.returncode == 1
    assert "edited: generated/contracts/src/database.ts" in result.stdout
    assert "+export type Database = {\n" in result.stdout
    assert "--- a/contracts/src/database.ts" in result.stdout


def test_diff_names_a_deleted_file(project):
    """A generated file that is missing makes diff exit 1 and say which."""
    (project / "generated/manifest.json").unlink()
    result = specgen("diff", cwd=project)
    assert result.returncode == 1
    assert "missing: generated/manifest.json" in result.stdout


def _once_written(project, rel: str) -> Path:
    """A file an earlier build wrote (its manifest records it) that the spec no longer produces."""
    path = project / "generated" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("an output of an earlier spec\n")
    manifest_path = project / "generated/manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["outputs"][rel] = "0" * 64
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return path


def test_a_file_specgen_once_wrote_is_stale_until_pruned(project):
    """diff names it (exit 1); build keeps it but still records it as specgen's; --prune deletes it."""
    old = _once_written(project, "docs/entities/retired.md")
    result = specgen("diff", cwd=project)
    assert result.returncode == 1 and "extra: generated/docs/entities/retired.md" in result.stdout
    result = specgen("build", cwd=project)
    assert result.returncode == 0 and old.exists()
    assert "docs/entities/retired.md is not produced by the spec" in result.stderr
    assert json.loads((project / "generated/manifest.json").read_text())["stale"] == ["docs/entities/retired.md"]
    assert specgen("diff", cwd=project).returncode == 1  # still specgen's, still stale
    result = specgen("build", "--prune", cwd=project)
    assert result.returncode == 0 and not old.exists() and "removed generated/docs/entities/retired.md" in result.stderr
    assert specgen("diff", cwd=project).returncode == 0


def test_files_specgen_did_not_write_are_neither_drift_nor_pruned(project):
    """A Supabase project's own files next to specgen's (found deleted by `build --prune` before): diff is
    clean and --prune leaves every one of them, empty folders included."""
    # (config.toml, of which specgen keeps two keys in step: tests/compiler/test_supabase_config.py)
    theirs = ["supabase/seed.sql", "supabase/.gitignore", "supabase/.temp/cli-latest",
              "supabase/functions/hello/index.ts", "supabase/tests/own.test.sql", "generated/keep-me.txt"]
    for rel in theirs:
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        (project / rel).write_text("theirs\n")
    (project / "supabase/functions/empty").mkdir()
    assert specgen("diff", cwd=project).returncode == 0
    result = specgen("build", "--prune", cwd=project)
    assert result.returncode == 0 and "removed" not in result.stderr
    assert all((project / rel).read_text() == "theirs\n" for rel in theirs)
    assert (project / "supabase/functions/empty").is_dir()


def test_spec_change_without_rebuild_is_drift(project):
    """Changing the spec and not rebuilding is caught by diff; after build and migrate it is clean."""
    entities = project / "spec/schema/entities.yaml"
    entities.write_text(entities.read_text().replace("type: varchar(120)\n", "type: varchar(140)\n", 1))
    result = specgen("diff", cwd=project)
    assert result.returncode == 1
    assert "maxLength" in result.stdout or "140" in result.stdout
    assert specgen("build", cwd=project).returncode == 0
    assert "widen_type app.orgs.name" in specgen("diff", cwd=project).stdout
    assert specgen("migrate", "wider_org_name", cwd=project).returncode == 0
    assert specgen("diff", cwd=project).returncode == 0


def test_first_build_creates_a_timestamped_baseline_and_reuses_it(tmp_path, repo_root):
    """Without migrations, build names the baseline after the current UTC time; later builds keep it."""
    shutil.copytree(repo_root / "spec", tmp_path / "spec")
    assert specgen("build", cwd=tmp_path).returncode == 0
    names = [p.name for p in (tmp_path / "supabase/migrations").iterdir()]
    assert len(names) == 1 and names[0].endswith("_baseline.sql") and len(names[0].split("_")[0]) == 14
    assert specgen("build", cwd=tmp_path).returncode == 0
    assert [p.name for p in (tmp_path / "supabase/migrations").iterdir()] == names


def test_malformed_yaml_is_exit_2_with_position_and_no_traceback(project):
    """Broken YAML is reported as entities.yaml:LINE:COL, exit 2, without a Python traceback."""
    entities = project / "spec/schema/entities.yaml"
    lines = entities.read_text().splitlines()
    lines[5] = "project: [unclosed"
    entities.write_text("\n".join(lines) + "\n")
    result = specgen("check", cwd=project)
    assert result.returncode == 2
    assert result.stderr.startswith("spec/schema/entities.yaml:")
    assert "Traceback" not in result.stderr
    for command in ("build", "diff"):
        again = specgen(command, cwd=project)
        assert again.returncode == 2 and "Traceback" not in again.stderr


def test_missing_spec_file_is_exit_2(tmp_path):
    """Running outside a project says which file is missing and how to start one."""
    result = specgen("check", cwd=tmp_path)
    assert result.returncode == 2
    assert "spec/schema/entities.yaml:1:1: error: file not found" in result.stderr
    assert "specgen init" in result.stderr


def test_errors_from_both_files_are_reported_together(project):
    """A broken entities.yaml does not hide a broken roles.yaml."""
    (project / "spec/schema/entities.yaml").write_text("version: [\n")
    (project / "spec/auth/roles.yaml").write_text("roles: {\n")
    result = specgen("check", cwd=project)
    assert result.returncode == 2
    assert "spec/auth/roles.yaml:" in result.stderr and "spec/schema/entities.yaml:" in result.stderr
    assert "2 errors in the spec" in result.stderr


def test_init_creates_a_spec_that_builds(tmp_path):
    """`specgen init` gives a starter spec that checks, builds, and then shows no drift."""
    result = specgen("init", str(tmp_path / "new"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    new = tmp_path / "new"
    for spec, which in (("spec/schema/entities.yaml", "entities"), ("spec/auth/roles.yaml", "roles")):
        modeline = (new / spec).read_text().splitlines()[0]
        assert modeline == f"# yaml-language-server: $schema={which}.schema.json"  # a file, not a host
        named = json.loads((new / spec).with_name(f"{which}.schema.json").read_text())
        assert named == json.loads(specgen("schema", which, cwd=new).stdout)
    assert specgen("check", cwd=new).returncode == 0
    assert specgen("build", cwd=new).returncode == 0
    assert specgen("diff", cwd=new).returncode == 0


def test_init_refuses_to_overwrite(project):
    """init never clobbers an existing spec without --force."""
    before = (project / "spec/schema/entities.yaml").read_text()
    result = specgen("init", str(project), cwd=project)
    assert result.returncode == 2
    assert "refusing to overwrite" in result.stderr and "--force" in result.stderr
    assert (project / "spec/schema/entities.yaml").read_text() == before


def test_schema_command_prints_schemas_that_accept_the_repo_spec(repo_root):
    """`specgen schema` prints JSON Schemas an editor can use; the repo's own spec validates against them."""
    for which, rel in (("entities", "spec/schema/entities.yaml"), ("roles", "spec/auth/roles.yaml")):
        result = specgen("schema", which, cwd=repo_root)
        assert result.returncode == 0
        schema = json.loads(result.stdout)
        jsonschema.Draft202012Validator.check_schema(schema)
        jsonschema.validate(load_yaml(repo_root / rel, rel).data, schema)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({"version": 1, "bogus": True}, schema)


def test_emit_ir_prints_the_resolved_model_and_writes_nothing(project):
    """`build --emit ir` dumps the IR as JSON with defaults applied, and leaves generated/ alone."""
    shutil.rmtree(project / "generated")
    result = specgen("build", "--emit", "ir", cwd=project)
    assert result.returncode == 0, result.stderr
    ir = json.loads(result.stdout)
    tasks = next(t for t in ir["tables"] if t["entity"] == "task")
    assert [c["name"] for c in tasks["columns"]][:2] == ["id", "org_id"]
    assert tasks["schema"] == "app" and tasks["scope"] == "tenant"
    assert not (project / "generated").exists()


@pytest.mark.parametrize("command", ["init", "check", "build", "diff", "schema", "mock-odoo"])
def test_every_command_explains_itself(command, repo_root):
    """Each subcommand has --help text that says what it does."""
    result = specgen(command, "--help", cwd=repo_root)
    assert result.returncode == 0
    assert "Usage: " in result.stdout and len(result.stdout.splitlines()) > 5


def test_project_dir_option_works_before_or_after_the_command(project, tmp_path):
    """`specgen -C DIR diff` and `specgen diff -C DIR` both act on DIR."""
    assert specgen("-C", str(project), "diff", cwd=tmp_path).returncode == 0
    assert specgen("diff", "-C", str(project), cwd=tmp_path).returncode == 0
    assert specgen("-C", str(tmp_path / "nowhere"), "check", cwd=tmp_path).returncode == 2


def test_unknown_option_is_a_usage_error(repo_root):
    """Bad usage exits 2, as CI expects for invalid input."""
    result = specgen("build", "--nope", cwd=repo_root)
    assert result.returncode == 2
    assert "No such option" in result.stderr


def test_diff_names_breaking_api_changes_and_requires_a_major_bump(project):
    """Narrowing a field is named as a breaking API change; with --api-base it fails until the major version grows."""
    base = project / "base-openapi.json"
    shutil.copy(project / "generated/openapi/openapi.json", base)
    entities = project / "spec/schema/entities.yaml"
    text = entities.read_text()
    assert "        type: varchar(200)\n        required: true\n        check: {min_length: 1}\n" in text
    entities.write_text(text.replace("        type: varchar(200)\n        required: true\n        check: {min_length: 1}\n",
                                     "        type: varchar(100)\n        required: true\n        check: {min_length: 1}\n", 1))
    drift = specgen("diff", cwd=project)
    assert drift.returncode == 1
    assert "breaking API changes without a major version bump" in drift.stdout
    assert "app.projects.Insert: field 'name' maxLength narrowed from 200 to 100" in drift.stdout
    built = specgen("build", cwd=project)
    assert "warning: breaking API changes" in built.stderr
    text = entities.read_text()
    entry = "  - change: change_type app.projects.name\n    reason: no project name is longer than 100 characters\n"
    # The repo's spec ends with its acknowledged_changes list; add to it (or start one).
    entities.write_text(text + entry if "\nacknowledged_changes:\n" in text else
                        text + "\nacknowledged_changes:\n" + entry)
    assert specgen("migrate", "shorter_project_names", cwd=project).returncode == 0
    assert specgen("diff", cwd=project).returncode == 0  # the committed tree matches the spec again ...
    gated = specgen("diff", "--api-base", str(base), cwd=project)
    assert gated.returncode == 1  # ... but not the API it promised before
    assert "maxLength narrowed from 200 to 100" in gated.stdout
    entities.write_text(entities.read_text().replace("  version: 0.1.0\n", "  version: 0.2.0\n", 1))
    assert specgen("build", cwd=project).returncode == 0
    allowed = specgen("diff", "--api-base", str(base), cwd=project)
    assert allowed.returncode == 0, allowed.stdout
    assert "allowed by the major version bump" in allowed.stdout


def test_api_base_that_cannot_be_read_is_a_usage_error(project):
    """A bad --api-base says what it could not read and exits 2."""
    result = specgen("diff", "--api-base", "no-such-ref", cwd=project)
    assert result.returncode == 2
    assert "--api-base no-such-ref" in result.stderr and "Traceback" not in result.stderr


def test_lint_and_diff_agree_about_a_pending_safe_change(project):
    """A safe spec change not yet migrated: lint counts its steps (none unsafe, exit 0) where it used to say
    "no pending changes", and diff names it and says how many files differ in the singular or plural."""
    assert specgen("lint", cwd=project).stdout.strip().endswith("no pending changes: the newest migration "
                                                                 "captures the spec")
    entities = project / "spec/schema/entities.yaml"
    text = entities.read_text()
    anchor = "      - name: notes\n        type: text\n"
    assert anchor in text
    entities.write_text(text.replace(anchor, anchor + "      - name: nickname\n        type: text\n", 1))
    lint = specgen("lint", cwd=project)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    diff = specgen("diff", cwd=project)
    assert diff.returncode == 1 and "the spec changed but no migration captures the change" in diff.stdout
    steps = [line for line in diff.stdout.splitlines() if line.startswith("    - ")]
    assert steps and lint.stdout.strip().splitlines()[-1] == \
        f"{len(steps)} pending steps, none unsafe (`specgen migrate NAME` writes them)"
    assert " differ from what the spec produces" in diff.stdout  # several files: the plural


def test_the_drift_report_counts_in_words_that_agree():
    from generator.writer import Drift
    assert "1 file differs from" in Drift(edited={}, missing=["a"], extra=[]).report()
    assert "2 files differ from" in Drift(edited={}, missing=["a"], extra=["b"]).report()
