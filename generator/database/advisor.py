"""Supabase's database advisor lints (splinter), as catalog queries we can run on any PostgreSQL.

Each query returns (object, detail) rows for one lint. `run_advisor` runs them all over the given
schemas. The rules follow ../shared/reference/supabase.md; where splinter only looks at exposed
schemas, we look at every schema we generate, which is stricter.
"""
from __future__ import annotations

from dataclasses import dataclass

import psycopg


@dataclass(frozen=True, order=True)
class Finding:
    level: str  # "ERROR", "WARN", "INFO"
    lint: str
    object: str
    detail: str


# name -> (level, scope: "all" or "exposed", SQL with %(schemas)s = text[])
LINTS: dict[str, tuple[str, str, str]] = {
    "no_primary_key": ("INFO", "all", """
        select n.nspname || '.' || c.relname, 'table has no primary key'
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p') and n.nspname = any(%(schemas)s)
          and not exists (select from pg_constraint k where k.conrelid = c.oid and k.contype = 'p')"""),
    "unindexed_foreign_keys": ("INFO", "all", """
        select n.nspname || '.' || c.relname, k.conname
        from pg_constraint k join pg_class c on c.oid = k.conrelid join pg_namespace n on n.oid = c.relnamespace
        where k.contype = 'f' and n.nspname = any(%(schemas)s)
          and not exists (
            select from pg_index i
            where i.indrelid = k.conrelid and i.indpred is null
              and (i.indkey::int2[])[0:array_length(k.conkey, 1) - 1] @> k.conkey
              and (i.indkey::int2[])[0:array_length(k.conkey, 1) - 1] <@ k.conkey)"""),
    "duplicate_index": ("WARN", "all", """
        select n.nspname || '.' || c.relname, string_agg(ic.relname, ', ' order by ic.relname)
        from pg_index i join pg_class c on c.oid = i.indrelid join pg_namespace n on n.oid = c.relnamespace
          join pg_class ic on ic.oid = i.indexrelid
        where n.nspname = any(%(schemas)s)
        group by n.nspname, c.relname, i.indrelid, i.indkey::text, i.indclass::text,
                 coalesce(pg_get_expr(i.indexprs, i.indrelid), ''), coalesce(pg_get_expr(i.indpred, i.indrelid), '')
        having count(*) > 1"""),
    "rls_disabled_in_public": ("ERROR", "exposed", """
        select n.nspname || '.' || c.relname, 'row level security is off'
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p') and n.nspname = any(%(schemas)s) and not c.relrowsecurity"""),
    "policy_exists_rls_disabled": ("ERROR", "all", """
        select p.schemaname || '.' || p.tablename, p.policyname
        from pg_policies p join pg_namespace n on n.nspname = p.schemaname
          join pg_class c on c.relnamespace = n.oid and c.relname = p.tablename
        where p.schemaname = any(%(schemas)s) and not c.relrowsecurity"""),
    "rls_enabled_no_policy": ("INFO", "all", """
        select n.nspname || '.' || c.relname, 'row level security is on but no policy exists (deny all)'
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p') and n.nspname = any(%(schemas)s) and c.relrowsecurity
          and not exists (select from pg_policy p where p.polrelid = c.oid)"""),
    "auth_rls_initplan": ("WARN", "all", """
        select schemaname || '.' || tablename, policyname
        from pg_policies, lateral (select coalesce(qual, '') || ' ' || coalesce(with_check, '') as expr) e
        where schemaname = any(%(schemas)s)
          and (e.expr ~ 'auth\\.(uid|jwt|role|email)\\(\\)' or e.expr ~ 'current_setting\\(')
          and regexp_replace(e.expr, '\\( SELECT (auth\\.(uid|jwt|role|email)\\(\\)|current_setting\\([^)]*\\))',
                             '', 'g') ~ '(auth\\.(uid|jwt|role|email)\\(\\)|current_setting\\()'"""),
    "multiple_permissive_policies": ("WARN", "all", """
        select p.schemaname || '.' || p.tablename, r.role || ' ' || a.action || ': ' ||
               string_agg(p.policyname, ', ' order by p.policyname)
        from pg_policies p, unnest(p.roles) r(role),
             unnest(case when p.cmd = 'ALL' then array['SELECT','INSERT','UPDATE','DELETE'] else array[p.cmd] end)
               a(action)
        where p.schemaname = any(%(schemas)s) and p.permissive = 'PERMISSIVE'
        group by p.schemaname, p.tablename, r.role, a.action having count(*) > 1"""),
    "rls_policy_always_true": ("WARN", "all", """
        select schemaname || '.' || tablename, policyname
        from pg_policies
        where schemaname = any(%(schemas)s) and cmd in ('INSERT', 'UPDATE', 'DELETE', 'ALL')
          and (trim(coalesce(qual, '')) = 'true' or trim(coalesce(with_check, '')) = 'true')"""),
    "rls_references_user_metadata": ("ERROR", "all", """
        select schemaname || '.' || tablename, policyname
        from pg_policies
        where schemaname = any(%(schemas)s)
          and (coalesce(qual, '') || coalesce(with_check, '')) ~ 'user_metadata'"""),
    "function_search_path_mutable": ("WARN", "all", """
        select n.nspname || '.' || p.proname, 'function has no fixed search_path'
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = any(%(schemas)s) and p.prokind in ('f', 'p')
          and not exists (select from unnest(coalesce(p.proconfig, '{}')) c where c like 'search_path=%%')"""),
    "anon_security_definer_function_executable": ("WARN", "exposed", """
        select n.nspname || '.' || p.proname, 'security definer function executable by anon'
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = any(%(schemas)s) and p.prosecdef and has_function_privilege('anon', p.oid, 'execute')"""),
    "authenticated_security_definer_function_executable": ("WARN", "exposed", """
        select n.nspname || '.' || p.proname, 'security definer function in an exposed schema executable by authenticated'
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = any(%(schemas)s) and p.prosecdef
          and has_function_privilege('authenticated', p.oid, 'execute')"""),
    "security_definer_view": ("ERROR", "exposed", """
        select n.nspname || '.' || c.relname, 'view does not use security_invoker'
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind = 'v' and n.nspname = any(%(schemas)s)
          and not coalesce(c.reloptions, '{}') && array['security_invoker=true', 'security_invoker=on']"""),
    "sensitive_columns_exposed": ("ERROR", "exposed", """
        select n.nspname || '.' || c.relname, a.attname
        from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
        where c.relkind = 'r' and n.nspname = any(%(schemas)s) and a.attnum > 0 and not a.attisdropped
          and not c.relrowsecurity
          and a.attname ~* '^(email|phone|ssn|social_security|passport|password|secret|credit_card|card_number|iban|tax_id|vat)'"""),
    "extension_in_public": ("WARN", "all", """
        select e.extname, 'extension installed in public'
        from pg_extension e join pg_namespace n on n.oid = e.extnamespace
        where n.nspname = 'public' and e.extname <> 'plpgsql'"""),
    "auth_users_exposed": ("ERROR", "exposed", """
        select n.nspname || '.' || c.relname, 'view or materialized view over auth.users'
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
          join pg_depend d on d.refobjid = 'auth.users'::regclass
          join pg_rewrite rw on rw.oid = d.objid and rw.ev_class = c.oid
        where c.relkind in ('v', 'm') and n.nspname = any(%(schemas)s)"""),
    "fkey_to_auth_unique": ("ERROR", "all", """
        select n.nspname || '.' || c.relname, k.conname
        from pg_constraint k join pg_class c on c.oid = k.conrelid join pg_namespace n on n.oid = c.relnamespace
          join pg_constraint ref on ref.conrelid = k.confrelid and ref.contype = 'u'
            and ref.conkey = k.confkey
        where k.contype = 'f' and k.confrelid in (select oid from pg_class where relnamespace = 'auth'::regnamespace)
          and n.nspname = any(%(schemas)s)"""),
    "materialized_view_in_api": ("WARN", "exposed", """
        select n.nspname || '.' || c.relname, 'materialized view in an exposed schema'
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind = 'm' and n.nspname = any(%(schemas)s)"""),
    "foreign_table_in_api": ("WARN", "exposed", """
        select n.nspname || '.' || c.relname, 'foreign table in an exposed schema'
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind = 'f' and n.nspname = any(%(schemas)s)"""),
}


def run_advisor(conn: psycopg.Connection, schemas: list[str], exposed: list[str]) -> list[Finding]:
    findings = []
    for lint, (level, scope, query) in LINTS.items():
        targets = exposed if scope == "exposed" else schemas
        for obj, detail in conn.execute(query, {"schemas": list(targets)}).fetchall():
            findings.append(Finding(level, lint, obj, detail))
    return sorted(findings)
