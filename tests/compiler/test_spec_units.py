"""Small pure pieces of the compiler: types, names, and the two structural validators agreeing."""
from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from generator.names import MAX_IDENT_BYTES, constraint_name, identifier_problem, quote_ident
from generator.load.loader import load_yaml
from generator.load.schema_check import is_structurally_valid, load_schema
from generator.sqltypes import FieldType, TypeSyntaxError, parse_type

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize("text,expected", [
    ("varchar(120)", FieldType("varchar", length=120)),
    ("numeric(14,2)", FieldType("numeric", precision=14, scale=2)),
    ("numeric", FieldType("numeric")),
    ("text[]", FieldType("text", array=True)),
    ("TIMESTAMPTZ", FieldType("timestamptz")),
])
def test_type_strings_parse(text, expected):
    """Every documented type form parses to its parts."""
    assert parse_type(text) == expected


@pytest.mark.parametrize("text", ["varchar", "varchar(0)", "numeric(3,5)", "integer(4)", "money", "jsonb[]", ""])
def test_bad_type_strings_say_what_is_accepted(text):
    """A wrong type is refused with a hint naming what is accepted."""
    with pytest.raises(TypeSyntaxError) as err:
        parse_type(text)
    assert err.value.hint


def test_long_generated_names_stay_within_63_bytes_and_distinct():
    """Constraint names past PostgreSQL's limit are shortened with a hash, keeping their suffix."""
    a = constraint_name("t" * 40, ["column_one_is_long", "column_two"], "fkey")
    b = constraint_name("t" * 40, ["column_one_is_long", "column_three"], "fkey")
    assert len(a.encode()) <= MAX_IDENT_BYTES and len(b.encode()) <= MAX_IDENT_BYTES
    assert a != b and a.endswith("_fkey") and b.endswith("_fkey")
    assert constraint_name("orders", ["customer_id"], "fkey") == "orders_customer_id_fkey"


def test_identifier_rules():
    """Names must be lower_snake_case, non-reserved and at most 63 bytes; quoting is applied only if needed."""
    assert identifier_problem("project_tasks") is None
    assert identifier_problem("Project") and identifier_problem("order") and identifier_problem("a" * 64)
    assert identifier_problem("é") is not None
    assert quote_ident("tasks") == "tasks" and quote_ident("order") == '"order"' and quote_ident('a"b') == '"a""b"'


def _golden_docs():
    for case in sorted(GOLDEN.iterdir()):
        for rel, schema in (("spec/schema/entities.yaml", "entities"), ("spec/auth/roles.yaml", "roles")):
            try:
                yield case.name, schema, load_yaml(case / rel, rel).data
            except Exception:  # YAML syntax cases have no data to validate
                continue


@pytest.mark.parametrize("case,schema,data", list(_golden_docs()), ids=lambda v: v if isinstance(v, str) else "")
def test_fast_and_full_schema_validators_agree(case, schema, data):
    """fastjsonschema (the fast yes/no) and jsonschema (the located errors) judge every golden file alike."""
    full = jsonschema.Draft202012Validator(load_schema(schema)).is_valid(data)
    assert is_structurally_valid(data, schema) == full


def test_a_partial_index_on_a_foreign_key_keeps_the_full_index_under_its_own_name(tmp_path):
    """A spec's partial index takes the usual name of a foreign key's index; the index the compiler adds
    for the key (a partial one cannot serve it) gets another name instead of clashing in the migration."""
    import shutil

    from generator.pipeline import compile_ir
    src = Path(__file__).parent / "golden" / "bad_unknown_field_in_index" / "spec"
    shutil.copytree(src, tmp_path / "spec")
    entities = tmp_path / "spec" / "schema" / "entities.yaml"
    entities.write_text(entities.read_text().replace(
        "      - {columns: [org_id, bodyy]}",
        "      - {columns: [org_id, parent_id], where: \"body <> ''\"}").replace(
        "      - {name: body, type: text, required: true}",
        "      - {name: body, type: text, required: true}\n"
        "      - {name: parent_id, references: note, on_delete: set null}"))
    note = compile_ir(tmp_path).table("app", "note")
    by_name = {ix.name: ix for ix in note.indexes}
    assert len(by_name) == len(note.indexes)
    # the same-org key's index is (org_id, parent_id)
    assert by_name["note_org_id_parent_id_idx"].where == "body <> ''"
    assert by_name["note_org_id_parent_id_fk_idx"].where is None
    assert by_name["note_org_id_parent_id_fk_idx"].columns == ("org_id", "parent_id")


@pytest.mark.db
def test_index_method_rule_matches_postgresql(supabase_db):
    """generator.sqltypes.index_method_problem says what PostgreSQL 15 (no extensions) can build: try every
    index method on a column of every spec type, and compare."""
    import psycopg

    from generator.sqltypes import index_method_problem, parse_type
    types = {"u": "uuid", "tx": "text", "vc": "varchar(3)", "si": "smallint", "i": "integer", "bi": "bigint",
             "n": "numeric(10,2)", "b": "boolean", "d": "date", "ts": "timestamptz", "j": "jsonb", "en": "enum",
             "ta": "text[]", "ea": "enum[]"}
    sql_type = {"enum": "idx_e", "enum[]": "idx_e[]"}
    with psycopg.connect(supabase_db, autocommit=True) as conn:
        conn.execute("create type idx_e as enum ('a', 'b')")
        conn.execute("create table idx_t (" + ", ".join(f"{c} {sql_type.get(t, t)}" for c, t in types.items()) + ")")
        for method in ("btree", "hash", "gin", "gist", "brin"):
            for col, text in types.items():
                try:
                    conn.execute(f"create index on idx_t using {method} ({col})")
                    builds = True
                except psycopg.Error:
                    builds = False
                ftype = parse_type(text) if text not in ("enum", "enum[]") else \
                    parse_type("text").__class__("enum", array=text.endswith("[]"))
                assert (index_method_problem(method, ftype) is None) == builds, (method, text)


def test_a_many2many_join_table_never_widens_the_source_grants():
    """A grant carries to the join table only where the join table can express it: the entity's default
    rows, and a column list (if any) that names the relation. `rows: own` or a list without the relation
    gives that role nothing on the join table, never the whole org."""
    from generator.load.relations import join_permissions
    spec = {"tenancy": {"root": "org"}, "entities": []}
    lead = {"name": "lead", "owner": "shared", "scope": "tenant"}
    grants = {"select": [{"role": "viewer"}, {"role": "agent", "rows": "own"}],
              "update": [{"role": "agent", "rows": "own", "columns": ["tags"]}, {"role": "manager", "columns": ["title"]},
                         {"role": "admin", "columns": ["title", "tags"]}, {"role": "owner"}]}
    out = join_permissions(lead, grants, "tags", spec)
    assert out["select"] == [{"role": "viewer"}]
    assert out["insert"] == out["delete"] == [{"role": "admin"}, {"role": "owner"}]
    assert join_permissions(lead, {"update": [{"role": "agent", "rows": "own"}]}, "tags", spec) == {}
    assert join_permissions({**lead, "owner": "odoo"}, grants, "tags", spec) == {"select": [{"role": "viewer"}]}
