"""Migrations that evolve safely: the planner on a chain of spec versions, the safety lint, the drift
checks on committed migrations, and verify against a live database.

The upgrade chain starts from tests/compiler/upgrades/base and applies one spec change per step. Each step's
planned migration is a reviewed golden file (tests/compiler/upgrades/NN_<step>.sql); rewrite them after
reviewing an intended change with SPECGEN_UPDATE_GOLDEN=1 python -m pytest tests/compiler/test_migrations.py
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import psycopg
import pytest
from tests.rls_fixtures import World, make_row
from tests.specgen_cli import specgen

from generator.database.cluster import apply_migrations, apply_sql, standin_sql
from generator.emit import sql
from generator.migrate.lint import lint_steps
from generator.migrate.render import render_migration
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
    from tests.rls_fixtures import build_world
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


@pytest.mark.db
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
    from generator.emit.sqlobjects import from_doc, script
    snapshot = next((project / "generated/supabase/snapshots").glob("*.ir.json"))
    doc = json.loads(snapshot.read_text())
    # Pretend the last migration was made by an older specgen that wrote no note_select policy.
    doc["objects"] = [o for o in doc["objects"] if not o["text"].startswith("create policy note_select")]
    snapshot.write_text(json.dumps(doc))
    schema_sql = script(sql.HEADER, [from_doc(o) for o in doc["objects"]])
    lock_path = project / "generated/supabase/migrations.lock.json"
    lock = json.loads(lock_path.read_text())
    lock["schema_sql"] = hashlib.sha256(schema_sql.encode()).hexdigest()
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


# -- migrations that must apply, or stop without losing data (issue 15, section 2) -----------------------
# Each case builds a project from spec version 1, applies its baseline to a real PostgreSQL, adds rows,
# changes the spec to version 2, runs `specgen migrate`, and applies the new files as the Supabase CLI
# does: in name order, each in a transaction of its own.

BASE_NOTE = "      - {name: mood, type: enum, enum: mood}\n"
ORG_A = "00000000-0000-0000-0000-00000000000a"
NOTE_1 = "00000000-0000-0000-0000-000000000001"
NOTE_2 = "00000000-0000-0000-0000-000000000002"


class Case:
    def __init__(self, tmp_path: Path, pg_cluster, fields: str = "", roles: str | None = None,
                 entities: str | None = None):
        self.root, self.cluster = tmp_path / "project", pg_cluster
        shutil.copytree(UPGRADES / "base/spec", self.root / "spec")
        self.entities = self.root / "spec/schema/entities.yaml"
        self.entities.write_text(entities or self.entities.read_text().replace(BASE_NOTE, BASE_NOTE + fields))
        if roles is not None:
            (self.root / "spec/auth/roles.yaml").write_text(roles)
        built = specgen("build", cwd=self.root)
        assert built.returncode == 0, built.stderr
        self.url = pg_cluster.url_for(pg_cluster.create_database(prefix="case"))
        apply_sql(self.url, standin_sql())
        self.applied = apply_migrations(self.url, self.migrations)
        apply_sql(self.url, f"insert into app.org (id, title) values ('{ORG_A}', 'A');")

    @property
    def migrations(self) -> Path:
        return self.root / "generated/supabase/migrations"

    def sql(self, text: str):
        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute(text).fetchall() if text.lstrip().startswith("select") else conn.execute(text)

    def migrate(self, edit, acks=(), roles_edit=None) -> list[Path]:
        """Change the spec, run `specgen migrate`, and return the files it wrote."""
        text = edit(self.entities.read_text())
        if acks:
            text += "\nacknowledged_changes:\n" + "".join(_ack(a) for a in acks)
        self.entities.write_text(text)
        if roles_edit:
            roles = self.root / "spec/auth/roles.yaml"
            roles.write_text(roles_edit(roles.read_text()))
        made = specgen("migrate", "step", cwd=self.root)
        assert made.returncode == 0, made.stdout + made.stderr
        return [p for p in sorted(self.migrations.glob("*.sql")) if p not in self.applied]

    def apply(self, files: list[Path]) -> None:
        for path in files:
            apply_sql(self.url, path.read_text())
            self.applied.append(path)

    def differences(self) -> list[str]:
        with psycopg.connect(self.url) as conn:
            return _verify_against_fresh(self.cluster, conn, compile_ir(self.root))


@pytest.mark.db
def test_renaming_a_table_renames_its_inline_enum_and_keeps_the_values(tmp_path, pg_cluster):
    case = Case(tmp_path, pg_cluster, "      - {name: level, type: enum, values: [low, high]}\n")
    case.sql(f"insert into app.note (id, org_id, body, level) values ('{NOTE_1}', '{ORG_A}', 'x', 'high')")
    files = case.migrate(lambda s: s.replace("  - name: note\n    audit: true\n",
                                             "  - name: note\n    table: memos\n    renamed_from: note\n"
                                             "    audit: true\n"), ["rename_table app.note->memos"])
    text = files[0].read_text()
    assert "alter type app.note_level rename to memos_level;" in text
    case.apply(files)
    assert case.sql("select level::text from app.memos") == [("high",)]
    assert case.differences() == []


@pytest.mark.db
def test_a_new_enum_value_used_as_a_default_is_committed_by_a_migration_of_its_own(tmp_path, pg_cluster):
    case = Case(tmp_path, pg_cluster)
    files = case.migrate(lambda s: s.replace("values: [calm, busy, stuck]", "values: [calm, busy, stuck, sleepy]")
                         .replace("{name: mood, type: enum, enum: mood}", "{name: mood, type: enum, enum: mood, "
                                                                          "default: sleepy}"))
    assert len(files) == 2 and files[0].name.endswith("_step_enum_values.sql"), [f.name for f in files]
    assert "add value if not exists 'sleepy'" in files[0].read_text()
    assert "add value" not in files[1].read_text() and "set default 'sleepy'" in files[1].read_text()
    case.apply(files)
    case.sql(f"insert into app.note (id, org_id, body) values ('{NOTE_1}', '{ORG_A}', 'x')")
    assert case.sql("select mood::text from app.note") == [("sleepy",)]
    assert case.differences() == []
    assert specgen("diff", cwd=case.root).returncode == 0


ROLES_WITH_VIEWER = """version: 1
roles:
  - {name: viewer}
  - {name: member, inherits: viewer}
  - {name: admin, inherits: member}
  - {name: sync, system: service_role}
permissions:
  note:
    select: {role: viewer}
    insert: {role: member}
    update: {role: member}
"""


@pytest.mark.db
def test_removing_a_membership_role_drops_and_recreates_what_depends_on_the_enum(tmp_path, pg_cluster):
    base = (UPGRADES / "base/spec/schema/entities.yaml").read_text()
    case = Case(tmp_path, pg_cluster, roles=ROLES_WITH_VIEWER,
                entities=base.replace("org_role: {values: [admin, member]}", "org_role: {values: [admin, member, viewer]}"))
    case.sql("insert into auth.users (id) values ('00000000-0000-0000-0000-0000000000f1')")
    case.sql(f"insert into app.membership (org_id, user_id, role) values ('{ORG_A}', "
             "'00000000-0000-0000-0000-0000000000f1', 'admin')")
    files = case.migrate(lambda s: s.replace("[admin, member, viewer]", "[admin, member]"),
                         ["remove_enum_value app.org_role.viewer"],
                         roles_edit=lambda r: r.replace("  - {name: viewer}\n", "")
                         .replace("{name: member, inherits: viewer}", "{name: member}")
                         .replace("select: {role: viewer}", "select: {role: member}"))
    case.apply(files)
    assert case.sql("select role::text from app.membership") == [("admin",)]
    assert case.differences() == []


@pytest.mark.db
def test_removing_an_enum_value_an_array_column_holds_is_stopped_naming_the_rows(tmp_path, pg_cluster):
    case = Case(tmp_path, pg_cluster, "      - {name: moods, type: \"enum[]\", enum: mood}\n")
    case.sql(f"insert into app.note (id, org_id, body, moods) values ('{NOTE_1}', '{ORG_A}', 'x', '{{calm,stuck}}'),"
             f" ('{NOTE_2}', '{ORG_A}', 'y', '{{busy}}')")
    files = case.migrate(lambda s: s.replace("values: [calm, busy, stuck]", "values: [calm, busy]"),
                         ["remove_enum_value app.mood.stuck"])
    with pytest.raises(psycopg.errors.RaiseException) as failed:
        case.apply(files)
    message = str(failed.value)
    assert "app.note.moods" in message and "stuck" in message and NOTE_1 in message and NOTE_2 not in message
    case.sql(f"update app.note set moods = '{{calm}}' where id = '{NOTE_1}'")
    case.apply(files)
    assert case.sql("select moods::text[] from app.note order by id") == [(["calm"],), (["busy"],)]
    assert case.differences() == []


@pytest.mark.db
@pytest.mark.parametrize("before, after, bad, good", [
    ("{name: score, type: text}", "{name: score, type: varchar(3)}", "'hello world'", "'ok'"),
    ("{name: score, type: \"numeric(10,4)\"}", "{name: score, type: \"numeric(10,1)\"}", "1.2345", "2.5"),
], ids=["text_to_varchar", "numeric_scale"])
def test_narrowing_a_column_fails_naming_the_rows_that_do_not_fit(tmp_path, pg_cluster, before, after, bad, good):
    base = (UPGRADES / "base/spec/schema/entities.yaml").read_text().replace("{name: score, type: text}", before)
    case = Case(tmp_path, pg_cluster, entities=base)
    case.sql(f"insert into app.note (id, org_id, body, score) values ('{NOTE_1}', '{ORG_A}', 'x', {bad}),"
             f" ('{NOTE_2}', '{ORG_A}', 'y', {good})")
    files = case.migrate(lambda s: s.replace(before, after), ["change_type app.note.score"])
    with pytest.raises(psycopg.errors.RaiseException) as failed:
        case.apply(files)
    message = str(failed.value)
    assert "app.note.score" in message and NOTE_1 in message and NOTE_2 not in message, message
    assert case.sql(f"select score::text from app.note where id = '{NOTE_1}'") == [(bad.strip("'"),)]  # untouched
    case.sql(f"delete from app.note where id = '{NOTE_1}'")
    case.apply(files)
    assert case.sql("select score::text from app.note") == [(good.strip("'"),)]
    assert case.differences() == []


@pytest.mark.db
def test_a_new_check_is_validated_in_a_transaction_of_its_own_naming_the_failing_rows(tmp_path, pg_cluster):
    case = Case(tmp_path, pg_cluster)
    case.sql(f"insert into app.note (id, org_id, body, headline) values ('{NOTE_1}', '{ORG_A}', 'x', 'ab'),"
             f" ('{NOTE_2}', '{ORG_A}', 'y', 'abcd')")
    files = case.migrate(lambda s: s.replace("{name: headline, type: varchar(50)}",
                                             "{name: headline, type: varchar(50), check: {min_length: 3}}"))
    assert len(files) == 2 and files[1].name.endswith("_step_validate.sql"), [f.name for f in files]
    assert "not valid;" in files[0].read_text() and "validate constraint" not in files[0].read_text()
    case.apply(files[:1])
    with pytest.raises(psycopg.errors.RaiseException) as failed:
        case.apply(files[1:])
    message = str(failed.value)
    assert "app.note" in message and "headline" in message and NOTE_1 in message and NOTE_2 not in message, message
    case.sql(f"update app.note set headline = 'abc' where id = '{NOTE_1}'")
    case.apply(files[1:])
    assert case.differences() == []


@pytest.mark.db
def test_a_new_foreign_key_on_existing_rows_names_the_rows_that_point_nowhere(tmp_path, pg_cluster):
    case = Case(tmp_path, pg_cluster, "      - {name: reviewer_id, type: uuid}\n")
    case.sql("insert into auth.users (id) values ('00000000-0000-0000-0000-0000000000f1')")
    case.sql(f"insert into app.note (id, org_id, body, reviewer_id) values ('{NOTE_1}', '{ORG_A}', 'x', "
             f"'00000000-0000-0000-0000-0000000000f2'), ('{NOTE_2}', '{ORG_A}', 'y', "
             "'00000000-0000-0000-0000-0000000000f1')")
    files = case.migrate(lambda s: s.replace("{name: reviewer_id, type: uuid}",
                                             "{name: reviewer_id, references: auth.users}"),
                         ["index app.note.note_reviewer_id_idx"])
    assert files[-1].name.endswith("_step_validate.sql")
    case.apply(files[:-1])
    with pytest.raises(psycopg.errors.RaiseException) as failed:
        case.apply(files[-1:])
    message = str(failed.value)
    assert "app.note" in message and "reviewer_id" in message and NOTE_1 in message and NOTE_2 not in message
    case.sql(f"update app.note set reviewer_id = null where id = '{NOTE_1}'")
    case.apply(files[-1:])
    assert case.differences() == []


def test_verify_names_the_migration_and_statement_that_does_not_apply(project):
    """A migration that does not apply: verify says which file, which statement and PostgreSQL's message,
    and exits 1, with no traceback."""
    (project / "generated/supabase/migrations/29990101000000_broken.sql").write_text(
        "-- a migration that cannot apply\nselect 1;\n\nalter table app.nowhere add column x integer;\n")
    result = specgen("verify", cwd=project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "29990101000000_broken.sql:4" in result.stderr
    assert "alter table app.nowhere add column x integer;" in result.stderr
    assert 'relation "app.nowhere" does not exist' in result.stderr


@pytest.mark.db
def test_identity_keys_signed_in_grants_and_nulls_not_distinct_migrate_onto_rows(tmp_path, pg_cluster):
    """Issue 15, section 5 added to a spec whose tables hold rows: a global entity with an identity key that
    every signed-in user reads, a reference to it (bigint) from an existing table, and uniques turned into
    `unique nulls not distinct` and back. Each migration applies and verify finds no difference."""
    case = Case(tmp_path, pg_cluster, "      - {name: code, type: text, unique: true}\n")
    case.sql(f"insert into app.note (id, org_id, body, headline, code) values ('{NOTE_1}', '{ORG_A}', 'x', null, null),"
             f" ('{NOTE_2}', '{ORG_A}', 'y', 'h', 'c')")
    files = case.migrate(lambda s: s.replace(BASE_NOTE, BASE_NOTE + "      - {name: board_id, references: board}\n")
                         + "  - name: board\n    scope: global\n    primary_key: {name: id, identity: true}\n"
                           "    fields:\n      - {name: title, type: text, required: true}\n",
                         ["index app.note.note_board_id_idx"],
                         roles_edit=lambda r: r + "  board:\n    select: {role: authenticated}\n")
    text = "".join(f.read_text() for f in files)
    assert "id bigint generated always as identity not null" in text and "add column board_id bigint" in text, text
    assert "create policy board_select on app.board for select to authenticated using (true);" in text, text
    case.apply(files)
    assert case.differences() == []
    case.sql("insert into app.board (title) values ('b')")
    case.sql(f"update app.note set board_id = 1 where id = '{NOTE_2}'")
    files = case.migrate(lambda s: _no_acks(s).replace("{name: code, type: text, unique: true}",
                                             "{name: code, type: text, unique: true, nulls_distinct: false}")
                         .replace("    unique: [[org_id, user_id]]\n",
                                  "    unique: [{columns: [org_id, user_id], nulls_distinct: false}]\n"),
                         ["unique app.note.note_code_key", "unique app.membership.membership_org_id_user_id_key"])
    text = "".join(f.read_text() for f in files)
    assert "alter table app.note add constraint note_code_key unique nulls not distinct (code);" in text, text
    case.apply(files)
    assert case.differences() == []
    with pytest.raises(psycopg.errors.UniqueViolation):  # a second null code now clashes with the first
        case.sql(f"insert into app.note (org_id, body) values ('{ORG_A}', 'z')")
    files = case.migrate(lambda s: _no_acks(s).replace(", nulls_distinct: false}", "}"),
                         ["unique app.note.note_code_key", "unique app.membership.membership_org_id_user_id_key"])
    assert "unique (code);" in "".join(f.read_text() for f in files)
    case.apply(files)
    assert case.differences() == []
    case.sql(f"insert into app.note (org_id, body) values ('{ORG_A}', 'z')")
    assert specgen("diff", cwd=case.root).returncode == 0


def _no_acks(text: str) -> str:
    """The spec without the acknowledgements of the previous migration (Case.migrate adds this one's)."""
    return text.split("\nacknowledged_changes:")[0] + "\n"


# -- section 5: renaming inline enum values; composite keys and the references to them ---------------------
@pytest.mark.db
@pytest.mark.parametrize("rename_table", [False, True], ids=["values", "values_and_table"])
def test_renaming_an_inline_enums_values_keeps_the_rows(tmp_path, pg_cluster, rename_table):
    """`renamed_values` on an inline enum field: `rename value`, so rows holding the old value hold the new
    one (also when the table, and so the type, is renamed in the same step)."""
    case = Case(tmp_path, pg_cluster, "      - {name: level, type: enum, values: [low, high]}\n")
    case.sql(f"insert into app.note (id, org_id, body, level) values ('{NOTE_1}', '{ORG_A}', 'x', 'high'), "
             f"('{NOTE_2}', '{ORG_A}', 'y', 'low')")

    def edit(s: str) -> str:
        s = s.replace("{name: level, type: enum, values: [low, high]}",
                      "{name: level, type: enum, values: [low, top], renamed_values: {top: high}}")
        if rename_table:
            s = s.replace("  - name: note\n", "  - name: note\n    table: memos\n    renamed_from: note\n")
        return s

    type_name = "memos_level" if rename_table else "note_level"
    acks = [f"rename_enum_value app.{type_name}.high->top"] + (["rename_table app.note->memos"] if rename_table else [])
    files = case.migrate(edit, acks)
    text = "".join(f.read_text() for f in files)
    assert f"alter type app.{type_name} rename value 'high' to 'top';" in text
    assert "drop type" not in text and "add value" not in text
    case.apply(files)
    table = "memos" if rename_table else "note"
    assert case.sql(f"select id::text, level::text from app.{table} order by id") == [(NOTE_1, "top"), (NOTE_2, "low")]
    assert case.differences() == []
    assert specgen("diff", cwd=case.root).returncode == 0


READER = """  - name: reader
    primary_key: [note_id, user_id]
    fields:
      - {name: note_id, references: note, on_delete: cascade}
      - {name: user_id, references: auth.users, on_delete: cascade}
"""
REPLY = """  - name: reply
    fields:
      - {name: note_id, references: note, required: true, on_delete: cascade}
      - {name: user_id, type: uuid, required: true}
      - {name: body, type: text, required: true}
    references:
      - {columns: [note_id, user_id], entity: reader, on_delete: cascade}
"""
USER_1 = "00000000-0000-0000-0000-0000000000f1"


@pytest.mark.db
def test_a_composite_reference_to_a_join_table_with_rows_migrates_and_verifies(tmp_path, pg_cluster):
    """Version 1 has a join entity keyed (note_id, user_id) holding rows; version 2 adds an entity that
    references it by both columns. The migration adds the (org_id, note_id, user_id) unique the same-org
    reference needs on the filled table, and verify finds no difference."""
    base = (UPGRADES / "base/spec/schema/entities.yaml").read_text()
    case = Case(tmp_path, pg_cluster, entities=base + READER)
    case.sql(f"insert into auth.users (id) values ('{USER_1}')")
    case.sql(f"insert into app.note (id, org_id, body) values ('{NOTE_1}', '{ORG_A}', 'x')")
    case.sql(f"insert into app.reader (org_id, note_id, user_id) values ('{ORG_A}', '{NOTE_1}', '{USER_1}')")
    assert case.differences() == []
    files = case.migrate(lambda s: s + REPLY, ["unique app.reader.reader_org_id_note_id_user_id_key"])
    text = "".join(f.read_text() for f in files)
    assert "reader_org_id_note_id_user_id_key" in text and "(org_id, note_id, user_id)" in text, text
    assert "foreign key (org_id, note_id, user_id) references app.reader (org_id, note_id, user_id)" in text
    case.apply(files)
    assert case.sql("select note_id::text, user_id::text from app.reader") == [(NOTE_1, USER_1)]
    case.sql(f"insert into app.reply (org_id, note_id, user_id, body) values ('{ORG_A}', '{NOTE_1}', '{USER_1}', 'hi')")
    with pytest.raises(psycopg.errors.ForeignKeyViolation):  # not a reader of the note
        case.sql(f"insert into app.reply (org_id, note_id, user_id, body) values ('{ORG_A}', '{NOTE_1}', "
                 f"'{NOTE_2}', 'no')")
    assert case.differences() == []
    assert specgen("diff", cwd=case.root).returncode == 0


@pytest.mark.db
def test_a_join_table_keyed_by_id_becomes_keyed_by_its_references_keeping_its_rows(tmp_path, pg_cluster):
    """`primary_key: [note_id, user_id]` on a table that had `id`: the key is rebuilt on the two columns
    (acknowledged: it locks writes and fails on duplicates), the rows stay, verify finds no difference."""
    base = (UPGRADES / "base/spec/schema/entities.yaml").read_text()
    case = Case(tmp_path, pg_cluster, entities=base + READER.replace("    primary_key: [note_id, user_id]\n", "")
                .replace("on_delete: cascade}", "on_delete: cascade, required: true}"))
    case.sql(f"insert into auth.users (id) values ('{USER_1}')")
    case.sql(f"insert into app.note (id, org_id, body) values ('{NOTE_1}', '{ORG_A}', 'x')")
    case.sql(f"insert into app.reader (org_id, note_id, user_id) values ('{ORG_A}', '{NOTE_1}', '{USER_1}')")
    files = case.migrate(lambda s: s.replace("  - name: reader\n", "  - name: reader\n    primary_key: [note_id, user_id]\n"),
                         ["drop_column app.reader.id", "primary_key app.reader"])
    text = "".join(f.read_text() for f in files)
    assert "add constraint reader_pkey primary key (note_id, user_id);" in text, text
    case.apply(files)
    assert case.sql("select note_id::text, user_id::text from app.reader") == [(NOTE_1, USER_1)]
    assert case.differences() == []
    with pytest.raises(psycopg.errors.UniqueViolation):
        case.sql(f"insert into app.reader (org_id, note_id, user_id) values ('{ORG_A}', '{NOTE_1}', '{USER_1}')")


ODOO_CONTACTS = """  - name: tag
    owner: odoo
    fields:
      - {name: name, type: text, required: true}
    odoo:
      model: res.partner.category
      fields: {name: name}
  - name: contact
    owner: shared
    fields:
      - {name: full_name, type: text, required: true}
    odoo:
      model: res.partner
      fields:
        full_name: name
      sync: {direction: both, conflict: field_merge}
"""
CONTACT_1 = "00000000-0000-0000-0000-0000000000c1"
TAG_1 = "00000000-0000-0000-0000-0000000000f1"


@pytest.mark.db
def test_adding_a_many2many_to_a_shared_entity_with_rows_creates_its_join_table_and_verifies(tmp_path, pg_cluster):
    """Version 1 has a shared contact and an Odoo tag mirror holding rows; version 2 maps contact's
    `tags` many2many. The migration creates the join table with its keys, policies and the trigger
    that queues the contact's push (docs/sync.md, many2many), adds the (org_id, id) uniques its
    same-org references need on both filled tables (acknowledged: they lock writes while built), the
    rows stay, verify finds no difference."""
    base = (UPGRADES / "base/spec/schema/entities.yaml").read_text()
    case = Case(tmp_path, pg_cluster, entities=base + ODOO_CONTACTS)
    case.sql(f"insert into app.contact (id, org_id, full_name) values ('{CONTACT_1}', '{ORG_A}', 'Ann')")
    instance = "00000000-0000-0000-0000-0000000000e1"
    case.sql("insert into odoo.instances (id, org_id, name, base_url, database, login, secret_ref) "
             f"values ('{instance}', '{ORG_A}', 'main', 'http://odoo.invalid', 'odoo', 'admin', 'X')")
    case.sql(f"insert into odoo.tag (id, org_id, instance_id, odoo_id, name) "
             f"values ('{TAG_1}', '{ORG_A}', '{instance}', 7, 'VIP')")
    files = case.migrate(lambda s: s.replace("        full_name: name\n",
                                             "        full_name: name\n        tags: {field: category_id, many2many: tag}\n"),
                         # the join table's same-org references need (org_id, id) unique on both filled tables
                         ["unique app.contact.contact_org_id_id_key", "unique odoo.tag.tag_org_id_id_key"])
    text = "".join(f.read_text() for f in files)
    assert "create table app.contact_tags" in text, text
    assert "contact_org_id_id_key" in text and "tag_org_id_id_key" in text
    assert "create or replace function ops.enqueue_outbox_link()" in text
    assert "create trigger enqueue_outbox_link after insert or update or delete on app.contact_tags" in text
    case.apply(files)
    assert case.sql("select full_name from app.contact") == [("Ann",)]
    assert case.sql("select name from odoo.tag") == [("VIP",)]
    assert case.differences() == []
    assert specgen("diff", cwd=case.root).returncode == 0
    # the new trigger works on the migrated database: a link queues a write of its contact
    case.sql(f"insert into app.contact_tags (org_id, contact_id, tag_id) values ('{ORG_A}', '{CONTACT_1}', '{TAG_1}')")
    assert case.sql("select entity, local_id::text, operation::text from odoo.outbox "
                    "where entity = 'contact' and operation = 'write'") == [("contact", CONTACT_1, "write")]
