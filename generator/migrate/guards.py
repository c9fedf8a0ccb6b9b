"""`do` blocks a migration runs before a change that existing rows could break: they stop it and name the
rows (by primary key) that hold what the change refuses."""
from __future__ import annotations

from generator.ir import Column, Table
from generator.names import qualified, quote_ident, sql_string
from generator.quoting import dollar_quote

GUARD_ROWS_SHOWN = 10


def _row_key(t: Table, alias: str = "c") -> str:
    parts = [f"{alias}.{quote_ident(k)}::text" for k in t.primary_key]
    return parts[0] if len(parts) == 1 else "'(' || " + " || ', ' || ".join(parts) + " || ')'"


def _key_label(t: Table) -> str:
    return ", ".join(t.primary_key)


def _raise(message: str, advice: str, t: Table) -> str:
    """`raise exception` with the count and the first keys as its two `%` placeholders."""
    text = (message.replace("%", "%%").replace("%% row(s)", "% row(s)") +
            f" ({_key_label(t).replace('%', '%%')} %); {advice.replace('%', '%%')}, then apply this migration again")
    return f"raise exception {sql_string(text)}, n, keys"


def rows_guard(t: Table, condition: str, message: str, advice: str) -> str:
    """A `do` block that stops the migration when rows of `t` (alias c) meet `condition`, naming the count
    and the first rows by primary key. `message` holds `% row(s)` where the count goes."""
    shown = GUARD_ROWS_SHOWN
    body = "\n".join([
        "",
        "declare n bigint; keys text;",
        "begin",
        f"  select count(*) into n from {t.qualified} c where {condition};",
        "  if n > 0 then",
        f"    select string_agg(k, ', ') || case when n > {shown} then ', ...' else '' end into keys",
        f"      from (select {_row_key(t)} as k from {t.qualified} c where {condition} order by 1 limit {shown}) s;",
        f"    {_raise(message, advice, t)};",
        "  end if;",
        "end",
        ""])
    return f"do {dollar_quote(body)};"


_TEXTS, _NUMBERS, _TIMES = {"text", "varchar"}, {"smallint", "integer", "bigint", "numeric"}, {"date", "timestamptz"}


def conversion_guard(t: Table, old: Column, new: Column) -> str:
    """Before `alter column ... type new using col::new`: stop when a value does not convert, or (within
    strings, numbers or times) would not keep its value: `varchar(3)` truncates, `numeric(10,1)` rounds.
    One scan decides; only when it finds something (or a value fails to convert) are rows tried one by
    one to name them."""
    col = quote_ident(new.name)
    comparable = any({old.type.base, new.type.base} <= family for family in (_TEXTS, _NUMBERS, _TIMES))
    if comparable:
        changed = f"({col}::{new.sql_type})::{old.sql_type} is distinct from {col}"
        row_changed = f"(r.v::{new.sql_type})::{old.sql_type} is distinct from r.v"
    else:
        changed = f"{col}::{new.sql_type} is null"
        row_changed = f"r.v::{new.sql_type} is null"
    shown = GUARD_ROWS_SHOWN
    message = (f"cannot change {t.schema}.{t.name}.{new.name} from {old.sql_type} to {new.sql_type}: % row(s) hold "
               "values that do not " + ("fit or would change" if comparable else "convert"))
    count = f"n := n + 1; if n <= {shown} then shown := shown || r.k; end if;"
    body = "\n".join([
        "",
        "declare n bigint := 0; keys text; shown text[] := '{}'; r record;",
        "begin",
        f"  begin select count(*) into n from {t.qualified} c where {col} is not null and {changed};",
        "  exception when others then n := -1; end;",
        "  if n <> 0 then",
        "    n := 0;",
        f"    for r in select {_row_key(t)} as k, c.{col} as v from {t.qualified} c where c.{col} is not null "
        "order by 1 loop",
        f"      begin if {row_changed} then {count} end if;",
        f"      exception when others then {count} end;",
        "    end loop;",
        "    if n > 0 then",
        f"      keys := array_to_string(shown, ', ') || case when n > {shown} then ', ...' else '' end;",
        f"      {_raise(message, 'change or clear those values (or keep the old type)', t)};",
        "    end if;",
        "  end if;",
        "end",
        ""])
    return f"do {dollar_quote(body)};"


def other_org_check(t: Table, fk) -> str:
    """Before a same-org key is validated: name the rows that point at another org's row, if any."""
    tenant, col = fk.columns[0], fk.reference_columns[0]
    ref = qualified(fk.ref_schema, fk.ref_table)
    message = (f"{t.schema}.{t.name}.{col}: % row(s) point at a row of {fk.ref_schema}.{fk.ref_table} in another "
               f"org; clear or fix them (the same-org key {fk.name} refuses them), then apply this migration again")
    body = (f" declare n bigint; begin select count(*) into n from {t.qualified} c join {ref} r on "
            f"r.{quote_ident(fk.referenced_columns[0])} = c.{quote_ident(col)} where r.{quote_ident(tenant)} "
            f"<> c.{quote_ident(tenant)}; if n > 0 then raise exception {sql_string(message)}, n; "
            f"end if; end ")
    return f"do {dollar_quote(body)};"
