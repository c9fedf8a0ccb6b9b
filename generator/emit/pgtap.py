"""pgTAP tests of the generated authorization, for `supabase test db` (supabase/tests/*.sql).

They check the shape that makes the matrix safe: RLS on every table, exactly the matrix's policies, the
privileges of anon and authenticated, helpers closed to anon, and that a signed-in user without a
membership, or anon, sees nothing. The full role x entity x command matrix runs in specgen's own
test suite against a real database.
"""
from __future__ import annotations

from generator.emit.policies import helper_signature, writable_columns
from generator.ir import IR
from generator.names import sql_string

PGTAP_PATH = "supabase/tests/rls.test.sql"
STRANGER = "00000000-0000-4000-8000-00000000dead"


def _arr(items) -> str:
    return "array[" + ", ".join(sql_string(i) for i in items) + "]::text[]"


def render_pgtap(ir: IR) -> str:
    tests: list[str] = []
    perms: dict[tuple[str, str], dict] = {}
    for p in ir.permissions:
        perms.setdefault((p.schema, p.table), {})[p.command] = p
    for t in ir.tables:
        label = f"{t.schema}.{t.name}"
        tests.append(f"select ok((select relrowsecurity from pg_class where oid = {sql_string(label)}::regclass), "
                     f"{sql_string(f'row level security is on for {label}')});")
        mine = perms.get((t.schema, t.name), {})
        names = [f"{t.name}_{c}" for c in ("select", "insert", "update", "delete") if c in mine] or \
            [f"{t.name}_no_api_access"]
        tn = ir.tenancy
        if tn and tn.ceiling and (t.schema, t.name) == (tn.membership_schema, tn.membership_table):
            names += [f"{t.name}_ceiling_{c}" for c in ("insert", "update", "delete")]  # restrictive, ANDed
        tests.append(f"select policies_are({sql_string(t.schema)}, {sql_string(t.name)}, {_arr(names)}, "
                     f"{sql_string(f'{label} has exactly the policies of the matrix')});")
        public = any(g.role == "anon" for p in mine.values() for g in p.grants)
        anon_privs = ["SELECT"] if public and "select" in mine and not mine["select"].grants[0].columns else []
        tests.append(f"select table_privs_are({sql_string(t.schema)}, {sql_string(t.name)}, 'anon', "
                     f"{_arr(anon_privs)}, {sql_string(f'anon privileges on {label}')});")
        table_level = [c.upper() for c in ("select", "delete") if c in mine and t.schema in ir.exposed_schemas
                       and not (c == "select" and mine[c].grants[0].columns)]
        tests.append(f"select table_privs_are({sql_string(t.schema)}, {sql_string(t.name)}, 'authenticated', "
                     f"{_arr(table_level)}, {sql_string(f'authenticated table privileges on {label}')});")
        for command in ("insert", "update"):
            if command in mine and t.schema in ir.exposed_schemas:
                for col in writable_columns(ir, t, mine[command]):
                    tests.append(
                        f"select ok(has_column_privilege('authenticated', {sql_string(label)}, {sql_string(col)}, "
                        f"{sql_string(command.upper())}), {sql_string(f'authenticated may {command} {label}.{col}')});")
        if ir.tenancy and t.scope == "tenant" and "update" in mine:
            col = ir.tenancy.column
            tests.append(f"select ok(not has_column_privilege('authenticated', {sql_string(label)}, {sql_string(col)}, "
                         f"'UPDATE'), {sql_string(f'no row of {label} can be moved to another org')});")
    if ir.tenancy:
        sig = helper_signature(ir)
        tests.append(f"select ok(not has_function_privilege('anon', {sql_string(sig)}, 'execute'), "
                     "'anon cannot execute the policy helper');")
        tests.append("select ok(not has_schema_privilege('anon', 'private', 'usage'), "
                     "'anon cannot use the private schema');")
    behaviour = ["-- Behaviour: a signed-in user without a membership, and anon, see nothing.",
                 f"select set_config('request.jwt.claims', '{{\"sub\": \"{STRANGER}\", \"role\": \"authenticated\"}}', true);",
                 "set local role authenticated;"]
    for t in ir.tables:
        label = f"{t.schema}.{t.name}"
        mine = perms.get((t.schema, t.name), {})
        if "select" in mine and t.schema in ir.exposed_schemas and not mine["select"].grants[0].columns \
                and not any(g.role == "anon" or g.rows == "all" for g in mine["select"].grants):
            behaviour.append(f"select is_empty('select 1 from {label}', "
                             f"{sql_string(f'a user in no org reads nothing from {label}')});")
        elif "select" not in mine:
            behaviour.append(f"select throws_ok('select 1 from {label}', '42501', null, "
                             f"{sql_string(f'a signed-in user cannot read {label}')});")
    behaviour.append("reset role;")
    behaviour.append("set local role anon;")
    for t in ir.tables:
        mine = perms.get((t.schema, t.name), {})
        if not any(g.role == "anon" for p in mine.values() for g in p.grants):
            behaviour.append(f"select throws_ok('select 1 from {t.schema}.{t.name}', '42501', null, "
                             f"{sql_string(f'anon cannot read {t.schema}.{t.name}')});")
    behaviour.append("reset role;")
    count = len(tests) + sum(1 for line in behaviour if line.startswith("select is_empty")
                             or line.startswith("select throws_ok"))
    lines = ["-- Generated by specgen from the spec. Do not edit. Run with `supabase test db`.",
             "begin;", f"select plan({count});", "", *tests, "", *behaviour, "", "select * from finish();",
             "rollback;"]
    return "\n".join(lines) + "\n"


def render(ir: IR) -> dict[str, str]:
    return {PGTAP_PATH: render_pgtap(ir)}
