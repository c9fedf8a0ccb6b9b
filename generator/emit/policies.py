"""Authorization SQL: private helper functions, one RLS policy per table and command, column
privileges, and SSO claim mapping (the audit log is generator/emit/audit.py).

Policies call `private.user_org_ids(roles)` inside `(select ...)`, so PostgreSQL evaluates it once per
query (an InitPlan) instead of once per row, and can use the tenant column's index. The helper is
PL/pgSQL, whose plan is cached (a SQL function is planned again on every call: 2.5x slower), and
`security definer` so it can read memberships without recursing into their own policies; it lives in
`private`, a schema the Data API does not serve.
"""
from __future__ import annotations

from generator.emit import sqlobjects as so
from generator.emit.sqlobjects import SqlObject
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


def _array_helper(name: str, params: str, sig: str, returns: str, select: str, comment: str) -> list[SqlObject]:
    """A `security definer` PL/pgSQL function returning `array(select ...)`, with its comment and grants.

    Security definer, so it reads memberships without recursing into their own policies; PL/pgSQL, so
    its plan is cached; executable by signed-in users only."""
    return [so.function(f"private.{name}", params, returns, f"""create or replace function private.{name}({params})
returns {returns}
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
{select}
end;
$$;"""),
            so.comment(sig, f"comment on function {sig} is {sql_string(comment)};"),
            so.statement(f"revoke execute on function {sig} from public, anon;"),
            so.statement(f"grant execute on function {sig} to authenticated, service_role;")]


def render_helpers(ir: IR) -> list[SqlObject]:
    if not ir.tenancy:
        return []
    tn = ir.tenancy
    membership = f"{quote_ident(tn.membership_schema)}.{quote_ident(tn.membership_table)}"
    sig = helper_signature(ir)
    return [
        so.schema("private"),
        so.statement("revoke all on schema private from public;"),
        so.schema_usage("private", "authenticated, service_role"),
        *_array_helper("user_org_ids", f"p_roles {_membership_enum(ir)}[]", sig, "uuid[]", f"""\
  return array(
    select m.{quote_ident(tn.column)}
    from {membership} m
    where m.{quote_ident(tn.user_column)} = auth.uid()
      and m.{quote_ident(tn.role_column)} = any (p_roles)
  );""", "Orgs in which the caller holds one of the given roles; used by row level security policies."),
        *(_co_member_helper(ir) if any(g.rows == "co_members" for p in ir.permissions for g in p.grants) else []),
    ]


def _co_member_helper(ir: IR) -> list[SqlObject]:
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


def render_membership_rules(ir: IR) -> list[SqlObject]:
    """roles.yaml `memberships:`. The ceiling is restrictive policies (ANDed with the matrix's): the role a
    member grants, and the role of the membership they change or remove, must be at or below their own
    rank in that org. keep_one is a deferred constraint trigger, so it holds for the service role too and
    a transaction may add the new owner after removing the old one."""
    tn = ir.tenancy
    if not tn or not (tn.ceiling or tn.keep_one):
        return []
    enum = _membership_enum(ir)
    table = (tn.membership_schema, tn.membership_table)
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
        for command, rule in (("insert", f"with check ({check})"), ("update", f"using ({check}) with check ({check})"),
                              ("delete", f"using ({check})")):
            name = quote_ident(policy_name(tn.membership_table, f"ceiling_{command}"))
            out.append(so.policy(name, table, f"create policy {name} on {membership} as restrictive for {command} "
                                              f"to authenticated {rule};"))
    if tn.keep_one:
        keep = sql_string(tn.keep_one)
        root = f"{quote_ident(tn.root_schema)}.{quote_ident(tn.root_table)}"
        message = sql_string(f"org % would be left with no {tn.keep_one}: make another member "
                             f"{tn.keep_one} first")
        out += [so.function("private.keep_one_role", "", "trigger", requote_body(f"""\
create or replace function private.keep_one_role() returns trigger
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
$$;""")),
                so.statement("revoke execute on function private.keep_one_role() from public, anon, authenticated;"),
                so.trigger("keep_one_role", table, f"create constraint trigger keep_one_role after update or delete on "
                           f"{membership} deferrable initially deferred for each row execute function "
                           f"private.keep_one_role();")]
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


def render_policies(ir: IR) -> list[SqlObject]:
    by_table: dict[tuple[str, str], list[Permission]] = {}
    for p in ir.permissions:
        by_table.setdefault((p.schema, p.table), []).append(p)
    out = []
    for t in ir.tables:
        perms = by_table.get((t.schema, t.name), [])
        table = (t.schema, t.name)
        if not perms:
            name = quote_ident(policy_name(t.name, 'no_api_access'))
            out.append(so.policy(name, table, f"create policy {name} on {t.qualified} as restrictive "
                                              f"for all to anon, authenticated using (false) with check (false);"))
            continue
        for p in sorted(perms, key=lambda p: COMMANDS.index(p.command)):
            to = "anon, authenticated" if any(g.role == "anon" for g in p.grants) else "authenticated"
            expr = policy_expression(ir, t, p)
            name = quote_ident(policy_name(t.name, p.command))
            if p.command == "insert":
                rule = f"with check ({expr})"
            elif p.command == "update":
                rule = f"using ({expr}) with check ({expr})"
            else:
                rule = f"using ({expr})"
            out.append(so.policy(name, table, f"create policy {name} on {t.qualified} for {p.command} to {to} {rule};"))
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


def render_privileges(ir: IR) -> list[SqlObject]:
    """Table and column privileges for anon and authenticated, exactly as the matrix grants."""
    out = []
    for p in ir.permissions:
        if p.schema not in ir.exposed_schemas:
            continue
        t = ir.table(p.schema, p.table)
        roles = "anon, authenticated" if any(g.role == "anon" for g in p.grants) else "authenticated"
        if p.command in ("insert", "update"):
            cols = ", ".join(quote_ident(c) for c in writable_columns(ir, t, p))
            text = f"grant {p.command} ({cols}) on {t.qualified} to {roles};"
        elif p.command == "select" and p.grants[0].columns:
            cols = ", ".join(quote_ident(c) for c in p.grants[0].columns)
            text = f"grant select ({cols}) on {t.qualified} to {roles};"
        else:
            text = f"grant {p.command} on {t.qualified} to {roles};"
        out.append(so.table_grant((t.schema, t.name), text))
    return out


def render_sso(ir: IR) -> list[SqlObject]:
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
    return [so.function("private.apply_sso_claims", "", "trigger", requote_body(f"""\
create or replace function private.apply_sso_claims() returns trigger
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
$$;""")),
            so.statement("revoke execute on function private.apply_sso_claims() from public, anon, authenticated;"),
            so.trigger("apply_sso_claims", ("auth", "users"),
                       "create trigger apply_sso_claims after insert or update of raw_app_meta_data on auth.users "
                       "for each row execute function private.apply_sso_claims();")]
