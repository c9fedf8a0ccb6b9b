"""Plan the next migration: the steps that take a database from one IR to the next, in dependency order.

Tables, columns, constraints, indexes and enums are compared structurally, with renames taken from
`renamed_from`. Everything else the baseline writes (functions, triggers, policies, grants, comments)
is compared object by object, and re-emitted where it differs. Each step says whether it is
unsafe and why; the lint decides what needs an acknowledgement.

The planner is split by concern: enums.py, constraints.py, objects.py (what is not a table), guards.py
(the `do` blocks that check rows first) and steps.py (phases, and the files steps go to).
"""
from __future__ import annotations

from generator.emit import sql
from generator.emit.sqlobjects import SqlObject
from generator.ir import IR, Column, Table
from generator.migrate import legacy_snapshot
from generator.migrate.constraints import ConstraintPlanning
from generator.migrate.enums import EnumPlanning
from generator.migrate.guards import conversion_guard
from generator.migrate.objects import ObjectPlanning
from generator.migrate.steps import COLUMNS, CONSTRAINTS, CREATE_TABLES, DROPS, RENAMES, Step
# `specgen migrate` imports these from here
from generator.migrate.steps import ENUM_VALUES_SUFFIX, VALIDATE_SUFFIX, split_files  # noqa: F401
from generator.names import qualified, quote_ident

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


class Planner(EnumPlanning, ConstraintPlanning, ObjectPlanning):
    def __init__(self, old: IR, new: IR, old_objects: list[SqlObject] | None = None):
        self.old, self.new = old, new
        self._old_objects = old_objects  # the objects recorded with `old`, when known
        self._new_objects: list[SqlObject] | None = None
        self.steps: list[Step] = []
        self.old_tables = {(t.schema, t.name): t for t in old.tables}
        self.new_tables = {(t.schema, t.name): t for t in new.tables}
        self.renamed_tables: dict[tuple, tuple] = {}  # old key -> new key
        self.created: set[tuple] = set()

        self.enum_renames: dict[tuple, tuple] = {}  # old enum key -> new, for inline enums of renamed tables/columns
        self.recreated: set[tuple] = set()  # object keys an enum swap already re-created

    def old_objects(self) -> list[SqlObject]:
        if self._old_objects is None:
            self._old_objects = sql.objects(self.old)
        return self._old_objects

    def new_objects(self) -> list[SqlObject]:
        if self._new_objects is None:
            self._new_objects = sql.objects(self.new)
        return self._new_objects

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
        self.plan_objects()
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

    def _ref(self, schema: str, table: str) -> tuple:
        return self.renamed_tables.get((schema, table), (schema, table))


def plan_migration(old: IR, new: IR, old_objects: list[SqlObject] | str | None = None) -> list[Step]:
    """Steps from `old` to `new`. With `old_objects` (the schema objects recorded with the last migration;
    the schema SQL text of an old snapshot is read through legacy_snapshot), what a newer compiler writes
    differently for the same spec becomes steps too."""
    if isinstance(old_objects, str):
        old_objects = legacy_snapshot.objects_of(old_objects)
    return Planner(old, new, old_objects).plan()
