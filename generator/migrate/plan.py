"""Plan the next migration: the steps that take a database from one IR to the next, in dependency order.

Tables, columns, constraints, indexes and enums are compared structurally, with renames taken from
`renamed_from`. Everything else the baseline writes (functions, triggers, policies, grants, comments)
is compared statement by statement, and re-emitted where it differs. Each step says whether it is
unsafe and why; the lint decides what needs an acknowledgement.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from generator.emit import sql
from generator.ir import IR, Column, Enum, Table
from generator.migrate.objects import STRUCTURAL, Statement, objects, objects_of
from generator.names import inline_enum_name, qualified, quote_ident, sql_string
from generator.quoting import dollar_quote

# Phases order the steps so every statement finds what it needs.
PRE, ENUMS, FUNCTIONS, DROP_DEPENDENTS, RENAMES, CREATE_TABLES, COLUMNS, ENUM_SWAP, DROPS, KEYS, CONSTRAINTS, \
    COMMENTS, TRIGGERS, SECURITY, GRANTS, VALIDATE = range(16)
# KEYS (unique constraints) come before CONSTRAINTS: a foreign key needs the unique key it references.
# VALIDATE steps check existing rows against constraints added `not valid`. `specgen migrate` writes
# them to a migration of their own, so the scan runs in its own transaction and takes only a SHARE UPDATE
# EXCLUSIVE lock, after the ACCESS EXCLUSIVE of `add constraint` has been released.


@dataclass
class Step:
    change: str  # stable id, as used in acknowledged_changes: "drop_column app.tasks.legacy"
    sql: list[str]
    phase: int
    unsafe: str | None = None  # why it is unsafe, if it is
    order: int = field(default=0)
    new_label: str | None = None  # the enum label an `add value` step adds


# Files of one migration, in the order they run, each in a transaction of its own: (suffix, steps).
ENUM_VALUES_SUFFIX, VALIDATE_SUFFIX = "_enum_values", "_validate"


def split_files(steps: list[Step]) -> list[tuple[str, list[Step]]]:
    """The files `specgen migrate` writes for these steps.

    PostgreSQL refuses a new enum label before the transaction that added it commits (`unsafe use of
    new value`): when another step names a label this migration adds (a default, a check, a policy), the
    `add value` steps go to a file of their own that runs first. Validations of constraints added
    `not valid` go to a file of their own that runs last (see VALIDATE)."""
    added = [s for s in steps if s.new_label is not None]
    rest = [s for s in steps if s.new_label is None]
    used = {sql_string(s.new_label) for s in added}
    first: list[Step] = []
    if any(label in statement for s in rest for statement in s.sql for label in used):
        first, steps = added, rest
    main = [s for s in steps if s.phase != VALIDATE]
    validate = [s for s in steps if s.phase == VALIDATE]
    return [(suffix, part) for suffix, part in ((ENUM_VALUES_SUFFIX, first), ("", main), (VALIDATE_SUFFIX, validate))
            if part or suffix == ""]


_WIDENINGS = {("smallint", "integer"), ("smallint", "bigint"), ("integer", "bigint"), ("varchar", "text"),
              ("smallint", "numeric"), ("integer", "numeric"), ("bigint", "numeric")}


def _widening(old: Column, new: Column) -> bool:
    a, b = old.type, new.type
    if a.array != b.array:
        return False
    if (a.base, b.base) in _WIDENINGS:
        return True
    if a.base == b.base == "varchar":
        return (b.length or 0) >= (a.length or 0)
    if a.base == b.base == "numeric":
        if b.precision is None:
            return True
        if a.precision is None:
            return False
        return b.scale >= a.scale and (b.precision - b.scale) >= (a.precision - a.scale)
    return False


class Planner:
    def __init__(self, old: IR, new: IR, old_sql: str | None = None):
        self.old, self.new = old, new
        self.old_sql = old_sql  # the schema SQL recorded for `old`, when known
        self.steps: list[Step] = []
        self.old_tables = {(t.schema, t.name): t for t in old.tables}
        self.new_tables = {(t.schema, t.name): t for t in new.tables}
        self.renamed_tables: dict[tuple, tuple] = {}  # old key -> new key
        self.created: set[tuple] = set()

        self.enum_renames: dict[tuple, tuple] = {}  # old enum key -> new, for inline enums of renamed tables/columns
        self.recreated: set[tuple] = set()  # statement keys an enum swap already re-created

    def add(self, change: str, statements: list[str] | str, phase: int, unsafe: str | None = None,
            new_label: str | None = None) -> None:
        if isinstance(statements, str):
            statements = [statements]
        self.steps.append(Step(change, statements, phase, unsafe, len(self.steps), new_label))

    # -- plan -------------------------------------------------------------------------------
    def plan(self) -> list[Step]:
        self.match_tables()
        self.plan_enums()
        for key, t in self.new_tables.items():
            old_key = next((o for o, n in self.renamed_tables.items() if n == key), key)
            if old_key in self.old_tables:
                self.plan_table_changes(self.old_tables[old_key], t)
            else:
                self.created.add(key)
                self.add(f"create_table {t.schema}.{t.name}", sql.render_table(t), CREATE_TABLES)
                for fk in sql.render_foreign_keys(t):
                    self.add(f"foreign_key {t.schema}.{t.name}", fk, CONSTRAINTS)
                for ix in sql.render_indexes(t):
                    self.add(f"index {t.schema}.{t.name}", ix, CONSTRAINTS)
        for key, t in self.old_tables.items():
            if key not in self.new_tables and key not in self.renamed_tables:
                unsafe = "drops the table and all its rows"
                self.add(f"drop_table {t.schema}.{t.name}", f"drop table {t.qualified} cascade;", DROPS, unsafe)
        self.plan_statements()
        return sorted(self.steps, key=lambda s: (s.phase, s.order))

    def match_tables(self) -> None:
        for key, t in self.new_tables.items():
            if key in self.old_tables or not t.renamed_from:
                continue
            old_key = (t.schema, t.renamed_from)
            if old_key in self.old_tables and old_key not in self.new_tables:
                self.renamed_tables[old_key] = key
                self.add(f"rename_table {t.schema}.{t.renamed_from}->{t.name}",
                         f"alter table {qualified(*old_key)} rename to {quote_ident(t.name)};", RENAMES,
                         "API clients still using the old name break" if t.schema in self.new.exposed_schemas
                         else None)

    # -- enums -------------------------------------------------------------------------------
    def match_inline_enums(self) -> None:
        """An inline enum is named `<table>_<field>`: renaming the table or the field renames the type
        (a cast from the old type to a new one does not exist), keeping its values and every column."""
        old_enums = {(e.schema, e.name) for e in self.old.enums}
        new_enums = {(e.schema, e.name) for e in self.new.enums}
        for key, t in self.new_tables.items():
            old_key = next((o for o, n in self.renamed_tables.items() if n == key), key)
            before = self.old_tables.get(old_key)
            if before is None:
                continue
            old_cols = {c.name: c for c in before.columns}
            for c in t.columns:
                o = old_cols.get(c.renamed_from) if c.name not in old_cols and c.renamed_from else old_cols.get(c.name)
                if o is None or o.enum is None or c.enum is None or o.enum == c.enum:
                    continue
                inline_old = (before.schema, inline_enum_name(before.name, o.name))
                inline_new = (t.schema, inline_enum_name(t.name, c.name))
                if o.enum == inline_old and c.enum == inline_new and inline_old not in new_enums \
                        and inline_new not in old_enums and inline_old not in self.enum_renames:
                    self.enum_renames[inline_old] = inline_new
                    self.add(f"rename_enum {inline_old[0]}.{inline_old[1]}->{inline_new[1]}",
                             f"alter type {qualified(*inline_old)} rename to {quote_ident(inline_new[1])};", ENUMS)

    def plan_enums(self) -> None:
        self.match_inline_enums()
        old = {(e.schema, e.name): e for e in self.old.enums}
        for o, n in self.enum_renames.items():
            old[n] = old.pop(o)
        for e in self.new.enums:
            before = old.get((e.schema, e.name))
            if before is None:
                self.add(f"create_enum {e.schema}.{e.name}", sql.render_enum(e), ENUMS)
                continue
            self.plan_enum_values(before, e)
        new_keys = {(n.schema, n.name) for n in self.new.enums}
        for key, e in old.items():
            if key not in new_keys:
                self.add(f"drop_enum {e.schema}.{e.name}", f"drop type if exists {e.qualified};", DROPS)

    def plan_enum_values(self, old: Enum, new: Enum) -> None:
        renames = dict(new.renamed_values)  # new -> old
        current = [next((n for n, o in renames.items() if o == v), v) for v in old.values]
        for n, o in renames.items():
            if o in old.values and n not in old.values:
                self.add(f"rename_enum_value {new.schema}.{new.name}.{o}->{n}",
                         f"alter type {new.qualified} rename value {sql_string(o)} to {sql_string(n)};", ENUMS,
                         "API clients sending the old value break" if new.schema in self.new.exposed_schemas
                         else None)
        removed = [v for v in current if v not in new.values]
        if removed:
            self.plan_enum_swap(new, removed)
            return
        for i, value in enumerate(new.values):
            if value in current:
                continue
            after = next((v for v in reversed(new.values[:i]) if v in current), None)
            position = f" after {sql_string(after)}" if after else (
                f" before {sql_string(current[0])}" if current else "")
            self.add(f"add_enum_value {new.schema}.{new.name}.{value}",
                     f"alter type {new.qualified} add value if not exists {sql_string(value)}{position};", ENUMS,
                     new_label=value)
            current.insert(current.index(after) + 1 if after else 0, value)

    def plan_enum_swap(self, e: Enum, removed: list[str]) -> None:
        """Removing a value means a new type: check no row uses it, convert every column, swap names.

        Functions taking the type and policies naming it depend on it: they are dropped before the old
        type and created again (with their comments and grants) after the new one has its name."""
        users = [(t, c) for t in self.new.tables for c in t.columns if c.enum == (e.schema, e.name)]
        tmp = qualified(e.schema, e.name + "__new")
        values = ", ".join(sql_string(v) for v in removed)
        stmts = [f"create type {tmp} as enum ({', '.join(sql_string(v) for v in e.values)});"]
        for t, c in users:
            col = quote_ident(c.name)
            stmts.append(f"lock table {t.qualified} in access exclusive mode;")
            condition = (f"{col}::text[] && array[{values}]::text[]" if c.type.array else f"{col}::text in ({values})")
            stmts.append(rows_guard(t, condition, f"{t.schema}.{t.name}.{c.name}: % row(s) still hold the removed "
                                                  f"value(s) {', '.join(removed)}",
                                    "change or clear those values (or keep the values in the spec)"))
            suffix = "[]" if c.type.array else ""
            if c.default_sql:
                stmts.append(f"alter table {t.qualified} alter column {col} drop default;")
            stmts.append(f"alter table {t.qualified} alter column {col} type {tmp}{suffix} "
                         f"using {col}::text{suffix}::{tmp}{suffix};")
        drops, creates = self.enum_dependents(e)
        stmts.extend(drops)
        stmts.append(f"drop type {e.qualified};")
        stmts.append(f"alter type {tmp} rename to {quote_ident(e.name)};")
        for t, c in users:
            if c.default_sql:
                stmts.append(f"alter table {t.qualified} alter column {quote_ident(c.name)} set default {c.default_sql};")
        stmts.extend(creates)
        self.add(f"remove_enum_value {e.schema}.{e.name}.{','.join(removed)}", stmts, ENUM_SWAP,
                 "rows holding the removed value stop the migration (they are named); API clients may still send it")

    def _objects(self, which: str) -> list[Statement]:
        if not hasattr(self, "_cache"):
            old = objects_of(self.old_sql) if self.old_sql is not None else objects(self.old)
            self._cache = {"old": old, "new": objects(self.new)}
        return self._cache[which]

    def enum_dependents(self, e: Enum) -> tuple[list[str], list[str]]:
        """What must go before `drop type` and come back after: (drops, re-creations)."""
        names_type = re.compile(re.escape(e.qualified) + r"(?![A-Za-z0-9_$\"])")

        def signature_mentions(text: str) -> bool:  # arguments and result, not the body
            return bool(names_type.search(text.split("$", 1)[0].split(" as ", 1)[0]))

        def function_names(statements) -> set[str]:
            return {s.key[0] for s in statements if s.kind == "function" and signature_mentions(s.text)}

        old_functions, new_functions = function_names(self._objects("old")), function_names(self._objects("new"))
        calls = re.compile("|".join(re.escape(f) + r"\(" for f in sorted(old_functions | new_functions)) or "(?!)")

        def depends(s: Statement) -> bool:
            return bool(names_type.search(s.text) or calls.search(s.text))

        drops = []
        for s in self._objects("old"):
            if s.kind == "policy" and depends(s):
                drops.append(f"drop policy if exists {s.key[0]} on {self._new_name(s.key[1])};")
        for s in self._objects("old"):
            if s.kind == "function" and s.key[0] in old_functions:
                drops.append(f"drop function if exists {s.key[0]}({_argument_types(s.text)});")
        creates = []
        for s in self._objects("new"):
            key = (s.kind, *s.key)
            if s.kind == "function" and s.key[0] in new_functions or s.kind == "policy" and depends(s) \
                    or s.kind in ("comment", "statement") and calls.search(s.text):
                creates.append(s.text)
                self.recreated.add(key)
        return drops, creates

    # -- tables and columns ------------------------------------------------------------------
    def plan_table_changes(self, old: Table, new: Table) -> None:
        key = (new.schema, new.name)
        label = f"{new.schema}.{new.name}"
        old_cols = {c.name: c for c in old.columns}
        new_cols = {c.name: c for c in new.columns}
        renames: dict[str, str] = {}
        for c in new.columns:
            if c.name not in old_cols and c.renamed_from and c.renamed_from in old_cols \
                    and c.renamed_from not in new_cols:
                renames[c.renamed_from] = c.name
                self.add(f"rename_column {label}.{c.renamed_from}->{c.name}",
                         f"alter table {qualified(*key)} rename column {quote_ident(c.renamed_from)} to "
                         f"{quote_ident(c.name)};", RENAMES,
                         "API clients still using the old name break" if new.schema in self.new.exposed_schemas
                         else None)
        for c in new.columns:
            before_name = next((o for o, n in renames.items() if n == c.name), c.name)
            before = old_cols.get(before_name)
            if before is None:
                self.plan_add_column(new, c)
            else:
                self.plan_column_change(new, before, c)
        for c in old.columns:
            if c.name not in new_cols and c.name not in renames:
                self.add(f"drop_column {label}.{c.name}",
                         f"alter table {new.qualified} drop column {quote_ident(c.name)};", DROPS,
                         "drops the column and its data; API clients reading it break")
        self.plan_constraints(old, new, renames)

    def plan_add_column(self, t: Table, c: Column) -> None:
        parts = [quote_ident(c.name), c.sql_type]
        if c.identity:
            parts.append("generated always as identity")
        if c.default_sql is not None:
            parts.append(f"default {c.default_sql}")
        if not c.nullable:
            parts.append("not null")
        unsafe = None
        if not c.nullable and c.default_sql is None and not c.identity:
            unsafe = "adds a required column without a default: fails on a table that has rows"
        self.add(f"add_column {t.schema}.{t.name}.{c.name}",
                 f"alter table {t.qualified} add column {' '.join(parts)};", COLUMNS, unsafe)

    def plan_column_change(self, t: Table, old: Column, new: Column) -> None:
        label = f"{t.schema}.{t.name}.{new.name}"
        col = f"alter table {t.qualified} alter column {quote_ident(new.name)}"
        enum_swapped = old.enum is not None and self.enum_renames.get(old.enum, old.enum) == new.enum
        if old.sql_type != new.sql_type and not enum_swapped:
            widening = _widening(old, new)
            stmts = [] if widening else [f"lock table {t.qualified} in access exclusive mode;",
                                         conversion_guard(t, old, new)]
            if old.default_sql is not None:
                stmts.append(f"{col} drop default;")
            stmts.append(f"{col} type {new.sql_type} using {quote_ident(new.name)}::{new.sql_type};")
            if new.default_sql is not None:
                stmts.append(f"{col} set default {new.default_sql};")
            self.add(f"{'widen_type' if widening else 'change_type'} {label}", stmts, COLUMNS,
                     None if widening else f"changes {old.sql_type} to {new.sql_type}: rows whose values do not "
                                           "convert, or would be cut or rounded, stop the migration (they are "
                                           "named), and API clients see a new type")
        elif old.default_sql != new.default_sql:
            self.add(f"set_default {label}",
                     f"{col} set default {new.default_sql};" if new.default_sql else f"{col} drop default;", COLUMNS)
        if old.nullable and not new.nullable:
            if new.default_sql is not None:
                self.add(f"set_not_null {label}", [
                    f"update {t.qualified} set {quote_ident(new.name)} = {new.default_sql} "
                    f"where {quote_ident(new.name)} is null;", f"{col} set not null;"], COLUMNS)
            else:
                self.add(f"set_not_null {label}", f"{col} set not null;", COLUMNS,
                         "sets NOT NULL without a default to backfill: fails if any row is null")
        elif not old.nullable and new.nullable:
            self.add(f"drop_not_null {label}", f"{col} drop not null;", COLUMNS)

    def plan_constraints(self, old: Table, new: Table, renames: dict[str, str]) -> None:
        label = f"{new.schema}.{new.name}"
        rename_table = old.name != new.name

        def cols(columns):
            return tuple(renames.get(c, c) for c in columns)

        def expr(text):
            for a, b in renames.items():
                text = re.sub(rf"\b{re.escape(a)}\b", b, text)
            return text

        def reconcile(kind, olds: dict, news: dict, drop_sql, create_sql, rename_sql, unsafe_new=None):
            phase = KEYS if kind == "unique" else CONSTRAINTS
            by_sig_old = {sig: name for name, sig in olds.items()}
            for name, sig in news.items():
                if name in olds and olds[name] == sig:
                    continue
                if sig in by_sig_old and by_sig_old[sig] not in news:
                    self.add(f"rename_{kind} {label}.{by_sig_old[sig]}->{name}", rename_sql(by_sig_old[sig], name),
                             CONSTRAINTS)
                    continue
                if name in olds:
                    self.add(f"drop_{kind} {label}.{name}", drop_sql(name), DROP_DEPENDENTS)
                self.add(f"{kind} {label}.{name}", create_sql(name), phase,
                         unsafe_new(name) if unsafe_new else None)
            renamed_away = {by_sig_old[s] for n, s in news.items() if s in by_sig_old and by_sig_old[s] not in news}
            for name in olds:
                if name not in news and name not in renamed_away:
                    self.add(f"drop_{kind} {label}.{name}", drop_sql(name), DROP_DEPENDENTS)

        tq = new.qualified
        constraint_rename = (lambda a, b: f"alter table {tq} rename constraint {quote_ident(a)} to {quote_ident(b)};")
        drop_constraint = (lambda n: f"alter table {tq} drop constraint if exists {quote_ident(n)};")
        # primary key: renamed with the table; rebuilt when its columns change (e.g. to a composite key). The
        # old key is gone already if its column was dropped; a foreign key on it was dropped before (KEYS
        # run after DROP_DEPENDENTS), and the new one is in place before any reference to it (CONSTRAINTS).
        if cols(old.primary_key) != new.primary_key:
            self.add(f"primary_key {label}", [drop_constraint(old.pk_name),
                     f"alter table {tq} add constraint {quote_ident(new.pk_name)} primary key "
                     f"({sql.cols(new.primary_key)});"], KEYS,
                     "rebuilds the primary key under a lock that blocks writes, and fails on duplicate or null keys")
        elif rename_table and old.pk_name != new.pk_name:
            self.add(f"rename_constraint {label}.{old.pk_name}->{new.pk_name}",
                     constraint_rename(old.pk_name, new.pk_name), CONSTRAINTS)
        # nulls not distinct is part of the signature: changing it drops and adds the constraint
        uniques_old = {u.name: (cols(u.columns), u.nulls_not_distinct) for u in old.uniques}
        uniques_new = {u.name: (u.columns, u.nulls_not_distinct) for u in new.uniques}
        by_name = {u.name: u for u in new.uniques}
        reconcile("unique", uniques_old, uniques_new, drop_constraint,
                  lambda n: f"alter table {tq} add constraint {quote_ident(n)} {sql.unique_clause(by_name[n])};",
                  constraint_rename,
                  lambda n: "builds a unique index under a lock that blocks writes" + (
                      "" if set(new.primary_key) <= set(by_name[n].columns) else ", and fails on duplicate rows"))
        checks_old = {c.name: expr(c.expression) for c in old.checks}
        checks_new = {c.name: c.expression for c in new.checks}
        def validate(kind, n, before=()):
            self.add(f"validate_{kind} {label}.{n}", [*before, f"alter table {tq} validate constraint {quote_ident(n)};"],
                     VALIDATE)

        check_by = {c.name: c for c in new.checks}

        def add_check(n):
            what = f"{label}.{check_by[n].column}" if check_by[n].column else label
            validate("check", n, [rows_guard(new, f"({checks_new[n]}) is false",
                                             f"{what}: % row(s) break the check {n} ({checks_new[n]})",
                                             "fix those rows")])
            return f"alter table {tq} add constraint {quote_ident(n)} check ({checks_new[n]}) not valid;"

        reconcile("check", checks_old, checks_new, drop_constraint, add_check, constraint_rename)
        fks_old = {f.name: (cols(f.columns), self._ref(f.ref_schema, f.ref_table), f.ref_columns, f.on_delete)
                   for f in old.foreign_keys}
        fks_new = {f.name: (f.columns, (f.ref_schema, f.ref_table), f.ref_columns, f.on_delete) for f in new.foreign_keys}
        fk_by = {f.name: f for f in new.foreign_keys}
        def add_fk(n):
            fk = fk_by[n]
            points = " and ".join(f"r.{quote_ident(a)} = c.{quote_ident(b)}" for a, b in zip(fk.ref_columns, fk.columns))
            dangling = rows_guard(new, " and ".join(f"c.{quote_ident(c)} is not null" for c in fk.columns)
                                  + f" and not exists (select 1 from {fk.ref_qualified} r where {points})",
                                  f"{label}.{', '.join(fk.reference_columns)}: % row(s) point at no row of "
                                  f"{fk.ref_schema}.{fk.ref_table}",
                                  f"clear or fix them (the foreign key {n} refuses them)")
            validate("foreign_key", n, ([self.other_org_check(new, fk)] if fk.same_org else []) + [dangling])
            return f"{sql.render_foreign_key(new, fk_by[n])} not valid;"

        reconcile("foreign_key", fks_old, fks_new, drop_constraint, add_fk, constraint_rename)
        ix_old = {i.name: (cols(i.columns), i.unique, expr(i.where or ""), i.method) for i in old.indexes}
        ix_new = {i.name: (i.columns, i.unique, i.where or "", i.method) for i in new.indexes}
        ix_by = {i.name: i for i in new.indexes}
        reconcile("index", ix_old, ix_new,
                  lambda n: f"drop index if exists {qualified(new.schema, n)};",
                  lambda n: sql.render_index(new, ix_by[n]),
                  lambda a, b: f"alter index {qualified(new.schema, a)} rename to {quote_ident(b)};",
                  lambda n: "builds the index under a lock that blocks writes (migrations run in a transaction, "
                            "so it cannot be concurrent)")

    @staticmethod
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

    def _ref(self, schema: str, table: str) -> tuple:
        return self.renamed_tables.get((schema, table), (schema, table))

    # -- everything else, statement by statement ---------------------------------------------
    def plan_statements(self) -> None:
        old_objects = objects_of(self.old_sql) if self.old_sql is not None else objects(self.old)
        old = [s for s in old_objects if s.kind not in STRUCTURAL]
        new = [s for s in objects(self.new) if s.kind not in STRUCTURAL]
        old_by = _by_key(old, self._old_key)
        new_by = _by_key(new, lambda s: (s.kind, *s.key))
        for key, stmts in new_by.items():
            before = old_by.get(key)
            texts = [s.text for s in stmts]
            if before is not None and [s.text for s in before] == texts or key in self.recreated:
                continue
            kind = stmts[0].kind
            if kind == "table_grant":
                table = key[1]
                self.add(f"grants {table}", [f"revoke all on {table} from anon, authenticated;", *texts], GRANTS)
            elif kind == "trigger":
                name, table = key[1], key[2]
                drop = [f"drop trigger if exists {name} on {table};"] if before is not None else []
                self.add(f"trigger {table}.{name}", drop + texts, TRIGGERS)
            elif kind == "policy":
                name, table = key[1], key[2]
                drop = [f"drop policy if exists {name} on {table};"] if before is not None else []
                self.add(f"policy {table}.{name}", drop + texts, SECURITY)
            elif kind == "function":
                self.add(f"function {key[1]}", texts, FUNCTIONS)
            elif kind == "view":
                # a dropped view loses its comment and privileges: re-apply them, changed or not
                view = key[1]
                kept = [s.text for k, ss in new_by.items() if k[0] in ("comment", "table_grant") and k[1] == view
                        for s in ss]
                self.add(f"view {view}", [f"drop view if exists {view};", *texts, *kept], SECURITY)
            elif kind == "comment":
                self.add(f"comment {key[1]}", texts, COMMENTS)
            elif kind == "rls":
                self.add(f"rls {key[1]}", texts, SECURITY)
            else:
                self.add("statement", texts, PRE if texts[0].startswith("create schema") else GRANTS)
        for key, stmts in old_by.items():
            if key in new_by:
                continue
            kind = stmts[0].kind
            # Dependents are dropped before renames run, so they are named by the table's old name.
            if kind == "policy" and self._live(key[2]):
                old_table = stmts[0].key[1]
                self.add(f"drop_policy {key[2]}.{key[1]}", f"drop policy if exists {key[1]} on {old_table};",
                         DROP_DEPENDENTS)
            elif kind == "trigger" and self._live(key[2]):
                old_table = stmts[0].key[1]
                self.add(f"drop_trigger {key[2]}.{key[1]}", f"drop trigger if exists {key[1]} on {old_table};",
                         DROP_DEPENDENTS)
            elif kind == "view":
                self.add(f"drop_view {key[1]}", f"drop view if exists {key[1]};", DROP_DEPENDENTS)
            elif kind == "table_grant" and self._live(key[1]):
                self.add(f"grants {key[1]}", f"revoke all on {key[1]} from anon, authenticated;", GRANTS)
            elif kind == "statement" and stmts[0].text.startswith("grant usage on schema "):
                schema = stmts[0].text.split()[4]
                self.add(f"revoke_usage {schema}", f"revoke usage on schema {schema} from anon, authenticated;",
                         GRANTS)
        for schema in sorted({k[0] for k in self.created}):  # sorted: same bytes whatever the hash seed
            self.add(f"service_role_grants {schema}", sql.service_role_grants(schema), GRANTS)

    def _old_key(self, s: Statement) -> tuple:
        """Keys of the old IR, translated through table renames so they meet the new ones."""
        if s.kind in ("trigger", "policy"):
            return (s.kind, s.key[0], self._new_name(s.key[1]))
        if s.kind in ("table_grant", "rls"):
            return (s.kind, self._new_name(s.key[0]))
        return (s.kind, *s.key)

    def _new_name(self, table: str) -> str:
        schema, _, name = table.partition(".")
        new = self.renamed_tables.get((schema, name))
        return f"{new[0]}.{new[1]}" if new else table

    def _live(self, table: str) -> bool:
        schema, _, name = table.partition(".")
        return (schema, name) in self.new_tables


def _argument_types(create_function: str) -> str:
    """The argument list of `create or replace function f(a t, b u default x)` without defaults, for
    `drop function f(a t, b u)`."""
    head = create_function.split("(", 1)[1]
    depth, args, current = 0, [], ""
    for ch in head:
        if ch == "(":
            depth += 1
        elif ch == ")":
            if depth == 0:
                break
            depth -= 1
        if ch == "," and depth == 0:
            args.append(current)
            current = ""
        else:
            current += ch
    args.append(current)
    return ", ".join(re.split(r"\s+(?:default\b|=)", a.strip(), maxsplit=1)[0] for a in args if a.strip())


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


def _by_key(statements: list[Statement], key_of) -> dict[tuple, list[Statement]]:
    out: dict[tuple, list[Statement]] = {}
    for s in statements:
        out.setdefault(key_of(s), []).append(s)
    return out


def plan_migration(old: IR, new: IR, old_sql: str | None = None) -> list[Step]:
    """Steps from `old` to `new`. With `old_sql` (the schema SQL recorded with the last migration), what a
    newer compiler writes differently for the same spec becomes steps too."""
    return Planner(old, new, old_sql).plan()
