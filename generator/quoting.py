"""The one place where a string becomes SQL text: identifiers, literals, array literals, function bodies.

Every string of the spec that reaches generated SQL (names, descriptions, enum labels, SSO group names,
check patterns, claim paths, defaults) goes through these functions and nothing else, so a `'`, a `"`, a
`\\`, a newline or a `$$` in the spec is data, never syntax (docs/decisions.md, "One quoting module").
The output for strings without such characters is what it always was (`x`, `'x'`, `$$...$$`), so
generated files do not change when the quoting gets safer.

The two spec values that are SQL on purpose, `default_sql` and an index's `where`, are not quoted:
generator/load/expressions.py lets through a single expression only.
"""
from __future__ import annotations

import re

SAFE_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
_SAFE_ARRAY_ITEM = re.compile(r"^[A-Za-z0-9_.\-]+$")

# PostgreSQL's reserved key words (catcode R and T of pg_get_keywords() on PostgreSQL 15): an identifier
# that is one of them must be quoted. A database test compares this list with the live server's.
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


def quote_ident(name: str) -> str:
    """An identifier, double-quoted (with `"` doubled) only where PostgreSQL needs it."""
    if SAFE_IDENT.match(name) and name not in RESERVED:
        return name
    if "\x00" in name:
        raise ValueError("a PostgreSQL identifier cannot hold a NUL character")
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, name: str) -> str:
    return f"{quote_ident(schema)}.{quote_ident(name)}"


def sql_string(value: str) -> str:
    """A standard string literal: `'` doubled; a backslash is an ordinary character
    (standard_conforming_strings, on by default since PostgreSQL 9.1 and on in Supabase)."""
    if "\x00" in value:
        raise ValueError("PostgreSQL text cannot hold a NUL character")
    return "'" + value.replace("'", "''") + "'"


def array_item(value: str, always_quote: bool = False) -> str:
    """One element of an array literal (`'{a,b}'`): bare when it is a plain word, else double-quoted
    with `"` and `\\` escaped, as array_in reads it."""
    if not always_quote and _SAFE_ARRAY_ITEM.match(value) and value.lower() != "null":
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def array_text(items) -> str:
    """The text of an array literal, before it is made a string literal: `{a,b}`."""
    return "{" + ",".join(array_item(i) for i in items) + "}"


def dollar_quote(body: str) -> str:
    """A function body as a dollar-quoted string whose tag does not occur in the body.

    `$$` when the body has no `$$`; else `$specgen$`, `$specgen1$`, ... The body can hold spec strings
    (SSO group names, enum labels) as literals; a `$$` in one of them must not end the body.
    """
    tag, n = "$$", 0
    while (body + tag).find(tag) != len(body):  # also a body ending in `$`: `x$` + `$$` ends early
        tag = f"$specgen{n or ''}$"
        n += 1
    return f"{tag}{body}{tag}"


def requote_body(statement: str) -> str:
    """A `create function ... as $$<body>$$;` statement with its body put through dollar_quote.

    For emitters that write the statement as one template: the body runs from the first `as $$` to the
    last `$$;`, so a `$$` that a spec string brought into the body stays inside it.
    """
    start = statement.index("\nas $$") + len("\nas ")
    end = statement.rindex("$$;")
    return statement[:start] + dollar_quote(statement[start + 2:end]) + statement[end + 2:]
