"""The SQL baseline as keyed objects: what each statement creates, under which name, in which section.

The emitters (sql.py, policies.py, health.py) build these; the baseline text is their join, and the
migration planner compares two lists of them by (kind, key) without reading the SQL back.

Kinds and keys (names as the SQL writes them, quoted where needed):
  schema        (schema,)                      create schema if not exists
  schema_usage  (schema, roles)                grant usage on schema ... to roles
  enum          (type,)                        table (table,)    fk (table, constraint)    index (index,)
  function      (name, argument types, result) create or replace function
  view          (view,)
  trigger       (trigger, table)               create [constraint] trigger
  policy        (policy, table)
  comment       (target,)                      comment on table/column/function/view target
  rls           (table,)                       alter table ... enable row level security
  table_grant   (table,)                       grant/revoke on a table or view (several share a key)
  statement     (text,)                        anything else (grants on functions and schemas' contents)
`table` is the (schema, name) a trigger, policy, rls or table grant belongs to, unquoted, so a table
rename can be followed without parsing the name back.
"""
from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

from generator.names import qualified, quote_ident

_qualified = functools.lru_cache(maxsize=4096)(qualified)  # a table's name keys several objects

STRUCTURAL = frozenset({"enum", "table", "fk", "index"})  # the planner diffs these from the IR itself


@dataclass(frozen=True, slots=True)  # slots: half the cost of making one (there are ~20 per table)
class SqlObject:
    kind: str
    key: tuple
    phase: str  # the baseline section it is written in (the title of its `-- ` header)
    text: str
    table: tuple[str, str] | None = None


def script(header: str, objects: list[SqlObject]) -> str:
    """The baseline text: the header, then each section's title and statements, a blank line between."""
    parts = [header]
    for phase, group in itertools.groupby(objects, key=lambda o: o.phase):
        parts.append(f"-- {phase}\n" + "\n".join(o.text for o in group) + "\n")
    return "\n".join(parts)


def from_doc(doc: dict) -> SqlObject:
    """An object as a snapshot recorded it (JSON lists back to tuples)."""
    table = doc.get("table")
    return SqlObject(doc["kind"], tuple(doc["key"]), doc["phase"], doc["text"], tuple(table) if table else None)


def section(title: str, objects: list[SqlObject]) -> list[SqlObject]:
    """The objects, placed in the baseline section `title`."""
    return [SqlObject(o.kind, o.key, title, o.text, o.table) for o in objects]


# Builders: the emitters make objects with these; `section` gives them their phase.
def obj(kind: str, key: tuple, text: str, table: tuple[str, str] | None = None) -> SqlObject:
    return SqlObject(kind, key, "", text, table)


def statement(text: str) -> SqlObject:
    return SqlObject("statement", (text,), "", text)


def schema(name: str) -> SqlObject:
    return SqlObject("schema", (quote_ident(name),), "", f"create schema if not exists {quote_ident(name)};")


def schema_usage(name: str, roles: str) -> SqlObject:
    return SqlObject("schema_usage", (quote_ident(name), roles), "",
                     f"grant usage on schema {quote_ident(name)} to {roles};")


def function(name: str, arguments: str, result: str, text: str) -> SqlObject:
    """`arguments` without defaults, as `drop function name(arguments)` takes them."""
    return SqlObject("function", (name, arguments, result), "", text)


def trigger(name: str, table: tuple[str, str], text: str) -> SqlObject:
    return SqlObject("trigger", (name, _qualified(*table)), "", text, table)


def policy(name: str, table: tuple[str, str], text: str) -> SqlObject:
    return SqlObject("policy", (name, _qualified(*table)), "", text, table)


def table_grant(table: tuple[str, str], text: str) -> SqlObject:
    return SqlObject("table_grant", (_qualified(*table),), "", text, table)


def comment(target: str, text: str) -> SqlObject:
    return SqlObject("comment", (target,), "", text)
