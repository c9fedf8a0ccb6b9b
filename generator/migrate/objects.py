"""The baseline as keyed statements, so two IRs can be compared object by object.

Every statement the SQL emitter writes is classified by what it creates (a function, a trigger, a
policy, a grant on a table, ...) and keyed by its name; the planner re-emits only what differs.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from generator.emit import sql
from generator.ir import IR

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
STRUCTURAL = {"enum", "table", "fk", "index"}  # the planner diffs these from the IR itself


@dataclass(frozen=True)
class Statement:
    kind: str
    key: tuple
    text: str


def split_statements(script: str) -> list[str]:
    """Statements of a script we wrote: `;` at a line end, except inside $$ bodies."""
    out, current, in_body = [], [], False
    for line in script.splitlines():
        if not current and (not line.strip() or line.startswith("--")):
            continue
        current.append(line)
        if line.count("$$") % 2 == 1:
            in_body = not in_body
        if not in_body and line.rstrip().endswith(";"):
            out.append("\n".join(current))
            current = []
    return out


def classify(statement: str) -> Statement:
    for kind, rule in _RULES:
        m = rule.match(statement)
        if m:
            return Statement(kind, m.groups(), statement)
    return Statement("statement", (statement,), statement)


def objects(ir: IR) -> list[Statement]:
    return objects_of(sql.render_baseline(ir))


def objects_of(script: str) -> list[Statement]:
    return [classify(s) for s in split_statements(script)]
