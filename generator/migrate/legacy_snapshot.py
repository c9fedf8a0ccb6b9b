"""Snapshots of the first format recorded the schema as SQL text (`schema_sql`): read them as objects.

Newer snapshots record the SqlObjects themselves (generator/emit/sqlobjects.py), so this is the one place
that reads SQL back: the text is split into statements, each is classified by what it creates and keyed
as the emitters key it now, so planning from an old snapshot and from a new one gives the same steps.
Only SQL that specgen wrote is read here, never hand-written SQL.
"""
from __future__ import annotations

import re

from generator.emit.sqlobjects import SqlObject

_RULES = [
    ("function", re.compile(r"^create or replace function ([^(]+)\(")),
    ("view", re.compile(r"^create or replace view (\S+) ")),
    ("trigger", re.compile(r"^create (?:constraint )?trigger (\S+)\s.*?\son (\S+)\s", re.S)),
    ("policy", re.compile(r"^create policy (\S+) on (\S+) ")),
    ("comment", re.compile(r"^comment on (?:table|column|function|view) (.+?) is ", re.S)),
    ("rls", re.compile(r"^alter table (\S+) enable row level security;")),
    ("table_grant", re.compile(r"^(?:grant|revoke) .*? on (?!schema |all |function )(\S+) (?:to|from) ", re.S)),
    ("enum", re.compile(r"^create type (\S+) as enum")),
    ("table", re.compile(r"^create table (\S+) \(")),
    ("fk", re.compile(r"^alter table (\S+) add constraint (\S+) foreign key")),
    ("index", re.compile(r"^create (?:unique )?index (\S+) on")),
]
_TABLE_OF = {"view": 0, "trigger": 1, "policy": 1, "rls": 0, "table_grant": 0}  # key part naming the table
_SCHEMA_USAGE = re.compile(r"^grant usage on schema (\S+) to (.+);$")
_CREATE_SCHEMA = "create schema if not exists "
_RESULT = re.compile(r"\)\s+returns (.+)")
_PART = r'("(?:[^"]|"")*"|[^."]+)'
_QUALIFIED = re.compile(rf"^{_PART}\.{_PART}$")


def split_statements(script: str) -> list[tuple[str, str]]:
    """(section title, statement) of a script we wrote: `;` at a line end, except inside $$ bodies."""
    out, current, in_body, phase = [], [], False, ""
    for line in script.splitlines():
        if not current and (not line.strip() or line.startswith("--")):
            if line.startswith("-- "):
                phase = line[3:]
            continue
        current.append(line)
        if line.count("$$") % 2 == 1:
            in_body = not in_body
        if not in_body and line.rstrip().endswith(";"):
            out.append((phase, "\n".join(current)))
            current = []
    return out


def classify(phase: str, text: str) -> SqlObject:
    for kind, rule in _RULES:
        m = rule.match(text)
        if m:
            key = m.groups()
            if kind == "function":
                result = _RESULT.search(text)
                key = (key[0], _argument_types(text), result.group(1) if result else "")
            table = _table(key[_TABLE_OF[kind]]) if kind in _TABLE_OF else None
            return SqlObject(kind, key, phase, text, table)
    if text.startswith(_CREATE_SCHEMA):
        return SqlObject("schema", (text[len(_CREATE_SCHEMA):-1],), phase, text)
    m = _SCHEMA_USAGE.match(text)
    if m:
        return SqlObject("schema_usage", m.groups(), phase, text)
    return SqlObject("statement", (text,), phase, text)


def objects_of(script: str) -> list[SqlObject]:
    return [classify(phase, text) for phase, text in split_statements(script)]


def _table(name: str) -> tuple[str, str]:
    m = _QUALIFIED.match(name)
    if not m:
        schema, _, table = name.partition(".")
        return (schema, table)
    return tuple(p[1:-1].replace('""', '"') if p.startswith('"') else p for p in m.groups())


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
