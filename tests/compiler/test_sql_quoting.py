"""Strings from the spec cannot break out of the SQL they land in: an SSO group name holding `$$` and a
statement is a literal inside private.apply_sso_claims(), and still maps its group to its role."""
from __future__ import annotations

import json
import shutil
import uuid

import psycopg
import pytest

from generator.database.cluster import apply_sql
from generator.pipeline import compile_ir, render_all

pytestmark = pytest.mark.db
STAMP = "20260101000000"
EVIL = "staff$$; drop table app.orgs; --'\\"


def test_an_sso_group_with_dollar_quotes_stays_a_literal(repo_root, tmp_path, supabase_db):
    shutil.copytree(repo_root / "spec", tmp_path / "spec")
    roles = tmp_path / "spec/auth/roles.yaml"
    text = roles.read_text()
    assert "platform-staff: member" in text
    roles.write_text(text.replace("platform-staff: member", f"{json.dumps(EVIL)}: member"))
    sql = render_all(compile_ir(tmp_path), STAMP)[f"supabase/migrations/{STAMP}_baseline.sql"]
    with psycopg.connect(supabase_db, autocommit=True) as conn:
        conn.execute("set check_function_bodies = off")  # the setting under which a breakout would run
    apply_sql(supabase_db, sql)
    org, user = uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(supabase_db) as conn:
        conn.execute("insert into app.orgs (id, name, slug) values (%s, 'Org', 'org-q')", (org,))
        conn.execute("insert into auth.users (id, raw_app_meta_data) values (%s, %s)",
                     (user, json.dumps({"groups": {str(org): [EVIL]}})))
        role = conn.execute("select role::text from app.memberships where user_id = %s", (user,)).fetchone()
        body = conn.execute("select prosrc from pg_proc where proname = 'apply_sso_claims'").fetchone()[0]
    assert role == ("member",)
    assert EVIL.replace("'", "''") in body
