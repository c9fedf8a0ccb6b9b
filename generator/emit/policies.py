"""Authorization SQL: private helper functions, one RLS policy per table and command, column
privileges, audit triggers, the append-only audit log, and SSO claim mapping.

Policies call `private.user_org_ids(roles)` inside `(select ...)`, so PostgreSQL evaluates it once per
query (an InitPlan) instead of once per row, and can use the tenant column's index. The helper is
PL/pgSQL, whose plan is cached (a SQL function is planned again on every call: 2.5x slower), and
`security definer` so it can read memberships without recursing into their own policies; it lives in
`private`, a schema the Data API does not serve.
"""
from __future__ import annotations

from generator.ir import IR, Grant, Permission, Role, Table
from generator.names import derived_name, quote_ident, sql_string
from generator.quoting import array_text, requote_body

COMMANDS = ("select", "insert", "update", "delete")
WRITE_SYSTEM = ("pk", "timestamps", "odoo", "platform")  # columns API roles never write directly


def policy_name(table: str, what: str) -> str:
    """`<table>_<what>`, shortened with a stable hash past 63 bytes like every derived name, so the
    policies of a long table name stay distinct instead of being truncated by PostgreSQL into one."""
    return derived_name([table], what)


def role_array(ir: IR, role: str) -> str:
    """The membership roles that count as `role` or stronger, as a typed array literal."""
    members = _role(ir, role).satisfied_by
    return f"array[{', '.join(sql_string(r) for r in members)}]::{_membership_enum(ir)}[]"


def _role(ir: IR, name: str) -> Role:
    return next(r for r in ir.roles if r.name == name)


def _membership_enum(ir: IR) -> str:
    assert ir.tenancy is not None
    t = ir.table(ir.tenancy.membership_schema, ir.tenancy.membership_table)
    enum = t.column(ir.tenancy.role_column).enum
    assert enum is not None
    return f"{quote_ident(enum[0])}.{quote_ident(enum[1])}"


def helper_signature(ir: IR) -> str:
    return f"private.user_org_ids({_membership_enum(ir)}[])"


def _array_helper(name: str, params: str, sig: str, returns: str, select: str, comment: str) -> list[str]:
    """A `security definer` PL/pgSQL function returning `array(select ...)`, with its comment and grants.

    Security definer, so it reads memberships without recursing into their own policies; PL/pgSQL, so
    its plan is cached; executable by signed-in users only."""
    return [f"""create or replace function private.{name}({params})
returns {returns}
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
{select}
end;
$$;""",
            f"comment on function {sig} is {sql_string(comment)};",
            f"revoke execute on function {sig} from public, anon;",
            f"grant execute on function {sig} to authenticated, service_role;"]


def render_helpers(ir: IR) -> list[str]:
    if not ir.tenancy:
        return []
    tn = ir.tenancy
    membership = f"{quote_ident(tn.membership_schema)}.{quote_ident(tn.membership_table)}"
    sig = helper_signature(ir)
    return [
        "create schema if not exists private;",
        "revoke all on schema private from public;",
        "grant usage on schema private to authenticated, service_role;",
        *_array_helper("user_org_ids", f"p_roles {_membership_enum(ir)}[]", sig, "uuid[]", f"""\
  return array(
    select m.{quote_ident(tn.column)}
    from {membership} m
    where m.{quote_ident(tn.user_column)} = auth.uid()
      and m.{quote_ident(tn.role_column)} = any (p_roles)
  );""", "Orgs in which the caller holds one of the given roles; used by row level security policies."),
        *(_co_member_helper(ir) if any(g.rows == "co_members" for p in ir.permissions for g in p.grants) else []),
    ]


def _co_member_helper(ir: IR) -> list[str]:
    """Users who share an org with the caller, for `rows: co_members` (profiles seen only by co-members)."""
    tn = ir.tenancy
    membership = f"{quote_ident(tn.membership_schema)}.{quote_ident(tn.membership_table)}"
    org, user, role = (quote_ident(x) for x in (tn.column, tn.user_column, tn.role_column))
    sig = f"private.co_member_ids({_membership_enum(ir)}[])"
    return _array_helper("co_member_ids", f"p_roles {_membership_enum(ir)}[]", sig, "uuid[]", f"""\
  return array(
    select distinct o.{user}
    from {membership} m
    join {membership} o on o.{org} = m.{org}
    where m.{user} = auth.uid()
      and m.{role} = any (p_roles)
  );""", "Users who share an org with the caller (where the caller holds one of the given roles).")


def at_or_below(ir: IR, role: str) -> list[str]:
    """The org roles `role` may grant: itself and every role it inherits, directly or not."""
    return [r.name for r in ir.roles if not r.system and role in r.satisfied_by]


def render_membership_rules(ir: IR) -> list[str]:
    """roles.yaml `memberships:`. The ceiling is restrictive policies (ANDed with the matrix's): the role a
    member grants, and the role of the membership they change or remove, must be at or below their own
    rank in that org. keep_one is a deferred constraint trigger, so it holds for the service role too and
    a transaction may add the new owner after removing the old one."""
    tn = ir.tenancy
    if not tn or not (tn.ceiling or tn.keep_one):
        return []
    enum = _membership_enum(ir)
    membership = f"{quote_ident(tn.membership_schema)}.{quote_ident(tn.membership_table)}"
    org, user, role = (quote_ident(x) for x in (tn.column, tn.user_column, tn.role_column))
    out = []
    if tn.ceiling:
        cases = "\n".join(
            f"        when {sql_string(r.name)} then array[{', '.join(sql_string(x) for x in at_or_below(ir, r.name))}]::{enum}[]"
            for r in ir.roles if not r.system)
        out += _array_helper("grantable_roles", "p_org uuid", "private.grantable_roles(uuid)", f"{enum}[]", f"""\
  -- The roles at or below the caller's own in that org (the rank follows `inherits`).
  return array(
    select distinct g.r
    from {membership} m
    cross join lateral unnest(case m.{role}
{cases}
      end) as g(r)
    where m.{user} = auth.uid() and m.{org} = p_org
  );""", "Membership roles the caller may grant, change or revoke in an org: at or below their own.")
        check = f"{role} = any (private.grantable_roles({org}))"
        name = tn.membership_table
        out += [f"create policy {quote_ident(policy_name(name, 'ceiling_insert'))} on {membership} as restrictive for insert "
                f"to authenticated with check ({check});",
                f"create policy {quote_ident(policy_name(name, 'ceiling_update'))} on {membership} as restrictive for update "
                f"to authenticated using ({check}) with check ({check});",
                f"create policy {quote_ident(policy_name(name, 'ceiling_delete'))} on {membership} as restrictive for delete "
                f"to authenticated using ({check});"]
    if tn.keep_one:
        keep = sql_string(tn.keep_one)
        root = f"{quote_ident(tn.root_schema)}.{quote_ident(tn.root_table)}"
        message = sql_string(f"org % would be left with no {tn.keep_one}: make another member "
                             f"{tn.keep_one} first")
        out += [requote_body(f"""create or replace function private.keep_one_role() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  -- Checked at commit (deferred): the org must still hold one. An org being deleted needs none.
  if old.{role} = {keep} and exists (select 1 from {root} o where o.id = old.{org})
     and not exists (select 1 from {membership} m where m.{org} = old.{org} and m.{role} = {keep}) then
    raise exception {message}, old.{org} using errcode = 'check_violation';
  end if;
  return null;
end;
$$;"""),
                "revoke execute on function private.keep_one_role() from public, anon, authenticated;",
                f"create constraint trigger keep_one_role after update or delete on {membership} "
                f"deferrable initially deferred for each row execute function private.keep_one_role();"]
    return out


def grant_expression(ir: IR, t: Table, g: Grant, command: str = "select") -> str:
    """The row filter of one grant, in SQL."""
    if g.role == "anon":
        return "true" if g.rows != "own" else "false"
    if g.role == "authenticated":
        # Every signed-in user, member of an org or not. A write policy of `true` is what Supabase's
        # advisor flags (rls_policy_always_true): a signed-in caller is one with a user id.
        if g.rows == "own":
            return f"{quote_ident(t.owned_by)} = (select auth.uid())"
        return "true" if command == "select" else "(select auth.uid()) is not null"
    call = f"private.user_org_ids({role_array(ir, g.role)})"
    # `= any ((select helper())::uuid[])` runs the helper once (an InitPlan) and lets the planner use the
    # tenant index; `in (select ...)` became a hashed subplan that scanned every org's rows (300x slower).
    orgs = f"any ((select {call})::uuid[])"
    is_root = ir.tenancy and (t.schema, t.name) == (ir.tenancy.root_schema, ir.tenancy.root_table)
    org_column = t.primary_key[0] if is_root else (ir.tenancy.column if t.scope == "tenant" else None)
    in_orgs = f"{quote_ident(org_column)} = {orgs}" if org_column else f"cardinality((select {call})) > 0"
    if g.rows == "own":
        return f"{quote_ident(t.owned_by)} = (select auth.uid()) and {in_orgs}"
    if g.rows == "co_members":
        return (f"{quote_ident(t.owned_by)} = any ((select private.co_member_ids({role_array(ir, g.role)}))"
                f"::uuid[])")
    return in_orgs


def policy_expression(ir: IR, t: Table, p: Permission) -> str:
    parts = list(dict.fromkeys(grant_expression(ir, t, g, p.command) for g in p.grants))
    if "true" in parts:
        return "true"
    return parts[0] if len(parts) == 1 else " or ".join(f"({x})" for x in parts)


def render_policies(ir: IR) -> list[str]:
    by_table: dict[tuple[str, str], list[Permission]] = {}
    for p in ir.permissions:
        by_table.setdefault((p.schema, p.table), []).append(p)
    out = []
    for t in ir.tables:
        perms = by_table.get((t.schema, t.name), [])
        if not perms:
            out.append(f"create policy {quote_ident(policy_name(t.name, 'no_api_access'))} on {t.qualified} as restrictive "
                       f"for all to anon, authenticated using (false) with check (false);")
            continue
        for p in sorted(perms, key=lambda p: COMMANDS.index(p.command)):
            to = "anon, authenticated" if any(g.role == "anon" for g in p.grants) else "authenticated"
            expr = policy_expression(ir, t, p)
            name = quote_ident(policy_name(t.name, p.command))
            if p.command == "select":
                out.append(f"create policy {name} on {t.qualified} for select to {to} using ({expr});")
            elif p.command == "insert":
                out.append(f"create policy {name} on {t.qualified} for insert to {to} with check ({expr});")
            elif p.command == "update":
                out.append(f"create policy {name} on {t.qualified} for update to {to} using ({expr}) "
                           f"with check ({expr});")
            else:
                out.append(f"create policy {name} on {t.qualified} for delete to {to} using ({expr});")
    return out


def writable_columns(ir: IR, t: Table, p: Permission) -> tuple[str, ...]:
    """Columns a signed-in user may name in an insert or update: the spec's own fields (and the tenant
    column on insert), narrowed to the grant's column list. The tenant column is never updatable, so a
    row cannot move to another org; the owner column is never written by clients, so its default
    (auth.uid()) records who created the row and nobody can hand a row to someone else."""
    listed = set(p.grants[0].columns) if p.grants and p.grants[0].columns else None
    out = []
    for c in t.columns:
        if c.system in WRITE_SYSTEM or c.identity:
            continue
        if c.system == "tenant" and p.command != "insert":
            continue
        if c.name == t.owned_by:
            continue
        if listed is not None and c.name not in listed and c.system != "tenant":
            continue
        out.append(c.name)
    return tuple(out)


def render_privileges(ir: IR) -> list[str]:
    """Table and column privileges for anon and authenticated, exactly as the matrix grants."""
    out = []
    for p in ir.permissions:
        if p.schema not in ir.exposed_schemas:
            continue
        t = ir.table(p.schema, p.table)
        roles = "anon, authenticated" if any(g.role == "anon" for g in p.grants) else "authenticated"
        if p.command in ("insert", "update"):
            cols = ", ".join(quote_ident(c) for c in writable_columns(ir, t, p))
            out.append(f"grant {p.command} ({cols}) on {t.qualified} to {roles};")
        elif p.command == "select" and p.grants[0].columns:
            cols = ", ".join(quote_ident(c) for c in p.grants[0].columns)
            out.append(f"grant select ({cols}) on {t.qualified} to {roles};")
        else:
            out.append(f"grant {p.command} on {t.qualified} to {roles};")
    return out


def render_audit(ir: IR) -> list[str]:
    audited = [t for t in ir.tables if t.audit]
    out = [AUDIT_APPEND_ONLY]
    if audited:
        # A composite key is passed as a text array ('{a,b}') and logged as the array of its values; the
        # function reads it so only when some audited table has one (the usual text stays as it was).
        if any(len(t.primary_key) > 1 for t in audited):
            out.append(AUDIT_FUNCTION.replace("v_row ->> tg_argv[0],", COMPOSITE_ROW_PK))
        else:
            out.append(AUDIT_FUNCTION)
    for t in audited:
        key = t.primary_key[0] if len(t.primary_key) == 1 else array_text(t.primary_key)
        pii = array_text(c.name for c in t.columns if c.pii)
        tenant = ir.tenancy.column if ir.tenancy and t.scope == "tenant" else (
            t.primary_key[0] if ir.tenancy and (t.schema, t.name) == (ir.tenancy.root_schema, ir.tenancy.root_table)
            else "")
        out.append(f"create trigger audit_row after insert or update or delete on {t.qualified} for each row "
                   f"execute function ops.audit_row({sql_string(key)}, {sql_string(tenant)}, "
                   f"{sql_string(pii)});")
    return out


def render_audit_privileges(ir: IR) -> list[str]:
    out = ["revoke update, delete, truncate on ops.audit_log from service_role, authenticated, anon;",
           "revoke execute on function ops.forbid_change() from public, anon, authenticated;"]
    if any(t.audit for t in ir.tables):
        out.append("revoke execute on function ops.audit_row() from public, anon, authenticated;")
    return out


def render_sso(ir: IR) -> list[str]:
    if not ir.sso or not ir.tenancy:
        return []
    tn = ir.tenancy
    path = array_text(ir.sso.claim_path.split(".")[1:])
    enum = _membership_enum(ir)
    org_roles = [r for r in ir.roles if not r.system]
    strength = {r.name: len(r.satisfied_by) for r in org_roles}  # fewer satisfiers = stronger
    values = ",\n      ".join(
        f"({sql_string(group)}, {sql_string(role)}::{enum}, {strength[role]})" for group, role in ir.sso.groups)
    membership = f"{quote_ident(tn.membership_schema)}.{quote_ident(tn.membership_table)}"
    org, user, role = (quote_ident(x) for x in (tn.column, tn.user_column, tn.role_column))
    # The body holds the IdP's group names as literals: a `$$` in one must not end it.
    return [requote_body(f"""create or replace function private.apply_sso_claims() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_claims jsonb := new.raw_app_meta_data #> {sql_string(path)};
  v_org text;
  v_groups jsonb;
  v_role {enum};
begin
  -- Only app_metadata is trusted: users can edit user_metadata themselves.
  if v_claims is null or jsonb_typeof(v_claims) <> 'object' then
    return new;
  end if;
  for v_org, v_groups in select key, value from jsonb_each(v_claims) loop
    continue when v_org !~ '^[0-9a-fA-F]{{8}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{12}}$'
      or jsonb_typeof(v_groups) <> 'array';
    select m.role into v_role
    from (values
      {values}
    ) as m(grp, role, strength)
    where v_groups ? m.grp
    order by m.strength
    limit 1;
    continue when v_role is null;
    continue when not exists (select 1 from {quote_ident(tn.root_schema)}.{quote_ident(tn.root_table)} o where o.id = v_org::uuid);
    insert into {membership} ({org}, {user}, {role}) values (v_org::uuid, new.id, v_role)
    on conflict ({org}, {user}) do update set {role} = excluded.{role};
  end loop;
  -- The claim is the source of truth for this user's memberships: orgs it no longer names are left.
  delete from {membership} m where m.{user} = new.id and not (v_claims ? m.{org}::text);
  return new;
end;
$$;"""),
            "revoke execute on function private.apply_sso_claims() from public, anon, authenticated;",
            "create trigger apply_sso_claims after insert or update of raw_app_meta_data on auth.users "
            "for each row execute function private.apply_sso_claims();"]


AUDIT_APPEND_ONLY = """\
create or replace function ops.forbid_change() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  raise exception '%.% is append-only', tg_table_schema, tg_table_name using errcode = 'insufficient_privilege';
end;
$$;
create trigger audit_log_append_only before update or delete on ops.audit_log
for each row execute function ops.forbid_change();
create trigger audit_log_no_truncate before truncate on ops.audit_log
for each statement execute function ops.forbid_change();"""

COMPOSITE_ROW_PK = """case when left(tg_argv[0], 1) = '{' then
      (select array_agg(v_row ->> k.name order by k.n) from unnest(tg_argv[0]::text[]) with ordinality k(name, n))::text
    else v_row ->> tg_argv[0] end,"""

AUDIT_FUNCTION = """\
create or replace function ops.audit_row() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_row jsonb;
  v_old jsonb;
  v_new jsonb;
  v_changed text[];
  v_key text;
begin
  if tg_op = 'DELETE' then
    v_row := to_jsonb(old);
  else
    v_row := to_jsonb(new);
  end if;
  if tg_op in ('UPDATE', 'DELETE') then
    v_old := to_jsonb(old);
  end if;
  if tg_op in ('INSERT', 'UPDATE') then
    v_new := to_jsonb(new);
  end if;
  if tg_op = 'UPDATE' then
    select coalesce(array_agg(n.key order by n.key), '{}') into v_changed
    from jsonb_each(v_new) n
    where n.value is distinct from v_old -> n.key and n.key <> 'updated_at';
    if cardinality(v_changed) = 0 then
      return null;
    end if;
    select jsonb_object_agg(key, value) into v_old from jsonb_each(v_old) where key = any (v_changed);
    select jsonb_object_agg(key, value) into v_new from jsonb_each(v_new) where key = any (v_changed);
  end if;
  -- Personal data never reaches the log: a pii value is replaced, null stays null.
  foreach v_key in array tg_argv[2]::text[] loop
    if v_old ? v_key and v_old -> v_key <> 'null'::jsonb then
      v_old := jsonb_set(v_old, array[v_key], '"***"');
    end if;
    if v_new ? v_key and v_new -> v_key <> 'null'::jsonb then
      v_new := jsonb_set(v_new, array[v_key], '"***"');
    end if;
  end loop;
  insert into ops.audit_log (actor, org_id, table_schema, table_name, operation, row_pk, old_values, new_values,
                             changed_columns, trace_id)
  values (
    auth.uid(),
    case when tg_argv[1] <> '' then (v_row ->> tg_argv[1])::uuid end,
    tg_table_schema, tg_table_name, lower(tg_op)::ops.audit_operation, v_row ->> tg_argv[0],
    v_old, v_new, v_changed, nullif(ops.sync_setting('specgen.trace_id'), '')
  );
  return null;
end;
$$;"""
