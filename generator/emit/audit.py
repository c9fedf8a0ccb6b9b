"""The audit log: append-only (a trigger refuses updates, deletes and truncation), one row per change of
an audited table, personal data masked."""
from __future__ import annotations

from generator.emit import sqlobjects as so
from generator.emit.sqlobjects import SqlObject
from generator.ir import IR
from generator.names import sql_string
from generator.quoting import array_text

AUDIT_LOG = ("ops", "audit_log")


def render_audit(ir: IR) -> list[SqlObject]:
    audited = [t for t in ir.tables if t.audit]
    out = [so.function("ops.forbid_change", "", "trigger", FORBID_CHANGE_FUNCTION)]
    out += [so.trigger(name, AUDIT_LOG, text) for name, text in APPEND_ONLY_TRIGGERS]
    if audited:
        # A composite key is passed as a text array ('{a,b}') and logged as the array of its values; the
        # function reads it so only when some audited table has one (the usual text stays as it was).
        if any(len(t.primary_key) > 1 for t in audited):
            text = AUDIT_FUNCTION.replace("v_row ->> tg_argv[0],", COMPOSITE_ROW_PK)
        else:
            text = AUDIT_FUNCTION
        out.append(so.function("ops.audit_row", "", "trigger", text))
    for t in audited:
        key = t.primary_key[0] if len(t.primary_key) == 1 else array_text(t.primary_key)
        pii = array_text(c.name for c in t.columns if c.pii)
        tenant = ir.tenancy.column if ir.tenancy and t.scope == "tenant" else (
            t.primary_key[0] if ir.tenancy and (t.schema, t.name) == (ir.tenancy.root_schema, ir.tenancy.root_table)
            else "")
        out.append(so.trigger("audit_row", (t.schema, t.name),
                              f"create trigger audit_row after insert or update or delete on {t.qualified} for each "
                              f"row execute function ops.audit_row({sql_string(key)}, {sql_string(tenant)}, "
                              f"{sql_string(pii)});"))
    return out


def render_audit_privileges(ir: IR) -> list[SqlObject]:
    out = [so.table_grant(AUDIT_LOG, "revoke update, delete, truncate on ops.audit_log from service_role, "
                                     "authenticated, anon;"),
           so.statement("revoke execute on function ops.forbid_change() from public, anon, authenticated;")]
    if any(t.audit for t in ir.tables):
        out.append(so.statement("revoke execute on function ops.audit_row() from public, anon, authenticated;"))
    return out


FORBID_CHANGE_FUNCTION = """\
create or replace function ops.forbid_change() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  raise exception '%.% is append-only', tg_table_schema, tg_table_name using errcode = 'insufficient_privilege';
end;
$$;"""
APPEND_ONLY_TRIGGERS = (
    ("audit_log_append_only", """create trigger audit_log_append_only before update or delete on ops.audit_log
for each row execute function ops.forbid_change();"""),
    ("audit_log_no_truncate", """create trigger audit_log_no_truncate before truncate on ops.audit_log
for each statement execute function ops.forbid_change();"""))

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
