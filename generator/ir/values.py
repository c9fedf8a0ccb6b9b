"""Column values in SQL: a spec default as a literal of the column's type, and a field's check."""
from __future__ import annotations

import json
from typing import Any

from generator.ir import model as m
from generator.names import constraint_name, quote_ident, sql_string
from generator.quoting import array_item
from generator.sqltypes import FieldType


def literal(value: Any, t: FieldType, sql_type: str) -> str:
    """A spec default as a SQL literal of the column's type."""
    if t.base == "jsonb" and not t.array:
        return f"{sql_string(json.dumps(value, sort_keys=True, separators=(',', ':')))}::jsonb"
    if t.array:
        items = ",".join(_array_item(v) for v in value)
        return f"{sql_string('{' + items + '}')}::{sql_type}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return sql_string(str(value))


def _array_item(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return array_item(str(value), always_quote=True)


def check(table: str, column: str, check: dict) -> m.Check | None:
    parts, rules = [], []
    col = quote_ident(column)
    for key, op in (("min", ">="), ("max", "<=")):
        if key in check:
            parts.append(f"{col} {op} {check[key]!r}")
            rules.append((key, check[key]))
    for key, op in (("min_length", ">="), ("max_length", "<=")):
        if key in check:
            parts.append(f"char_length({col}) {op} {check[key]}")
            rules.append((key, check[key]))
    if "pattern" in check:
        parts.append(f"{col} ~ {sql_string(check['pattern'])}")
        rules.append(("pattern", check["pattern"]))
    if not parts:
        return None
    return m.Check(constraint_name(table, [column], "check"), " AND ".join(parts), column, tuple(rules))
