"""Migrations that evolve safely: the planner on a chain of spec versions, the safety lint, the drift
checks on committed migrations, and verify against a live database.

The upgrade chain starts from tests/upgrades/base and applies one spec change per step. Each step's
planned migration is a reviewed golden file (tests/upgrades/NN_<step>.sql); rewrite them after
reviewing an intended change with SPECGEN_UPDATE_GOLDEN=1 python -m pytest tests/test_migrations.py
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import psycopg
import pytest
from rls_fixtures import World, make_row
from specgen_cli import specgen

from generator.database.cluster import apply_migrations, apply_sql, standin_sql
from generator.emit import sql
from generator.migrate.lint import lint_steps, render_migration
from generator.migrate.plan import plan_migration
from generator.migrate.verify import compare, introspect
from generator.pipeline import compile_ir

UPGRADES = Path(__file__).parent / "upgrades"
UPDATE = os.environ.get("SPECGEN_UPDATE_GOLDEN") == "1"


def _ack(change: str) -> str:
    return f"  - change: {change}\n    reason: covered by the upgrade test\n"


# (step name, edit of entities.yaml text, acknowledgements it needs)
CHAIN = [
    ("add_field", lambda s: s.replace("      - {name: mood, type: enum, enum: mood}\n",
                                      "      - {name: mood, type: enum, enum: mood}\n      - {name: notes, type: text}\n"),
     []),
    ("drop_field", lambda s: s.replace("      - {name: notes, type: text}\n", ""), ["drop_column app.note.notes"]),
    ("rename_column", lambda s: s.replace("{name: body, type: text, required: true}",
                                          "{name: content, type: text, required: true, renamed_from: body}"),
     ["rename_column app.note.body->content"]),
    ("rename_table", lambda s: s.replace("  - name: note\n    audit: true\n",
                                         "  - name: note\n    table: memos\n    renamed_from: note\n    audit: true\n"),
     ["rename_table app.note->memos"]),
    ("widen_type", lambda s: s.replace("{name: headline, type: varchar(50)}", "{name: headline, type: varchar(200)}"),
     []),
    ("type_change_using", lambda s: s.replace("{name: score, type: text}", "{name: score, type: integer}"),
     ["change_type app.memos.score"]),
    ("enum_add", lambda s: s.replace("values: [calm, busy, stuck]", "values: [calm, focused, busy, stuck]"), []),
    ("enum_remove", lambda s: s.replace("values: [calm, focused, busy, stuck]", "values: [calm, focused, busy]"),
     ["remove_enum_value app.mood.stuck"]),
    ("new_fk", lambda s: s.replace("      - {name: mood, type: enum, enum: mood}\n",
                                   "      - {name: mood, type: enum, enum: mood}\n"
                                   "      - {name: parent_id, references: note, on_delete: set null}\n"),
     # same org by construction: (org_id, parent_id) -> (org_id, id) needs a unique (org_id, id) to point at
     ["unique app.memos.memos_org_id_id_key", "index app.memos.memos_org_id_parent_id_idx"]),
    ("new_index", lambda s: s.replace("    fields:\n      - {name: content",
                                      "    indexes:\n      - {columns: [org_id, headline]}\n    fields:\n"
                                      "      - {name: content"), ["index app.memos.memos_org_id_headline_idx"]),
    ("nullability_with_default", lambda s: s.replace("{name: score, type: integer}",
                                                     "{name: score, type: integer, required: true, default: 0}"), []),
    ("new_entity_with_relations", lambda s: s + """  - name: tag
    fields:
      - {name: memo_id, references: note, on_delete: cascade, required: true}
      - {name: label, type: varchar(40), required: true}
    unique: [[memo_id, label]]
""", []),
    ("enum_rename_value", lambda s: s.replace("mood: {values: [calm, focused, busy]}",
                                              "mood: {values: [relaxed, focused, busy], renamed_values: {relaxed: calm}}"),
     ["rename_enum_value app.mood.calm->relaxed"]),
]


def _spec_versions(tmp: Path):
    """Yield (index, name, project dir) for each version of the chain, written under tmp."""
    text = (UPGRADES / "base/spec/schema/entities.yaml").read_text()
    acks: list[str] = []
    for i, (name, edit, needs) in enumerate(CHAIN, start=1):
        new_text = edit(text)
        assert new_text != text, f"step {name} changed nothing"
        text = new_text
        acks += needs
        root = tmp / f"{i:02d}_{name}"
        shutil.copytree(UPGRADES / "base/spec", root / "spec")
        body = text + ("\nacknowledged_changes:\n" + "".join(_ack(a) for a in acks) if acks else "")
        (root / "spec/schema/entities.yaml").write_text(body)
        yield i, name, root


@pytest.mark.db
def test_upgrade_chain_migrates_verifies_and_keeps_data(tmp_path, pg_cluster, supabase_db):
    """Each spec change becomes a migration that applies to a database full of rows, leaves it equal to
    a fresh build of the new spec (0 differences), and keeps the rows that were there."""
    old = compile_ir(UPGRADES / "base")
    apply_sql(supabase_db, sql.render_baseline(old))
    seen = []
    with psycopg.connect(supabase_db, autocommit=True) as conn:
        world = _seed(conn, old)
        for i, name, root in _spec_versions(tmp_path):
            new = compile_ir(root)
            before = _counts(conn, old)
            steps = plan_migration(old, new)
            report = lint_steps(steps, new)
            assert report.refused == [], f"{name}: {[s.change for s in report.refused]}"
            text = render_migration(steps, new)
            golden = UPGRADES / f"{i:02d}_{name}.sql"
            if UPDATE:
                golden.write_text(text)
            assert text == golden.read_text(), f"{name}: planned migration differs from {golden.name}"
            with conn.transaction():
                conn.execute(text)
            differences = _verify_against_fresh(pg_cluster, conn, new)
            assert differences == [], f"{name}: {differences}"
            after = _counts(conn, new)
            for table, count in before.items():
                renamed = table if table in after else {"app.note": "app.memos"}[table]
                assert after[renamed] == count, f"{name}: rows of {table} changed"
            _add_rows(conn, world, new)
            seen.append(name)
            old = new
        content = conn.execute("select count(*) from app.memos where content like 'v%%'").fetchone()[0]
        assert content > 0  # values written as `body` survived the rename
    assert len(seen) == len(CHAIN) >= 13


def _seed(conn, ir) -> World:
    from rls_fixtures import build_world
    world = build_world(conn, ir)
    _add_rows(conn, world, ir)
    return world


def _add_rows(conn, world: World, ir) -> None:
    world.ir = ir
    world.anchors.clear()
    for t in ir.tables:
        if t.schema == "app" and t.entity not in ("org", "membership"):
            for org in ("A", "B"):
                values = {"score": "5"} if any(c.name == "score" and c.type.base == "text" for c in t.columns) else {}
                make_row(conn, world, t, org, values=values)


def _counts(conn, ir) -> dict[str, int]:
    return {f"{t.schema}.{t.name}": conn.execute(f"select count(*) from {t.qualified}").fetchone()[0]
            for t in ir.tables if t.schema == "app"}


def _verify_against_fresh(pg_cluster, conn, ir) -> list[str]:
    name = pg_cluster.create_database(prefix="fresh")
    try:
        url = pg_cluster.url_for(name)
        apply_sql(url, standin_sql())
        apply_sql(url, sql.render_baseline(ir))
        schemas = [*ir.schemas, "private"]
        with psycopg.connect(url) as fresh:
            expected = introspect(fresh, schemas)
        return compare(expected, introspect(conn, schemas))
    finally:
        pg_cluster.drop_database(name)


@pytest.fixture
def project(tmp_path) -> Path:
    shutil.copytree(UPGRADES / "base/spec", tmp_path / "spec")
    assert specgen("build", cwd=tmp_path).returncode == 0
    return tmp_path


def test_spec_change_without_a_migration_fails_diff(project):
    """Changing the spec without `specgen migrate` fails diff, says what changed and what to run."""
    entities = project / "spec/schema/entities.yaml"
    entities.write_text(CHAIN[0][1](entities.read_text()))
    assert specgen("build", cwd=project).returncode == 0  # the other outputs follow the spec ...
    result = specgen("diff", cwd=project)
    assert result.returncode == 1  # ... but no migration captures it
    assert "the spec changed but no migration captures the change; run `specgen migrate <name>`" in result.stdout
    assert "add_column app.note.notes" in result.stdout
    assert specgen("migrate", "add_notes", cwd=project).returncode == 0
    assert specgen("diff", cwd=project).returncode == 0


def test_unsafe_step_is_refused_until_acknowledged(project):
    """Dropping a column is refused with the step named and the exact acknowledgement to add."""
    entities = project / "spec/schema/entities.yaml"
    entities.write_text(entities.read_text().replace("      - {name: headline, type: varchar(50)}\n", ""))
    refused = specgen("migrate", "drop_headline", cwd=project)
    assert refused.returncode == 1
    assert "unsafe step refused: drop_column app.note.headline" in refused.stderr
    assert "- change: drop_column app.note.headline" in refused.stderr
    assert not list((project / "generated/supabase/migrations").glob("*_drop_headline.sql"))
    entities.write_text(entities.read_text() + "\nacknowledged_changes:\n" + _ack("drop_column app.note.headline"))
    accepted = specgen("migrate", "drop_headline", cwd=project)
    assert accepted.returncode == 0, accepted.stderr
    assert "unsafe step accepted: drop_column app.note.headline" in accepted.stderr
    assert specgen("diff", cwd=project).returncode == 0


def test_edited_committed_migration_fails_diff(project):
    """A committed migration edited by hand is caught by its recorded checksum."""
    baseline = next((project / "generated/supabase/migrations").glob("*_baseline.sql"))
    baseline.write_text(baseline.read_text() + "\n-- a harmless looking edit\n")
    result = specgen("diff", cwd=project)
    assert result.returncode == 1
    assert f"{baseline.name}: edited after it was generated" in result.stdout


def test_hand_written_or_out_of_order_migrations_fail_diff(project):
    """A migration not made by `specgen migrate`, or one dated before the recorded ones, fails diff."""
    folder = project / "generated/supabase/migrations"
    (folder / "20000101000000_sneaky.sql").write_text("select 1;\n")
    result = specgen("diff", cwd=project)
    assert result.returncode == 1
    assert "20000101000000_sneaky.sql: not recorded in the lock and older than recorded migrations" in result.stdout
    (folder / "20000101000000_sneaky.sql").unlink()
    (folder / "29990101000000_later.sql").write_text("select 1;\n")
    result = specgen("diff", cwd=project)
    assert result.returncode == 1 and "29990101000000_later.sql: not recorded in the lock" in result.stdout
    assert "create migrations with `specgen migrate NAME`" in result.stdout


def test_verify_reports_zero_differences_then_names_a_drift(project, pg_cluster):
    """verify applies the migrations to a throwaway database: 0 differences; a live database that lost an
    index is reported, and nothing in it is changed."""
    result = specgen("verify", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("0 differences")
    name = pg_cluster.create_database(prefix="live")
    url = pg_cluster.url_for(name)
    try:
        apply_sql(url, standin_sql())
        apply_migrations(url, project / "generated/supabase/migrations")
        apply_sql(url, "drop index app.note_org_id_idx; alter table app.note disable row level security;")
        live = specgen("verify", "--database-url", url, cwd=project)
        assert live.returncode == 1
        assert "missing index app.note_org_id_idx" in live.stdout
        assert "different table app.note" in live.stdout and "1 difference" not in live.stdout
        with psycopg.connect(url) as conn:  # read-only: the drift is still there
            assert conn.execute("select relrowsecurity from pg_class where oid = 'app.note'::regclass").fetchone()[0] \
                is False
    finally:
        pg_cluster.drop_database(name)


def test_a_newer_compiler_writing_different_sql_asks_for_a_migration(project):
    """If specgen itself now writes different SQL for the same spec (a new view, a changed policy),
    diff notices against the SQL recorded with the last migration, and migrate captures it."""
    import hashlib
    import json
    snapshot = next((project / "generated/supabase/snapshots").glob("*.ir.json"))
    doc = json.loads(snapshot.read_text())
    statement = next(line for line in doc["schema_sql"].splitlines() if line.startswith("create policy note_select"))
    # Pretend the last migration was made by an older specgen that wrote no note_select policy.
    doc["schema_sql"] = doc["schema_sql"].replace(statement + "\n", "")
    snapshot.write_text(json.dumps(doc))
    lock_path = project / "generated/supabase/migrations.lock.json"
    lock = json.loads(lock_path.read_text())
    lock["schema_sql"] = hashlib.sha256(doc["schema_sql"].encode()).hexdigest()
    lock_path.write_text(json.dumps(lock))
    result = specgen("diff", cwd=project)
    assert result.returncode == 1, result.stdout
    assert "policy app.note.note_select" in result.stdout
    assert specgen("migrate", "newer_specgen", cwd=project).returncode == 0
    migration = next((project / "generated/supabase/migrations").glob("*_newer_specgen.sql")).read_text()
    assert "create policy note_select on app.note" in migration
    assert specgen("diff", cwd=project).returncode == 0


def test_a_recreated_view_keeps_its_comment_and_grants(tmp_path, repo_root):
    """A changed view is dropped and created again, which drops its comment and privileges too: the
    migration puts them back (ops.sync_health once lost its service_role grant this way), and verify
    finds nothing missing."""
    for part in ("spec", "generated"):
        shutil.copytree(repo_root / part, tmp_path / part)
    entities = tmp_path / "spec/schema/entities.yaml"
    entities.write_text(entities.read_text().replace("\nentities:\n", "\nobservability: {error_rate: 0.2}\nentities:\n", 1))
    made = specgen("migrate", "looser_error_rate", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    text = next((tmp_path / "generated/supabase/migrations").glob("*_looser_error_rate.sql")).read_text()
    assert "> 0.2 as error_rate_high" in text
    view_at = text.index("create or replace view ops.sync_health")
    assert text.index("grant select on ops.sync_health to service_role;") > view_at
    assert text.index("comment on view ops.sync_health is") > view_at
    verified = specgen("verify", cwd=tmp_path)
    assert verified.returncode == 0 and verified.stdout.strip().endswith("0 differences"), verified.stdout
