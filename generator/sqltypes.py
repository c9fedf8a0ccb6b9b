"""The spec's field type language: parse `varchar(120)`, `numeric(14,2)`, `text[]` into one value."""
from __future__ import annotations

import re
from functools import lru_cache
from dataclasses import dataclass

SCALARS = ("uuid", "text", "varchar", "smallint", "integer", "bigint", "numeric", "boolean", "date",
           "timestamptz", "jsonb", "enum")
INTEGERS = ("smallint", "integer", "bigint")
NUMBERS = (*INTEGERS, "numeric")
TEXTS = ("text", "varchar")
# Inclusive bounds, so a check like `min: 0` on smallint can be judged against the type.
INTEGER_RANGE = {"smallint": (-(2**15), 2**15 - 1), "integer": (-(2**31), 2**31 - 1),
                 "bigint": (-(2**63), 2**63 - 1)}

_TYPE_RE = re.compile(
    r"^(?P<base>[a-z]+)(?:\((?P<a>\d+)(?:\s*,\s*(?P<b>\d+))?\))?(?P<array>\[\])?$")


@dataclass(frozen=True)
class FieldType:
    base: str
    length: int | None = None  # varchar(n)
    precision: int | None = None  # numeric(p, s)
    scale: int | None = None
    array: bool = False

    @property
    def element(self) -> "FieldType":
        return FieldType(self.base, self.length, self.precision, self.scale, False)


class TypeSyntaxError(ValueError):
    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.hint = hint


@lru_cache(maxsize=4096)
def parse_type(text: str) -> FieldType:
    """Parse a spec type string, or raise TypeSyntaxError saying what is accepted."""
    m = _TYPE_RE.match(text.strip().lower())
    accepted = ("uuid, text, varchar(n), smallint, integer, bigint, numeric(p,s), boolean, date, "
                "timestamptz, jsonb, enum; add [] for an array")
    if not m or m["base"] not in SCALARS:
        raise TypeSyntaxError(f"unknown type {text!r}", f"use one of: {accepted}")
    base, a, b, array = m["base"], m["a"], m["b"], bool(m["array"])
    if base == "varchar":
        if a is None or b is not None:
            raise TypeSyntaxError(f"varchar needs one length, as varchar(120); got {text!r}",
                                  "write varchar(n), or use text for unbounded strings")
        if not 1 <= int(a) <= 10485760:
            raise TypeSyntaxError(f"varchar length {a} is out of range", "use 1 to 10485760")
        return FieldType(base, length=int(a), array=array)
    if base == "numeric":
        if a is None:
            return FieldType(base, array=array)
        p, s = int(a), int(b or 0)
        if not 1 <= p <= 1000 or s > p:
            raise TypeSyntaxError(f"numeric({a},{b or 0}) is not valid",
                                  "precision is 1..1000 and scale is at most the precision")
        return FieldType(base, precision=p, scale=s, array=array)
    if a is not None:
        raise TypeSyntaxError(f"type {base} takes no size; got {text!r}", f"write {base}")
    if array and base in ("jsonb",):
        raise TypeSyntaxError("arrays of jsonb are not supported", "use one jsonb holding a JSON array")
    return FieldType(base, array=array)


def numeric_limit(precision: int, scale: int) -> int | float | None:
    """The bound numeric(p, s) keeps values below, as JSON can carry it: 10^(p - s) exactly while it
    fits 64 bits, as a float up to 1e308, and None (no bound written) past what a double holds."""
    digits = precision - scale
    if digits <= 18:
        return 10 ** digits
    return float(10 ** digits) if digits <= 308 else None


# PostgreSQL's name of each spec type; varchar and numeric take their size, enum its type's own name.
PG_TYPES = {"uuid": "uuid", "text": "text", "varchar": "varchar", "smallint": "smallint", "integer": "integer",
            "bigint": "bigint", "numeric": "numeric", "boolean": "boolean", "date": "date",
            "timestamptz": "timestamptz", "jsonb": "jsonb", "enum": "enum"}


def sql_type(t: FieldType) -> str:
    """The type as written in DDL: varchar(120), numeric(14,2), text[] (an enum column names its type)."""
    if t.base == "varchar":
        base = f"varchar({t.length})"
    elif t.base == "numeric" and t.precision is not None:
        base = f"numeric({t.precision},{t.scale})"
    else:
        base = PG_TYPES[t.base]
    return base + ("[]" if t.array else "")


def index_method_problem(method: str, ftype: "FieldType") -> str | None:
    """Why PostgreSQL 15 (no extensions) has no operator class of ``method`` for the type, or None.
    tests/compiler/test_spec_units.py compares this with a live server for every method and type."""
    if method in ("btree", "hash"):
        return None
    if method == "gin":
        return None if ftype.array or ftype.base == "jsonb" else "gin indexes arrays and jsonb only"
    if method == "gist":
        return "no spec type has a gist operator class (that needs an extension such as btree_gist)"
    if method == "brin":
        if ftype.array or ftype.base in ("boolean", "jsonb", "enum"):
            return "brin has no operator class for it"
        return None
    return None
