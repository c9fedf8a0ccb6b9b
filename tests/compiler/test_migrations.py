"""Migrations that evolve safely: the planner and lint on the spec changes of tests/compiler/migrations/ (its
__init__.py says what a case holds, how to rewrite the reviewed files), drift checks, verify on a database."""
from __future__ import annotations

import shutil

import psycopg
import pytest
from tests.compiler.migrations import (BASE, CASES, CHAIN, FILE, MIGRATIONS, ORG_A, Case, add_rows, check_expected,
                                       counts, plan_case, project, seed, spec_file, spec_of, verify_against_fresh)  # noqa: F401
from tests.specgen_cli import specgen

from generator.database.cluster import apply_migrations, apply_sql, standin_sql
from generator.emit import sql
from generator.pipeline import compile_ir
from tests.projects import copy_project


def test_migration_cases_exist_and_the_chain_is_one():
    """The upgrade chain starts at the base spec and each step starts where the previous one ended (so do
    the identity-key cases 30-32); an empty folder cannot pass silently."""
    assert len(CHAIN) >= 13 and len(CASES) >= 30
    identity = [c for c in CASES if c[:2] in ("30", "31", "32")]
    for previous, case in [*zip(["base", *CHAIN], CHAIN), *zip(identity, identity[1:])]:
        for part in ("schema/entities.yaml", "auth/roles.yaml"):
            assert spec_file(case, "before", part) == spec_file(previous, "after", part), f"{case}: {part}"


@pytest.mark.parametrize("case", CASES)
def test_planned_migration_and_lint_are_the_reviewed_ones(case, tmp_path):
    """Byte for byte: the migration files planned from before to after, and the lint report (a step that
    is unsafe and not acknowledged is refused, and then nothing is written)."""
    _, files, report = plan_case(case, tmp_path)
    assert files or report.refused, f"{case}: the spec change planned nothing"
    check_expected(MIGRATIONS / case / "expected.sql", "".join(f"{FILE}{n}\n{t}" for n, t in files) if files else None)
    check_expected(MIGRATIONS / case / "expected_lint.txt", "".join(line + "\n" for line in report.lines()))


@pytest.mark.db
def test_upgrade_chain_migrates_verifies_and_keeps_data(tmp_path, pg_cluster, supabase_db):
    """Each spec change becomes a migration that applies to a database full of rows, leaves it equal to
    a fresh build of the new spec (0 differences), and keeps the rows that were there."""
    old = compile_ir(BASE)
    apply_sql(supabase_db, sql.render_baseline(old))
    with psycopg.connect(supabase_db, autocommit=True) as conn:
        world = seed(conn, old)
        for case in CHAIN:
            new, files, report = plan_case(case, tmp_path / case)
            before = counts(conn, old)
            assert report.refused == [], f"{case}: {[s.change for s in report.refused]}"
            for _, text in files:  # as the Supabase CLI applies them: each file in a transaction of its own
                with conn.transaction():
                    conn.execute(text)
            differences = verify_against_fresh(pg_cluster, conn, new)
            assert differences == [], f"{case}: {differences}"
            after = counts(conn, new)
            for table, count in before.items():
                renamed = table if table in after else {"app.note": "app.memos"}[table]
                assert after[renamed] == count, f"{case}: rows of {table} changed"
            add_rows(conn, world, new)
            old = new
        content = conn.execute("select count(*) from app.memos where content like 'v%%'").fetchone()[0]
        assert content > 0  # values written as `body` survived the rename
    assert case == CHAIN[-1] and len(CHAIN) >= 13  # every step ran


def test_spec_change_without_a_migration_fails_diff(project):
    """Changing the spec without `specgen migrate` fails diff, says what changed and what to run."""
    spec_of("01_add_field", "after", project)
    assert specgen("build", cwd=project).returncode == 0  # the other outputs follow the spec ...
    result = specgen("diff", cwd=project)
    assert result.returncode == 1  # ... but no migration captures it
    assert "the spec changed but no migration captures the change; run `specgen migrate <name>`" in result.stdout
    assert "add_column app.note.notes" in result.stdout
    assert specgen("migrate", "add_notes", cwd=project).returncode == 0
    assert specgen("diff", cwd=project).returncode == 0


def test_unsafe_step_is_refused_until_acknowledged(project):
    """Dropping a column is refused with the step named and the exact acknowledgement to add."""
    spec_of("20_drop_column_refused", "after", project)
    refused = specgen("migrate", "drop_headline", cwd=project)
    assert refused.returncode == 1
    assert "unsafe step refused: drop_column app.note.headline" in refused.stderr
    assert "- change: drop_column app.note.headline" in refused.stderr
    assert not list((project / "supabase/migrations").glob("*_drop_headline.sql"))
    spec_of("21_drop_column_acknowledged", "after", project)
    accepted = specgen("migrate", "drop_headline", cwd=project)
    assert accepted.returncode == 0, accepted.stderr
    assert "unsafe step accepted: drop_column app.note.headline" in accepted.stderr
    assert specgen("diff", cwd=project).returncode == 0


def test_edited_committed_migration_fails_diff(project):
    """A committed migration edited by hand is caught by its recorded checksum."""
    baseline = next((project / "supabase/migrations").glob("*_baseline.sql"))
    baseline.write_text(baseline.read_text() + "\n-- a harmless looking edit\n")
    result = specgen("diff", cwd=project)
    assert result.returncode == 1
    assert f"{baseline.name}: edited after it was generated" in result.stdout


def test_a_migration_dated_before_the_recorded_ones_fails_diff(project):
    """Migrations run in name order: one slipped in before the recorded ones is out of order."""
    folder = project / "supabase/migrations"
    (folder / "20000101000000_sneaky.sql").write_text("select 1;\n")
    result = specgen("diff", cwd=project)
    assert result.returncode == 1
    assert "20000101000000_sneaky.sql: not recorded in the lock and older than recorded migrations" in result.stdout


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
        apply_migrations(url, project / "supabase/migrations")
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
    snapshot = next((project / "supabase/snapshots").glob("*.ir.json"))
    doc = json.loads(snapshot.read_text())
    # Pretend the last migration was made by an older specgen that wrote no note_select policy.
    doc["objects"] = [o for o in doc["objects"] if not o["text"].startswith("create policy note_select")]
    snapshot.write_text(json.dumps(doc))
    schema_sql = script(sql.HEADER, [from_doc(o) for o in doc["objects"]])
    lock_path = project / "supabase/migrations.lock.json"
    lock = json.loads(lock_path.read_text())
    lock["schema_sql"] = hashlib.sha256(schema_sql.encode()).hexdigest()
    lock_path.write_text(json.dumps(lock))
    result = specgen("diff", cwd=project)
    assert result.returncode == 1, result.stdout
    assert "policy app.note.note_select" in result.stdout
    assert specgen("migrate", "newer_specgen", cwd=project).returncode == 0
    migration = next((project / "supabase/migrations").glob("*_newer_specgen.sql")).read_text()
    assert "create policy note_select on app.note" in migration
    assert specgen("diff", cwd=project).returncode == 0


def test_a_recreated_view_keeps_its_comment_and_grants(tmp_path, repo_root):
    """A changed view is dropped and created again, which drops its comment and privileges too: the
    migration puts them back (ops.sync_health once lost its service_role grant this way), and verify
    finds nothing missing."""
    copy_project(repo_root, tmp_path)
    entities = tmp_path / "spec/schema/entities.yaml"
    entities.write_text(entities.read_text().replace("\nentities:\n", "\nobservability: {error_rate: 0.2}\nentities:\n", 1))
    made = specgen("migrate", "looser_error_rate", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    text = next((tmp_path / "supabase/migrations").glob("*_looser_error_rate.sql")).read_text()
    assert "> 0.2 as error_rate_high" in text
    view_at = text.index("create or replace view ops.sync_health")
    assert text.index("grant select on ops.sync_health to service_role;") > view_at
    assert text.index("comment on view ops.sync_health is") > view_at
    verified = specgen("verify", cwd=tmp_path)
    assert verified.returncode == 0 and verified.stdout.strip().endswith("0 differences"), verified.stdout


def test_verify_names_the_migration_and_statement_that_does_not_apply(project):
    """A migration that does not apply: verify says which file, which statement and PostgreSQL's message,
    and exits 1, with no traceback."""
    (project / "supabase/migrations/29990101000000_broken.sql").write_text(
        "-- a migration that cannot apply\nselect 1;\n\nalter table app.nowhere add column x integer;\n")
    result = specgen("verify", cwd=project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "29990101000000_broken.sql:4" in result.stderr
    assert "alter table app.nowhere add column x integer;" in result.stderr
    assert 'relation "app.nowhere" does not exist' in result.stderr



# -- migrations that must apply, or stop without losing data (issue 15, section 2) -----------------------

NOTE_1 = "00000000-0000-0000-0000-000000000001"
NOTE_2 = "00000000-0000-0000-0000-000000000002"
USER_1 = TAG_1 = "00000000-0000-0000-0000-0000000000f1"
CONTACT_1 = "00000000-0000-0000-0000-0000000000c1"


@pytest.mark.db
def test_renaming_a_table_renames_its_inline_enum_and_keeps_the_values(tmp_path, pg_cluster):
    case = Case(tmp_path, pg_cluster, "22_rename_table_renames_inline_enum")
    files = case.migrate()
    assert "alter type app.note_level rename to memos_level;" in files[0].read_text()
    case.apply(files)
    assert case.sql("select level::text from app.memos") == [("high",)]
    assert case.differences() == []


@pytest.mark.db
def test_a_new_enum_value_used_as_a_default_is_committed_by_a_migration_of_its_own(tmp_path, pg_cluster):
    case = Case(tmp_path, pg_cluster, "23_new_enum_value_as_default")
    files = case.migrate()
    assert len(files) == 2 and files[0].name.endswith("_step_enum_values.sql"), [f.name for f in files]
    assert "add value if not exists 'sleepy'" in files[0].read_text()
    assert "add value" not in files[1].read_text() and "set default 'sleepy'" in files[1].read_text()
    case.apply(files)
    case.sql(f"insert into app.note (id, org_id, body) values ('{NOTE_1}', '{ORG_A}', 'x')")
    assert case.sql("select mood::text from app.note") == [("sleepy",)]
    assert case.differences() == []
    assert specgen("diff", cwd=case.root).returncode == 0


@pytest.mark.db
def test_removing_a_membership_role_drops_and_recreates_what_depends_on_the_enum(tmp_path, pg_cluster):
    case = Case(tmp_path, pg_cluster, "24_remove_membership_role")
    case.apply(case.migrate())
    assert case.sql("select role::text from app.membership") == [("admin",)]
    assert case.differences() == []


@pytest.mark.db
def test_removing_an_enum_value_an_array_column_holds_is_stopped_naming_the_rows(tmp_path, pg_cluster):
    case = Case(tmp_path, pg_cluster, "25_remove_enum_value_an_array_holds")
    files = case.migrate()
    with pytest.raises(psycopg.errors.RaiseException) as failed:
        case.apply(files)
    message = str(failed.value)
    assert "app.note.moods" in message and "stuck" in message and NOTE_1 in message and NOTE_2 not in message
    case.sql(f"update app.note set moods = '{{calm}}' where id = '{NOTE_1}'")
    case.apply(files)
    assert case.sql("select moods::text[] from app.note order by id") == [(["calm"],), (["busy"],)]
    assert case.differences() == []


@pytest.mark.db
@pytest.mark.parametrize("folder, bad, good", [("26_narrow_text_to_varchar", "'hello world'", "'ok'"),
                                               ("27_narrow_numeric_scale", "1.2345", "2.5")],
                         ids=["text_to_varchar", "numeric_scale"])
def test_narrowing_a_column_fails_naming_the_rows_that_do_not_fit(tmp_path, pg_cluster, folder, bad, good):
    case = Case(tmp_path, pg_cluster, folder)
    files = case.migrate()
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
@pytest.mark.parametrize("folder, column, good", [
    ("28_new_check", "headline", "headline = 'abc'"),
    ("29_new_fk_on_existing_rows", "reviewer_id", "reviewer_id = null")], ids=["check", "foreign_key"])
def test_a_new_constraint_is_validated_apart_naming_the_failing_rows(tmp_path, pg_cluster, folder, column, good):
    """A new check, or a foreign key on rows that already exist, is added `not valid`, and validated by a
    file of its own, which names the rows that fail it."""
    case = Case(tmp_path, pg_cluster, folder)
    files = case.migrate()
    assert len(files) == 2 and files[1].name.endswith("_step_validate.sql"), [f.name for f in files]
    assert "not valid;" in files[0].read_text() and "validate constraint" not in files[0].read_text()
    case.apply(files[:-1])
    with pytest.raises(psycopg.errors.RaiseException) as failed:
        case.apply(files[-1:])
    message = str(failed.value)
    assert "app.note" in message and column in message and NOTE_1 in message and NOTE_2 not in message, message
    case.sql(f"update app.note set {good} where id = '{NOTE_1}'")
    case.apply(files[-1:])
    assert case.differences() == []


@pytest.mark.db
def test_identity_keys_signed_in_grants_and_nulls_not_distinct_migrate_onto_rows(tmp_path, pg_cluster):
    """Issue 15, section 5 added to a spec whose tables hold rows: a global entity with an identity key that
    every signed-in user reads, a reference to it (bigint) from an existing table, and uniques turned into
    `unique nulls not distinct` and back. Each migration applies and verify finds no difference."""
    case = Case(tmp_path, pg_cluster, "30_identity_key_read_by_signed_in")
    files = case.migrate()
    text = "".join(f.read_text() for f in files)
    assert "id bigint generated always as identity not null" in text and "add column board_id bigint" in text, text
    assert "create policy board_select on app.board for select to authenticated using (true);" in text, text
    case.apply(files)
    assert case.differences() == []
    case.sql("insert into app.board (title) values ('b')")
    case.sql(f"update app.note set board_id = 1 where id = '{NOTE_2}'")
    files = case.migrate("31_unique_nulls_not_distinct")
    text = "".join(f.read_text() for f in files)
    assert "alter table app.note add constraint note_code_key unique nulls not distinct (code);" in text, text
    case.apply(files)
    assert case.differences() == []
    with pytest.raises(psycopg.errors.UniqueViolation):  # a second null code now clashes with the first
        case.sql(f"insert into app.note (org_id, body) values ('{ORG_A}', 'z')")
    files = case.migrate("32_unique_nulls_distinct_again")
    assert "unique (code);" in "".join(f.read_text() for f in files)
    case.apply(files)
    assert case.differences() == []
    case.sql(f"insert into app.note (org_id, body) values ('{ORG_A}', 'z')")
    assert specgen("diff", cwd=case.root).returncode == 0


# -- section 5: renaming inline enum values; composite keys and the references to them ---------------------
@pytest.mark.db
@pytest.mark.parametrize("folder, table", [("33_rename_inline_enum_values", "note"),
                                           ("34_rename_inline_enum_values_and_table", "memos")],
                         ids=["values", "values_and_table"])
def test_renaming_an_inline_enums_values_keeps_the_rows(tmp_path, pg_cluster, folder, table):
    """`renamed_values` on an inline enum field: `rename value`, so rows holding the old value hold the new
    one (also when the table, and so the type, is renamed in the same step)."""
    case = Case(tmp_path, pg_cluster, folder)
    files = case.migrate()
    text = "".join(f.read_text() for f in files)
    assert f"alter type app.{table}_level rename value 'high' to 'top';" in text
    assert "drop type" not in text and "add value" not in text
    case.apply(files)
    assert case.sql(f"select id::text, level::text from app.{table} order by id") == [(NOTE_1, "top"), (NOTE_2, "low")]
    assert case.differences() == []
    assert specgen("diff", cwd=case.root).returncode == 0


@pytest.mark.db
def test_a_composite_reference_to_a_join_table_with_rows_migrates_and_verifies(tmp_path, pg_cluster):
    """Version 1 has a join entity keyed (note_id, user_id) holding rows; version 2 adds an entity that
    references it by both columns. The migration adds the (org_id, note_id, user_id) unique the same-org
    reference needs on the filled table, and verify finds no difference."""
    case = Case(tmp_path, pg_cluster, "35_composite_reference_to_a_join_table")
    assert case.differences() == []
    files = case.migrate()
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
    case = Case(tmp_path, pg_cluster, "36_join_table_keyed_by_its_references")
    files = case.migrate()
    text = "".join(f.read_text() for f in files)
    assert "add constraint reader_pkey primary key (note_id, user_id);" in text, text
    case.apply(files)
    assert case.sql("select note_id::text, user_id::text from app.reader") == [(NOTE_1, USER_1)]
    assert case.differences() == []
    with pytest.raises(psycopg.errors.UniqueViolation):
        case.sql(f"insert into app.reader (org_id, note_id, user_id) values ('{ORG_A}', '{NOTE_1}', '{USER_1}')")


@pytest.mark.db
def test_adding_a_many2many_to_a_shared_entity_with_rows_creates_its_join_table_and_verifies(tmp_path, pg_cluster):
    """Version 1 has a shared contact and an Odoo tag mirror holding rows; version 2 maps contact's
    `tags` many2many. The migration creates the join table with its keys, policies and the trigger
    that queues the contact's push (docs/sync.md, many2many), adds the (org_id, id) uniques its
    same-org references need on both filled tables (acknowledged: they lock writes while built), the
    rows stay, verify finds no difference."""
    case = Case(tmp_path, pg_cluster, "37_many2many_on_a_shared_entity")
    files = case.migrate()
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
