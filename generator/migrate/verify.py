"""verify: the schema the migrations build, compared with the schema the spec describes.

Both sides are read from PostgreSQL's catalog the same way: the migrations applied in order (or a live
database), and the spec's baseline applied to a fresh database. Any difference is printed.
"""
from __future__ import annotations

from pathlib import Path

import psycopg

from generator.database.cluster import apply_sql, standin_sql, start_cluster
from generator.emit import sql
from generator.errors import Failed
from generator.ir import IR
from generator.migrate import folder


class MigrationFailed(Failed):
    """A migration (or the spec's own schema) does not apply: which file, which statement, and why."""

    def __init__(self, where: str, line: int, statement: str, error: psycopg.Error):
        diag = error.diag
        lines = [f"error: {where}:{line}: does not apply: {diag.message_primary or str(error).strip()}"]
        for label, text in (("detail", diag.message_detail), ("hint", diag.message_hint),
                            ("context", diag.context)):
            if text:
                lines.append(f"    {label}: {text.strip()}".replace("\n", "\n    " + " " * (len(label) + 2)))
        shown = statement if len(statement) <= 400 else statement[:400] + " ..."
        lines.append("    statement: " + shown.replace("\n", "\n      "))
        lines.append("    nothing of this migration was applied (it runs in one transaction); fix the spec or the "
                     "database, and make a new migration with `specgen migrate NAME`")
        super().__init__("\n".join(lines))


def statements(script: str) -> list[tuple[int, str]]:
    """(line, statement) of a SQL script: `;` ends a statement outside quotes, dollar quotes and comments."""
    out, i, n, start = [], 0, len(script), 0
    while i < n:
        ch = script[i]
        if ch == "-" and script.startswith("--", i):
            j = script.find("\n", i)
            i = n if j < 0 else j
            continue
        if ch == "/" and script.startswith("/*", i):
            j = script.find("*/", i + 2)
            i = n if j < 0 else j + 2
            continue
        if ch in ("'", '"'):
            j = i + 1
            while j < n:
                if script[j] == ch:
                    if j + 1 < n and script[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            i = j + 1
            continue
        if ch == "$":
            m = _DOLLAR.match(script, i)
            if m:
                j = script.find(m.group(0), m.end())
                i = n if j < 0 else j + len(m.group(0))
                continue
        if ch == ";":
            out.append((start, script[start:i + 1]))
            start = i + 1
        i += 1
    if script[start:].strip():
        out.append((start, script[start:]))
    result = []
    for at, text in out:
        body = _strip_comments(text)
        if body:
            line = script.count("\n", 0, at + text.index(body)) + 1
            result.append((line, body))
    return result


_DOLLAR = __import__("re").compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")


def _strip_comments(text: str) -> str:
    """A statement without the `--` comment lines in front of it."""
    lines = text.split("\n")
    while lines and (not lines[0].strip() or lines[0].lstrip().startswith("--")):
        lines.pop(0)
    return "\n".join(lines).strip()


def apply_file(url: str, where: str, script: str) -> None:
    """Apply one migration in one transaction, as the Supabase CLI does, statement by statement so that a
    failure names its statement."""
    with psycopg.connect(url) as conn:
        for line, statement in statements(script):
            try:
                conn.execute(statement)
            except psycopg.Error as exc:
                raise MigrationFailed(where, line, statement, exc) from None

CATALOG = {
    "table": """select n.nspname || '.' || c.relname, json_build_object('rls', c.relrowsecurity)
                from pg_class c join pg_namespace n on n.oid = c.relnamespace
                where c.relkind = 'r' and n.nspname = any(%(schemas)s)""",
    "column": """select n.nspname || '.' || c.relname || '.' || a.attname, json_build_object(
                   'type', format_type(a.atttypid, a.atttypmod), 'not_null', a.attnotnull,
                   'default', pg_get_expr(d.adbin, d.adrelid), 'identity', a.attidentity)
                 from pg_attribute a join pg_class c on c.oid = a.attrelid
                 join pg_namespace n on n.oid = c.relnamespace
                 left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
                 where c.relkind = 'r' and n.nspname = any(%(schemas)s) and a.attnum > 0 and not a.attisdropped""",
    "constraint": """select n.nspname || '.' || c.relname || '.' || k.conname,
                       json_build_object('def', pg_get_constraintdef(k.oid), 'validated', k.convalidated)
                     from pg_constraint k join pg_class c on c.oid = k.conrelid
                     join pg_namespace n on n.oid = c.relnamespace where n.nspname = any(%(schemas)s)""",
    "index": """select schemaname || '.' || indexname, json_build_object('def', indexdef)
                from pg_indexes where schemaname = any(%(schemas)s)""",
    "policy": """select schemaname || '.' || tablename || '.' || policyname, json_build_object(
                   'permissive', permissive, 'roles', roles, 'cmd', cmd, 'using', qual, 'check', with_check)
                 from pg_policies where schemaname = any(%(schemas)s)""",
    "table grant": """select table_schema || '.' || table_name || ' to ' || grantee,
                        json_agg(privilege_type order by privilege_type)
                      from information_schema.role_table_grants
                      where table_schema = any(%(schemas)s) and grantee in ('anon', 'authenticated', 'service_role')
                      group by 1""",
    "column grant": """select table_schema || '.' || table_name || '.' || column_name || ' to ' || grantee,
                         json_agg(privilege_type order by privilege_type)
                       from information_schema.column_privileges
                       where table_schema = any(%(schemas)s) and grantee in ('anon', 'authenticated')
                       group by 1""",
    "trigger": """select n.nspname || '.' || c.relname || '.' || t.tgname,
                    json_build_object('def', pg_get_triggerdef(t.oid), 'enabled', t.tgenabled)
                  from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
                  where not t.tgisinternal and (n.nspname = any(%(schemas)s) or n.nspname = 'auth')""",
    "function": """select n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
                     json_build_object('def', md5(pg_get_functiondef(p.oid)),
                                       'acl', coalesce(p.proacl::text, ''))
                   from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                   where n.nspname = any(%(schemas)s)""",
    "view": """select schemaname || '.' || viewname, json_build_object('def', md5(definition))
               from pg_views where schemaname = any(%(schemas)s)""",
    "enum": """select n.nspname || '.' || t.typname, json_agg(e.enumlabel order by e.enumsortorder)
               from pg_type t join pg_namespace n on n.oid = t.typnamespace join pg_enum e on e.enumtypid = t.oid
               where n.nspname = any(%(schemas)s) group by 1""",
    "schema grant": """select n.nspname || ' to ' || r.rolname, json_build_object(
                         'usage', has_schema_privilege(r.rolname, n.oid, 'usage'))
                       from pg_namespace n cross join pg_roles r
                       where n.nspname = any(%(schemas)s) and r.rolname in ('anon', 'authenticated', 'service_role')""",
}


def introspect(conn: psycopg.Connection, schemas: list[str]) -> dict[tuple[str, str], object]:
    facts = {}
    for kind, query in CATALOG.items():
        for name, value in conn.execute(query, {"schemas": schemas}).fetchall():
            facts[(kind, name)] = value
    return facts


def compare(expected: dict, actual: dict, accepted=frozenset()) -> list[str]:
    """The differences; an object only the database has is accepted when a hand-written migration made it
    (`accepted`): SQL the spec cannot say. What such a migration changes of the spec's objects is reported."""
    out = []
    for key in sorted(set(expected) | set(actual)):
        kind, name = key
        if key not in actual:
            out.append(f"missing {kind} {name} (the spec has it, the database does not)")
        elif key not in expected:
            if key not in accepted:
                out.append(f"extra {kind} {name} (the database has it, the spec does not)")
        elif expected[key] != actual[key]:
            out.append(f"different {kind} {name}: spec {expected[key]} != database {actual[key]}")
    return out


def verify(out: Path, ir: IR, database_url: str | None = None, progress=lambda msg: None,
           cluster_url: str | None = None) -> list[str]:
    """`cluster_url`: a server to make the throwaway databases on (else one is started)."""
    schemas = [*ir.schemas, "private"]
    cluster = start_cluster(cluster_url)
    try:
        progress(f"started a throwaway PostgreSQL ({cluster.kind})")
        expected_db = cluster.url_for(cluster.create_database(prefix="expected"))
        apply_sql(expected_db, standin_sql())
        apply_file(expected_db, "the schema the spec describes (sql.render_baseline)", sql.render_baseline(ir))
        with psycopg.connect(expected_db) as conn:
            expected = introspect(conn, schemas)
        state = folder.read_folder(out)
        accepted: set = set()
        if not database_url or state.hand or state.pending_hand:
            migrated_db = cluster.url_for(cluster.create_database(prefix="migrated"))
            apply_sql(migrated_db, standin_sql())
            actual, accepted = _apply_all(migrated_db, state, schemas, progress)
        if database_url:
            progress("reading the live database (nothing is changed)")
            with psycopg.connect(database_url) as conn:
                conn.read_only = True
                actual = introspect(conn, schemas)
    finally:
        cluster.stop()
    return compare(expected, actual, frozenset(accepted))


def _apply_all(url: str, state: folder.Folder, schemas: list[str], progress) -> tuple[dict, set]:
    """Apply every migration in order; return the catalog, and the objects the hand-written ones added."""
    hand = state.hand | set(state.pending_hand)
    added: set = set()
    for name in state.files:
        progress(f"applying {name}" + (" (written by hand)" if name in hand else ""))
        if name in hand:
            with psycopg.connect(url) as conn:
                before = introspect(conn, schemas)
        apply_file(url, f"{folder.MIGRATIONS}/{name}", state.texts[name])
        if name in hand:
            with psycopg.connect(url) as conn:
                added |= set(introspect(conn, schemas)) - set(before)
    with psycopg.connect(url) as conn:
        return introspect(conn, schemas), added
