"""Planning everything the baseline writes besides tables and enums: functions, views, triggers, policies,
comments, row level security and grants, compared object by object by (kind, key), and re-emitted where
their text differs. The objects come from the emitters (generator/emit/sqlobjects.py); the old ones
from the snapshot, which recorded them."""
from __future__ import annotations

from generator.emit import sql
from generator.emit.sqlobjects import STRUCTURAL, SqlObject
from generator.migrate.steps import (COMMENTS, DROP_DEPENDENTS, FUNCTIONS, GRANTS, PRE, SECURITY,
                                     TRIGGERS)
from generator.names import qualified

_ON_TABLE = ("trigger", "policy")  # keyed (name, table)
_OF_TABLE = ("table_grant", "rls")  # keyed (table,)


class ObjectPlanning:
    """The object part of the Planner (generator/migrate/plan.py)."""

    def plan_objects(self) -> None:
        old_by = _by_key([o for o in self.old_objects() if o.kind not in STRUCTURAL], self.old_key)
        new_by = _by_key([o for o in self.new_objects() if o.kind not in STRUCTURAL], lambda o: (o.kind, *o.key))
        for key, objects in new_by.items():
            before = old_by.get(key)
            if before is not None and [o.text for o in before] == [o.text for o in objects] or key in self.recreated:
                continue
            self.plan_object(key, objects, before is not None, new_by)
        for key, objects in old_by.items():
            if key not in new_by:
                self.plan_removed_object(key, objects[0])
        for schema in sorted({k[0] for k in self.created}):  # sorted: same bytes whatever the hash seed
            self.add(f"service_role_grants {schema}", sql.service_role_grants(schema), GRANTS)

    def plan_object(self, key: tuple, objects: list[SqlObject], existed: bool, new_by: dict) -> None:
        """(Re-)create a new or changed object."""
        kind, texts = key[0], [o.text for o in objects]
        if kind == "table_grant":
            self.add(f"grants {key[1]}", [f"revoke all on {key[1]} from anon, authenticated;", *texts], GRANTS)
        elif kind == "trigger":
            name, table = key[1], key[2]
            drop = [f"drop trigger if exists {name} on {table};"] if existed else []
            self.add(f"trigger {table}.{name}", drop + texts, TRIGGERS)
        elif kind == "policy":
            name, table = key[1], key[2]
            drop = [f"drop policy if exists {name} on {table};"] if existed else []
            self.add(f"policy {table}.{name}", drop + texts, SECURITY)
        elif kind == "function":
            self.add(f"function {key[1]}", texts, FUNCTIONS)
        elif kind == "view":
            # a dropped view loses its comment and privileges: re-apply them, changed or not
            view = key[1]
            kept = [o.text for k, os in new_by.items() if k[0] in ("comment", "table_grant") and k[1] == view
                    for o in os]
            self.add(f"view {view}", [f"drop view if exists {view};", *texts, *kept], SECURITY)
        elif kind == "comment":
            self.add(f"comment {key[1]}", texts, COMMENTS)
        elif kind == "rls":
            self.add(f"rls {key[1]}", texts, SECURITY)
        else:  # schema, schema_usage, statement
            self.add("statement", texts, PRE if kind == "schema" else GRANTS)

    def plan_removed_object(self, key: tuple, old: SqlObject) -> None:
        """Drop what the new baseline no longer has (functions stay: nothing refers to them any more)."""
        kind = key[0]
        # Dependents are dropped before renames run, so they are named by the table's old name.
        if kind == "policy" and self.live(old):
            self.add(f"drop_policy {key[2]}.{key[1]}", f"drop policy if exists {key[1]} on {old.key[1]};",
                     DROP_DEPENDENTS)
        elif kind == "trigger" and self.live(old):
            self.add(f"drop_trigger {key[2]}.{key[1]}", f"drop trigger if exists {key[1]} on {old.key[1]};",
                     DROP_DEPENDENTS)
        elif kind == "view":
            self.add(f"drop_view {key[1]}", f"drop view if exists {key[1]};", DROP_DEPENDENTS)
        elif kind == "table_grant" and self.live(old):
            self.add(f"grants {key[1]}", f"revoke all on {key[1]} from anon, authenticated;", GRANTS)
        elif kind == "schema_usage":
            schema = key[1]
            self.add(f"revoke_usage {schema}", f"revoke usage on schema {schema} from anon, authenticated;", GRANTS)

    def old_key(self, o: SqlObject) -> tuple:
        """Keys of the old IR, translated through table renames so they meet the new ones."""
        if o.kind in _ON_TABLE:
            return (o.kind, o.key[0], self.table_name(o))
        if o.kind in _OF_TABLE:
            return (o.kind, self.table_name(o))
        return (o.kind, *o.key)

    def table_name(self, o: SqlObject) -> str:
        """The (qualified) name of the table an old object belongs to, after this migration's renames."""
        new = self.renamed_tables.get(o.table)
        return qualified(*new) if new else o.key[1 if o.kind in _ON_TABLE else 0]

    def live(self, o: SqlObject) -> bool:
        """Whether the table an old object belongs to is still there (its own drop takes the object)."""
        return self._ref(*o.table) in self.new_tables


def _by_key(objects: list[SqlObject], key_of) -> dict[tuple, list[SqlObject]]:
    out: dict[tuple, list[SqlObject]] = {}
    for o in objects:
        out.setdefault(key_of(o), []).append(o)
    return out
