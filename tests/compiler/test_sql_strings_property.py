"""Property: any string in a free-text field of the spec reaches PostgreSQL as data and reads back unchanged.

Hypothesis puts strings made of `$$`, `'`, `\\`, `"`, newlines, `;`, `--` and any unicode (no NUL, which
PostgreSQL text cannot hold and the spec refuses; no lone surrogates, which are not text) into every
free-text field of a small spec that reaches SQL: entity and field descriptions (comments), named and
inline enum labels, a text default, a text[] default and SSO group names. The generated baseline must
apply to a real PostgreSQL, and each string must come back: from pg_description, pg_enum, the defaults
of an inserted row, and the role private.apply_sso_claims() gives for each group.
"""
from __future__ import annotations

import json
import uuid

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from generator.database.cluster import apply_sql
from generator.pipeline import compile_ir, render_all

pytestmark = pytest.mark.db
STAMP = "20260101000000"

_FRAGMENTS = ["$$", "$", "$specgen$", "'", "''", "\\", '"', "\n", "\r\n", "\t", ";", "--", "/*", "*/", "{", "}",
              ",", "é", "ß", "🙂", "\u2028", "\u0085", "\ufeff", " "]
_CHARS = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
TEXT = st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(_CHARS, max_size=6)), max_size=8).map("".join)
LABEL = TEXT.filter(lambda s: 0 < len(s.encode("utf-8")) <= 63)  # PostgreSQL's limit for an enum label
LABELS = st.lists(LABEL, min_size=2, max_size=3, unique=True)
GROUPS = st.lists(TEXT.filter(bool), min_size=2, max_size=2, unique=True)


def _yaml(value: str) -> str:
    """A YAML double-quoted scalar: JSON's escapes, plus \\u escapes for what YAML does not take raw
    (DEL, C1 controls, U+FEFF, U+FFFE/F) or reads as a line break (U+0085, U+2028, U+2029)."""
    out = json.dumps(value, ensure_ascii=False)
    return "".join(f"\\u{ord(c):04x}" if 0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029\ufeff\ufffe\uffff" else c
                   for c in out)


def _write_spec(root, s: dict) -> None:
    (root / "spec/schema").mkdir(parents=True, exist_ok=True)
    (root / "spec/auth").mkdir(parents=True, exist_ok=True)
    y = _yaml
    (root / "spec/schema/entities.yaml").write_text(f"""version: 1
project: {{name: prop, version: 1.0.0}}
tenancy:
  root: workspace
  membership: {{entity: seat, user: member_id, role: level}}
enums:
  mood: {{values: [{', '.join(y(v) for v in s['named'])}]}}
entities:
  - name: workspace
    table: workspaces
    description: {y(s['table_comment'])}
    fields:
      - {{name: name, type: text, required: true, description: {y(s['column_comment'])}}}
      - {{name: motto, type: text, default: {y(s['default'])}}}
      - {{name: tags, type: "text[]", default: [{', '.join(y(v) for v in s['tags'])}]}}
      - {{name: mood, type: enum, enum: mood}}
      - {{name: kind, type: enum, values: [{', '.join(y(v) for v in s['inline'])}]}}
  - name: seat
    table: seats
    fields:
      - {{name: member_id, references: auth.users, on_delete: cascade, required: true}}
      - {{name: level, type: enum, values: [manager, agent], default: agent, required: true}}
    unique: [[org_id, member_id]]
""", encoding="utf-8")
    manager, agent = s["groups"]
    (root / "spec/auth/roles.yaml").write_text(f"""version: 1
roles:
  - {{name: agent}}
  - {{name: manager, inherits: agent}}
  - {{name: sync, system: service_role}}
permissions:
  workspace: {{select: {{role: agent}}}}
  seat: {{select: {{role: agent}}}}
sso:
  claim_path: app_metadata.groups
  groups: {{{y(manager)}: manager, {y(agent)}: agent}}
""", encoding="utf-8")


def _labels(conn, regtype: str) -> list[str]:
    return [r[0] for r in conn.execute(
        "select enumlabel from pg_enum where enumtypid = %s::regtype order by enumsortorder", (regtype,))]


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(s=st.fixed_dictionaries({"table_comment": TEXT, "column_comment": TEXT, "default": TEXT,
                                "tags": st.lists(TEXT, max_size=3), "named": LABELS, "inline": LABELS,
                                "groups": GROUPS}))
def test_spec_strings_apply_and_read_back_unchanged(s, tmp_path_factory, pg_cluster, standin_template):
    root = tmp_path_factory.mktemp("prop")
    _write_spec(root, s)
    sql = render_all(compile_ir(root), STAMP)[f"supabase/migrations/{STAMP}_baseline.sql"]
    name = pg_cluster.create_database(template=standin_template)
    try:
        url = pg_cluster.url_for(name)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("set check_function_bodies = off")  # a body that broke out would run, not fail
        apply_sql(url, sql)
        with psycopg.connect(url) as conn:
            # an empty comment is no comment in PostgreSQL (the generator writes none)
            assert conn.execute("select obj_description('app.workspaces'::regclass, 'pg_class')").fetchone()[0] \
                == (s["table_comment"] or None)
            assert conn.execute("select col_description('app.workspaces'::regclass, attnum) from pg_attribute "
                                "where attrelid = 'app.workspaces'::regclass and attname = 'name'").fetchone()[0] \
                == (s["column_comment"] or None)
            assert _labels(conn, "app.mood") == s["named"]
            assert _labels(conn, "app.workspaces_kind") == s["inline"]
            org = uuid.uuid4()
            row = conn.execute("insert into app.workspaces (id, name) values (%s, 'w') returning motto, tags",
                               (org,)).fetchone()
            assert row == (s["default"], s["tags"])
            for group, role in zip(s["groups"], ("manager", "agent")):
                user = uuid.uuid4()
                conn.execute("insert into auth.users (id, raw_app_meta_data) values (%s, %s)",
                             (user, json.dumps({"groups": {str(org): [group]}})))
                got = conn.execute("select level::text from app.seats where member_id = %s", (user,)).fetchone()
                assert got == (role,), (group, role)
    finally:
        pg_cluster.drop_database(name)
