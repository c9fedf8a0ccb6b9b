"""Effective value bounds of a column: the spec's check rules met with what its type can hold.

Resolved once per table (`Table.bounds`), so zod, OpenAPI and pydantic write the same numbers instead
of each re-deriving "the smaller of max_length and the varchar length" or an integer type's range.
Bounds hold for each element of an array column (checks on arrays are refused by check).
"""
from __future__ import annotations

from dataclasses import dataclass

from generator.sqltypes import INTEGER_RANGE, TEXTS, FieldType, numeric_limit


@dataclass(frozen=True)
class Bounds:
    min_length: int | None = None  # text: the check's min_length
    max_length: int | None = None  # text: the smaller of the check's max_length and varchar(n)
    pattern: str | None = None  # text: the spec's pattern as written (targets translate it)
    # Inclusive: integers, the check clamped to the type's range (the range itself without a check);
    # numeric, the check's min and max.
    minimum: int | float | None = None
    maximum: int | float | None = None
    # Exclusive: numeric(p, s) holds values below 10^(p - s) in magnitude (None past what a double holds).
    exclusive_minimum: int | float | None = None
    exclusive_maximum: int | float | None = None


NONE = Bounds()


def resolve(ftype: FieldType, rules: dict) -> Bounds:
    """The bounds of one value of `ftype` under a column's check rules ({} for an array column)."""
    base = ftype.base
    if base in TEXTS:
        lengths = [v for v in (rules.get("max_length"), ftype.length) if v is not None]
        return Bounds(min_length=rules.get("min_length"), max_length=min(lengths) if lengths else None,
                      pattern=rules.get("pattern"))
    if base in INTEGER_RANGE:
        low, high = INTEGER_RANGE[base]
        return Bounds(minimum=max(rules.get("min", low), low), maximum=min(rules.get("max", high), high))
    if base == "numeric":
        limit = numeric_limit(ftype.precision, ftype.scale) if ftype.precision is not None else None
        return Bounds(minimum=rules.get("min"), maximum=rules.get("max"),
                      exclusive_minimum=None if limit is None else -limit, exclusive_maximum=limit)
    return NONE
