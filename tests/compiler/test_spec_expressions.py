"""`default_sql` and an index's `where` hold one SQL expression, written into the SQL as the user wrote it;
a NUL anywhere in a spec string is a spec error at file:line, never a traceback."""
from __future__ import annotations

import json
import shutil

import psycopg
import pytest
from click.testing import CliRunner

from generator.cli import cli
from generator.database.cluster import apply_sql
from generator.pipeline import compile_ir, render_all
from generator.errors import SpecError
from generator.load.expressions import check_expression, expression_problem
from generator.load.loader import load_yaml

STAMP = "20260101000000"
BASELINE = f"supabase/migrations/{STAMP}_baseline.sql"

ACCEPTED = [
    "auth.uid()", "now()", "status <> 'done'", "a_boolean", "starts_on is not null", "status = 'open'",
    "'{}'::jsonb", "current_date + interval '7 days'", "coalesce(status, 'x;y--z/*$$')", "gen_random_uuid()",
    "status = any('{a,b}'::text[])", "now() at time zone 'utc'", "lower(status) like 'a%'", "status ~ '^x$'",
    '"Weird;Name" is null', "case when a then 1 else 2 end", "not deleted", "(a, b) = (1, 2)",
    "now()\n", "\tnow()",
]

REFUSED = {
    "": "it is empty",
    "now();": "`;`",
    "now(); drop table app.orgs": "`;`",
    "'x' -- tidy": "comment",
    "now() /* x */": "comment",
    "status <--'x'": "comment",
    "now() /*": "not closed",
    "$$x$$": "`$`",
    "$tag$x$tag$": "`$`",
    "$1": "`$`",
    "E'x\\'; drop table app.orgs; --'": "backslash",  # the breakout sqlglot and PostgreSQL read differently
    "'C:\\temp'": "backslash",
    "E'x'": "not a plain",
    "U&'x'": "not a plain",
    "drop table app.orgs": "statement (drop)",
    "insert into app.orgs default values": "statement (insert)",
    "vacuum": "statement (vacuum)",
    "vacuum full": "statement (vacuum)",
    "call f()": "statement (call)",
    "set role postgres": "statement",
    "select 1": "query",
    "(select title from app.orgs limit 1)": "query",
    "exists (select 1)": "query",
    "a in (select 1)": "query",
    "lower('x'": "`(` is not closed",
    "'it''s": "not closed",
    "1) check (true": "unexpected ')'",
    "now()) , evil int default (1": "unexpected ')'",
    "now() references app.orgs": "unexpected 'references'",
    "now() not null": "`not null`",
    "a as b": "unexpected 'as'",
    "a +": "ends too early",
    "now()\u00a0": "does not read as a space",
}


@pytest.mark.parametrize("text", ACCEPTED)
def test_single_expressions_are_accepted(text):
    assert expression_problem(text) is None


@pytest.mark.parametrize("text", sorted(REFUSED))
def test_anything_but_one_expression_is_refused_with_a_reason_and_a_hint(text):
    problem = expression_problem(text)
    assert problem is not None, f"{text!r} was accepted"
    reason, hint = problem
    assert REFUSED[text] in reason and hint


def test_check_expression_raises_the_spec_error_at_the_value(tmp_path):
    spec = tmp_path / "e.yaml"
    spec.write_text('fields:\n  - {name: a, default_sql: "now(); drop table x"}\n')
    source = load_yaml(spec, "e.yaml")
    check_expression(source.data["fields"][0]["name"], "default_sql", source, ("fields", 0, "name"))  # `a`
    with pytest.raises(SpecError) as err:
        check_expression(source.data["fields"][0]["default_sql"], "default_sql", source, ("fields", 0, "default_sql"))
    assert str(err.value).startswith("e.yaml:2:28: error: default_sql must be one SQL expression: it holds a `;`")


def _project(tmp_path, repo_root):
    shutil.copytree(repo_root / "tests/compiler/golden/tenancy_odoo/spec", tmp_path / "spec")
    return tmp_path / "spec/schema/entities.yaml", tmp_path / "spec/auth/roles.yaml"


def _check(tmp_path):
    result = CliRunner().invoke(cli, ["check", "-C", str(tmp_path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


@pytest.mark.db
def test_an_accepted_expression_reaches_the_sql_byte_for_byte_and_applies(tmp_path, repo_root, supabase_db):
    """sqlglot checks, it does not render: `current_date + interval '7 days'` is not rewritten
    as CURRENT_DATE + INTERVAL '7 DAYS'."""
    entities, _ = _project(tmp_path, repo_root)
    text = entities.read_text()
    assert "default_sql: auth.uid()}" in text
    expression = "coalesce(auth.uid(), '00000000-0000-0000-0000-000000000000'::uuid)"
    entities.write_text(text.replace("default_sql: auth.uid()}", f"default_sql: {json.dumps(expression)}}}", 1))
    sql = render_all(compile_ir(tmp_path), STAMP)[BASELINE]
    assert f"default {expression}" in sql
    apply_sql(supabase_db, sql)


def test_the_check_reports_a_bad_expression_at_its_line(tmp_path, repo_root):
    entities, _ = _project(tmp_path, repo_root)
    lines = entities.read_text().splitlines()
    n = next(i for i, line in enumerate(lines) if "default_sql: auth.uid()}" in line)
    lines[n] = lines[n].replace("default_sql: auth.uid()}", 'default_sql: "auth.uid(); drop table app.orgs"}')
    entities.write_text("\n".join(lines) + "\n")
    result = _check(tmp_path)
    assert result.exit_code == 2
    assert f"spec/schema/entities.yaml:{n + 1}:" in result.stderr
    assert "default_sql must be one SQL expression: it holds a `;`" in result.stderr


NULS = {  # how: (file, text in it, replacement), each on one line of tests/compiler/golden/tenancy_odoo
    "escaped in a description": ("entities", "{name: kind, type: enum,",
                                 '{name: kind, description: "A\\0B", type: enum,'),
    "escaped in an enum value": ("entities", "values: [person, company]", 'values: ["per\\u0000son", company]'),
    "escaped in an sso group": ("roles", "crm-agents: agent", '"crm\\x00agents": agent'),
    "a raw byte": ("entities", "{name: kind, type: enum,", '{name: kind, description: "A\x00B", type: enum,'),
}


@pytest.mark.parametrize("how", sorted(NULS))
def test_a_nul_in_a_spec_string_is_an_error_at_its_line(tmp_path, repo_root, how):
    """A NUL cannot be PostgreSQL text: yaml-rs cut a raw one off silently, and an escaped one passed
    `specgen check` and then crashed `specgen build` with a ValueError traceback."""
    files = dict(zip(("entities", "roles"), _project(tmp_path, repo_root)))
    name, old, new = NULS[how]
    text = files[name].read_text()
    assert text.count(old) == 1
    files[name].write_text(text.replace(old, new))
    line = text[:text.index(old)].count("\n") + 1
    result = _check(tmp_path)
    assert result.exit_code == 2, result.output
    where = "spec/auth/roles.yaml" if name == "roles" else "spec/schema/entities.yaml"
    assert f"{where}:{line}:" in result.stderr and "NUL character" in result.stderr
    build = CliRunner().invoke(cli, ["build", "-C", str(tmp_path)])
    assert build.exit_code == 2 and "NUL character" in build.stderr
    assert not isinstance(build.exception, ValueError)
