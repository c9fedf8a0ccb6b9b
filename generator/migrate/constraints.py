"""Planning a table's keys, checks, foreign keys and indexes: each compared by name and signature, so a
constraint whose signature is unchanged under a new name is renamed rather than rebuilt."""
from __future__ import annotations

import re
from dataclasses import dataclass

from generator.emit import sql
from generator.ir import Table
from generator.migrate.guards import other_org_check, rows_guard
from generator.migrate.steps import CONSTRAINTS, DROP_DEPENDENTS, KEYS, VALIDATE
from generator.names import qualified, quote_ident


@dataclass
class TableChange:
    """One table before and after, with its column renames (old name -> new)."""

    old: Table
    new: Table
    renames: dict[str, str]

    @property
    def label(self) -> str:
        return f"{self.new.schema}.{self.new.name}"

    def cols(self, columns) -> tuple:
        return tuple(self.renames.get(c, c) for c in columns)

    def expr(self, text: str) -> str:
        """An old expression (a check, an index's where) with renamed columns under their new names."""
        for a, b in self.renames.items():
            text = re.sub(rf"\b{re.escape(a)}\b", b, text)
        return text

    def drop_constraint(self, name: str) -> str:
        return f"alter table {self.new.qualified} drop constraint if exists {quote_ident(name)};"

    def rename_constraint(self, a: str, b: str) -> str:
        return f"alter table {self.new.qualified} rename constraint {quote_ident(a)} to {quote_ident(b)};"


class ConstraintPlanning:
    """The constraint part of the Planner (generator/migrate/plan.py)."""

    def plan_constraints(self, old: Table, new: Table, renames: dict[str, str]) -> None:
        change = TableChange(old, new, renames)
        self.plan_primary_key(change)
        self.plan_uniques(change)
        self.plan_checks(change)
        self.plan_foreign_keys(change)
        self.plan_indexes(change)

    def reconcile(self, change: TableChange, kind: str, olds: dict, news: dict, drop_sql, create_sql, rename_sql,
                  unsafe_new=None) -> None:
        """Constraints of one kind by name -> signature: same name and signature is kept; a signature under a
        new name whose old name is gone is renamed; everything else is dropped and created."""
        label = change.label
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
            self.add(f"{kind} {label}.{name}", create_sql(name), phase, unsafe_new(name) if unsafe_new else None)
        renamed_away = {by_sig_old[s] for n, s in news.items() if s in by_sig_old and by_sig_old[s] not in news}
        for name in olds:
            if name not in news and name not in renamed_away:
                self.add(f"drop_{kind} {label}.{name}", drop_sql(name), DROP_DEPENDENTS)

    def plan_primary_key(self, c: TableChange) -> None:
        # primary key: renamed with the table; rebuilt when its columns change (e.g. to a composite key). The
        # old key is gone already if its column was dropped; a foreign key on it was dropped before (KEYS
        # run after DROP_DEPENDENTS), and the new one is in place before any reference to it (CONSTRAINTS).
        old, new = c.old, c.new
        if c.cols(old.primary_key) != new.primary_key:
            self.add(f"primary_key {c.label}", [c.drop_constraint(old.pk_name),
                     f"alter table {new.qualified} add constraint {quote_ident(new.pk_name)} primary key "
                     f"({sql.cols(new.primary_key)});"], KEYS,
                     "rebuilds the primary key under a lock that blocks writes, and fails on duplicate or null keys")
        elif old.name != new.name and old.pk_name != new.pk_name:
            self.add(f"rename_constraint {c.label}.{old.pk_name}->{new.pk_name}",
                     c.rename_constraint(old.pk_name, new.pk_name), CONSTRAINTS)

    def plan_uniques(self, c: TableChange) -> None:
        # nulls not distinct is part of the signature: changing it drops and adds the constraint
        new = c.new
        olds = {u.name: (c.cols(u.columns), u.nulls_not_distinct) for u in c.old.uniques}
        news = {u.name: (u.columns, u.nulls_not_distinct) for u in new.uniques}
        by_name = {u.name: u for u in new.uniques}
        self.reconcile(c, "unique", olds, news, c.drop_constraint,
                       lambda n: f"alter table {new.qualified} add constraint {quote_ident(n)} "
                                 f"{sql.unique_clause(by_name[n])};",
                       c.rename_constraint,
                       lambda n: "builds a unique index under a lock that blocks writes" + (
                           "" if set(new.primary_key) <= set(by_name[n].columns) else ", and fails on duplicate rows"))

    def validate(self, c: TableChange, kind: str, name: str, before=()) -> None:
        self.add(f"validate_{kind} {c.label}.{name}",
                 [*before, f"alter table {c.new.qualified} validate constraint {quote_ident(name)};"], VALIDATE)

    def plan_checks(self, c: TableChange) -> None:
        new = c.new
        olds = {ch.name: c.expr(ch.expression) for ch in c.old.checks}
        news = {ch.name: ch.expression for ch in new.checks}
        by_name = {ch.name: ch for ch in new.checks}

        def add_check(n):
            what = f"{c.label}.{by_name[n].column}" if by_name[n].column else c.label
            self.validate(c, "check", n, [rows_guard(new, f"({news[n]}) is false",
                                                     f"{what}: % row(s) break the check {n} ({news[n]})",
                                                     "fix those rows")])
            return f"alter table {new.qualified} add constraint {quote_ident(n)} check ({news[n]}) not valid;"

        self.reconcile(c, "check", olds, news, c.drop_constraint, add_check, c.rename_constraint)

    def plan_foreign_keys(self, c: TableChange) -> None:
        new = c.new
        olds = {f.name: (c.cols(f.columns), self._ref(f.ref_schema, f.ref_table), f.ref_columns, f.on_delete)
                for f in c.old.foreign_keys}
        news = {f.name: (f.columns, (f.ref_schema, f.ref_table), f.ref_columns, f.on_delete) for f in new.foreign_keys}
        by_name = {f.name: f for f in new.foreign_keys}

        def add_fk(n):
            fk = by_name[n]
            points = " and ".join(f"r.{quote_ident(a)} = c.{quote_ident(b)}" for a, b in zip(fk.ref_columns, fk.columns))
            dangling = rows_guard(new, " and ".join(f"c.{quote_ident(col)} is not null" for col in fk.columns)
                                  + f" and not exists (select 1 from {fk.ref_qualified} r where {points})",
                                  f"{c.label}.{', '.join(fk.reference_columns)}: % row(s) point at no row of "
                                  f"{fk.ref_schema}.{fk.ref_table}",
                                  f"clear or fix them (the foreign key {n} refuses them)")
            self.validate(c, "foreign_key", n, ([other_org_check(new, fk)] if fk.same_org else []) + [dangling])
            return f"{sql.render_foreign_key(new, fk)} not valid;"

        self.reconcile(c, "foreign_key", olds, news, c.drop_constraint, add_fk, c.rename_constraint)

    def plan_indexes(self, c: TableChange) -> None:
        new = c.new
        olds = {i.name: (c.cols(i.columns), i.unique, c.expr(i.where or ""), i.method) for i in c.old.indexes}
        news = {i.name: (i.columns, i.unique, i.where or "", i.method) for i in new.indexes}
        by_name = {i.name: i for i in new.indexes}
        self.reconcile(c, "index", olds, news,
                       lambda n: f"drop index if exists {qualified(new.schema, n)};",
                       lambda n: sql.render_index(new, by_name[n]),
                       lambda a, b: f"alter index {qualified(new.schema, a)} rename to {quote_ident(b)};",
                       lambda n: "builds the index under a lock that blocks writes (migrations run in a "
                                 "transaction, so it cannot be concurrent)")
