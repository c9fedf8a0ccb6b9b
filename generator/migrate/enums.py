"""Planning enums: new types and values, renamed values, inline enums renamed with their table or column,
and removed values (a new type, its columns converted, its dependents dropped and created again)."""
from __future__ import annotations

import re

from generator.emit import sql
from generator.emit.sqlobjects import SqlObject
from generator.ir import Enum
from generator.migrate.guards import rows_guard
from generator.migrate.steps import DROPS, ENUM_SWAP, ENUMS
from generator.names import inline_enum_name, qualified, quote_ident, sql_string


class EnumPlanning:
    """The enum part of the Planner (generator/migrate/plan.py)."""

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

    def enum_dependents(self, e: Enum) -> tuple[list[str], list[str]]:
        """What must go before `drop type` and come back after: (drops, re-creations).

        Functions whose arguments or result name the type, and policies, comments and grants that name it
        or call such a function. Only this search reads statement texts: it looks for a name in them."""
        names_type = re.compile(re.escape(e.qualified) + r"(?![A-Za-z0-9_$\"])")

        def function_names(objects: list[SqlObject]) -> set[str]:  # arguments and result, not the body
            return {o.key[0] for o in objects if o.kind == "function"
                    and (names_type.search(o.key[1]) or names_type.search(o.key[2]))}

        old_objects, new_objects = self.old_objects(), self.new_objects()
        old_functions, new_functions = function_names(old_objects), function_names(new_objects)
        calls = re.compile("|".join(re.escape(f) + r"\(" for f in sorted(old_functions | new_functions)) or "(?!)")

        def depends(o: SqlObject) -> bool:
            return bool(names_type.search(o.text) or calls.search(o.text))

        drops = [f"drop policy if exists {o.key[0]} on {self.table_name(o)};"
                 for o in old_objects if o.kind == "policy" and depends(o)]
        drops += [f"drop function if exists {o.key[0]}({o.key[1]});"
                  for o in old_objects if o.kind == "function" and o.key[0] in old_functions]
        creates = []
        for o in new_objects:
            if o.kind == "function" and o.key[0] in new_functions or o.kind == "policy" and depends(o) \
                    or o.kind in ("comment", "statement") and calls.search(o.text):
                creates.append(o.text)
                self.recreated.add((o.kind, *o.key))
        return drops, creates
