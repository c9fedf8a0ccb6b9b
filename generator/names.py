"""PostgreSQL naming: what a valid identifier is, reserved words, and how generated names are built."""
from __future__ import annotations

import hashlib

# Quoting lives in generator.quoting (one module for every string that reaches SQL); re-exported here
# because the emitters have always imported it from this module.
from generator.quoting import RESERVED, SAFE_IDENT as _SAFE, qualified, quote_ident, sql_string  # noqa: F401

MAX_IDENT_BYTES = 63


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
    if name == "__proto__":
        return ("name '__proto__' cannot be carried by the generated TypeScript: an object literal takes it "
                "as the prototype and zod never validates that key", "pick another name, for example proto")
    if name in RESERVED:
        return (f"name {name!r} is a reserved word in PostgreSQL",
                f"pick another name, for example {name}_name or {name}s")
    return None


def derived_name(parts: tuple[str, ...] | list[str], suffix: str = "") -> str:
    """Join parts with `_`; past 63 bytes, shorten the front and keep a stable hash and the suffix."""
    name = "_".join([*parts, suffix] if suffix else parts)
    if len(name.encode("utf-8")) <= MAX_IDENT_BYTES:
        return name
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
    tail = f"_{digest}" + (f"_{suffix}" if suffix else "")
    return name.encode("utf-8")[:MAX_IDENT_BYTES - len(tail)].decode("utf-8", "ignore") + tail


def inline_enum_name(table: str, field: str) -> str:
    """The type of an inline enum (`values:` on a field): `<table>_<field>`, shortened as derived names are.
    The IR, the clash check and the migration planner all name it with this."""
    return derived_name([table, field])


def constraint_name(table: str, columns: tuple[str, ...] | list[str], suffix: str) -> str:
    """PostgreSQL's own naming (`orders_customer_id_fkey`), shortened with a stable hash past 63 bytes."""
    return derived_name([table, *columns], suffix)


def index_name(table: str, columns: tuple[str, ...] | list[str], unique: bool = False, name: str | None = None) -> str:
    """A unique constraint's or a spec index's name (one namespace: a unique constraint's index takes its
    name): the given `name`, else `<table>_<columns>_key` when unique, `<table>_<columns>_idx` otherwise."""
    return name or constraint_name(table, columns, "key" if unique else "idx")

