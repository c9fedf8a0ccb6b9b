"""PostgreSQL naming: what a valid identifier is, reserved words, and how generated names are built."""
from __future__ import annotations

import hashlib
import re

MAX_IDENT_BYTES = 63
_SAFE = re.compile(r"^[a-z_][a-z0-9_]*$")

# PostgreSQL's reserved key words (catcode R and T of pg_get_keywords() on PostgreSQL 15).
# A database test compares this list with the live server's.
RESERVED = frozenset("""
all analyse analyze and any array as asc asymmetric authorization binary both case cast check collate
collation column concurrently constraint create cross current_catalog current_date current_role
current_schema current_time current_timestamp current_user default deferrable desc distinct do else end
except false fetch for foreign freeze from full grant group having ilike in initially inner intersect into
is isnull join lateral leading left like limit localtime localtimestamp natural not notnull null offset on
only or order outer overlaps placing primary references returning right select session_user similar some
symmetric table tablesample then to trailing true union unique user using variadic verbose when where
window with
""".split())


def identifier_problem(name: str) -> tuple[str, str] | None:
    """Why `name` cannot be a spec identifier, as (message, hint), or None when it is fine."""
    if not isinstance(name, str) or not name:
        return ("a name must be a non-empty string", "use lower_snake_case")
    if len(name.encode("utf-8")) > MAX_IDENT_BYTES:
        return (f"name {name!r} is {len(name.encode('utf-8'))} bytes; PostgreSQL truncates identifiers "
                f"at {MAX_IDENT_BYTES}", "shorten it to 63 bytes or fewer")
    if not _SAFE.match(name):
        return (f"name {name!r} is not a valid unquoted PostgreSQL identifier",
                "use lower_snake_case: a-z, 0-9 and _, not starting with a digit")
    if name in RESERVED:
        return (f"name {name!r} is a reserved word in PostgreSQL",
                f"pick another name, for example {name}_name or {name}s")
    return None


def quote_ident(name: str) -> str:
    """Quote an identifier only where PostgreSQL needs it."""
    if _SAFE.match(name) and name not in RESERVED:
        return name
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, name: str) -> str:
    return f"{quote_ident(schema)}.{quote_ident(name)}"


def derived_name(parts: tuple[str, ...] | list[str], suffix: str = "") -> str:
    """Join parts with `_`; past 63 bytes, shorten the front and keep a stable hash and the suffix."""
    name = "_".join([*parts, suffix] if suffix else parts)
    if len(name.encode("utf-8")) <= MAX_IDENT_BYTES:
        return name
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
    tail = f"_{digest}" + (f"_{suffix}" if suffix else "")
    return name.encode("utf-8")[:MAX_IDENT_BYTES - len(tail)].decode("utf-8", "ignore") + tail


def constraint_name(table: str, columns: tuple[str, ...] | list[str], suffix: str) -> str:
    """PostgreSQL's own naming (`orders_customer_id_fkey`), shortened with a stable hash past 63 bytes."""
    return derived_name([table, *columns], suffix)


def index_name(table: str, columns: tuple[str, ...] | list[str], unique: bool = False, name: str | None = None) -> str:
    """A unique constraint's or a spec index's name (one namespace: a unique constraint's index takes its
    name): the given `name`, else `<table>_<columns>_key` when unique, `<table>_<columns>_idx` otherwise."""
    return name or constraint_name(table, columns, "key" if unique else "idx")


def sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
