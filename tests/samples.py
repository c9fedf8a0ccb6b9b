"""Sample values built from the IR: one valid value per column, and ways to break each one.

Used by the contract tests (zod at runtime, pydantic) so every table and constraint is exercised
without hand-written fixtures that drift from the spec.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from generator.ir import Column, Table
from generator.patterns import for_target
from generator.sqltypes import INTEGER_RANGE

UUID = "3f0e6a56-6a5e-4c43-9d0e-9a3c62f7c9b1"
TEXT_CANDIDATES = ["Abc", "acme", "a@example.com", "https://erp.example.com", "0" * 64, "A", "a-b", "123-x"]


@dataclass(frozen=True)
class Breakage:
    column: str
    value: object
    why: str


def rules(table: Table, column: Column) -> dict:
    for check in table.checks:
        if check.column == column.name:
            return dict(check.rules)
    return {}


def enum_values(ir, column: Column) -> tuple[str, ...]:
    for e in ir.enums:
        if (e.schema, e.name) == column.enum:
            return e.values
    raise KeyError(column.enum)


def valid_scalar(ir, table: Table, c: Column):
    r = rules(table, c)
    base = c.type.base
    if c.enum:
        return enum_values(ir, c)[0]
    if base == "uuid":
        return UUID
    if base in ("text", "varchar"):
        limit = min([v for v in (r.get("max_length"), c.type.length) if v is not None] or [10**6])
        for candidate in TEXT_CANDIDATES:
            if len(candidate) < r.get("min_length", 0) or len(candidate) > limit:
                continue
            # the pattern as pydantic gets it: as written, POSIX classes would mean something else to `re`
            if "pattern" in r and not re.search(for_target(str(r["pattern"]), "rust"), candidate):
                continue
            return candidate
        raise ValueError(f"no sample for {table.name}.{c.name}")
    if base in INTEGER_RANGE or base == "numeric":
        low = r.get("min", 0 if base != "numeric" else 0.5)
        value = max(low, 1) if base != "numeric" else max(low, 1.5)
        if "max" in r:
            value = min(value, r["max"])
        if base in INTEGER_RANGE or c.type.scale == 0:  # numeric(p, 0) holds whole numbers only
            return int(value)
        return value
    return {"boolean": True, "date": "2026-01-31", "timestamptz": "2026-01-31T10:00:00+00:00",
            "jsonb": {"k": [1, "two"]}}[base]


def valid_value(ir, table: Table, c: Column):
    value = valid_scalar(ir, table, c)
    return [value] if c.type.array else value


def row_sample(ir, table: Table) -> dict:
    return {c.name: valid_value(ir, table, c) for c in table.columns}


def insert_sample(ir, table: Table) -> dict:
    """Only what an insert must carry: columns without default that are not nullable."""
    return {c.name: valid_value(ir, table, c) for c in table.columns
            if not c.nullable and not c.has_default and not c.identity}


def breakages(ir, table: Table) -> list[Breakage]:
    """One wrong value per column and constraint, each of which zod must refuse naming that column."""
    out = []
    for c in table.columns:
        r = rules(table, c)
        base = c.type.base
        wrong_type = 12345 if base in ("uuid", "text", "varchar", "date", "timestamptz") or c.enum else "twelve"
        if base == "jsonb":  # any JSON is valid; only null can be wrong
            if not c.nullable:
                out.append(Breakage(c.name, None, "null in a NOT NULL jsonb column"))
            continue
        if c.type.array:
            out.append(Breakage(c.name, "not-an-array", "a scalar where an array belongs"))
            continue
        out.append(Breakage(c.name, wrong_type, "wrong JSON type"))
        if not c.nullable:
            out.append(Breakage(c.name, None, "null in a NOT NULL column"))
        if c.enum:
            out.append(Breakage(c.name, "not-a-value", "a value outside the enum"))
        if base == "uuid":
            out.append(Breakage(c.name, "not-a-uuid", "a malformed uuid"))
        if base == "date":
            out.append(Breakage(c.name, "31/01/2026", "a date not in ISO form"))
        if base == "timestamptz":
            out.append(Breakage(c.name, "yesterday", "a malformed timestamp"))
        if base in ("text", "varchar"):
            limit = min([v for v in (r.get("max_length"), c.type.length) if v is not None] or [0])
            if limit:
                out.append(Breakage(c.name, "x" * (limit + 1), "longer than allowed"))
            if r.get("min_length"):
                out.append(Breakage(c.name, "", "shorter than allowed"))
            if "pattern" in r:
                out.append(Breakage(c.name, "!! no match !!", "does not match the pattern"))
        if base in INTEGER_RANGE:
            out.append(Breakage(c.name, 1.5, "a fraction in an integer column"))
            low, high = INTEGER_RANGE[base]
            if base != "bigint":
                out.append(Breakage(c.name, high + 1, "beyond the column type's range"))
        if "min" in r:
            out.append(Breakage(c.name, r["min"] - 1, "below the minimum"))
        if "max" in r:
            out.append(Breakage(c.name, r["max"] + 1, "above the maximum"))
        if base == "numeric" and c.type.precision is not None:
            out.append(Breakage(c.name, 10 ** (c.type.precision - c.type.scale), "too many digits for numeric(p,s)"))
    return out
