"""The keys of a Supabase project's config.toml that follow the spec: `[api] schemas` and
`[api] extra_search_path`, and `verify_jwt = false` for the Edge Functions that Odoo calls without a
Supabase JWT (`[functions.webhook-receiver]`: it checks its own token or signature). The rest of the file (every other key, comment, blank line and table) is the
user's and comes back byte for byte.

Each key keeps what it lists beyond specgen's schemas (public, graphql_public, extensions, storage, ...),
in its order; gains the spec's exposed schemas it lacks, at the end; and loses the spec's schemas that are
not exposed. tomllib reads the values (so a quoted name with a comma or an escape is read right); the
edit replaces only the key's own lines, which TOML lets a reader find without a full parser: a key sits on
its own line inside its table, and a multi-line array ends at the first `]` outside a string.
(docs/decisions.md: why not tomlkit.)
"""
from __future__ import annotations

import json
import re
import tomllib

from specgen.errors import InvalidInput

PATH = "supabase/config.toml"  # a logical path: the project's Supabase folder (generator/layout.py)
KEYS = ("schemas", "extra_search_path")
_TABLE = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\s*(#.*)?$")


class ConfigError(InvalidInput):
    """config.toml is not TOML, or its [api] keys are not arrays of strings."""


def wanted(current: list[str], exposed: tuple[str, ...], ours: tuple[str, ...]) -> list[str]:
    kept = [s for s in current if s not in ours or s in exposed]
    return kept + [s for s in exposed if s not in kept]


def sync(text: str, exposed: tuple[str, ...], ours: tuple[str, ...], without_jwt: tuple[str, ...] = ()) -> str:
    """`text` with `[api] schemas` and `extra_search_path` following the spec (`exposed`, of all its
    schemas `ours`) and `verify_jwt = false` for the functions `without_jwt`; unchanged when they already do."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{PATH}: not TOML ({exc})") from None
    text = _api_keys(text, doc.get("api", {}), exposed, ours)
    functions = doc.get("functions", {})
    for name in without_jwt:
        table = functions.get(name, {}) if isinstance(functions, dict) else {}
        if not isinstance(table, dict) or table.get("verify_jwt") is not False:
            text = _set_line(text, f"functions.{name}", "verify_jwt", "verify_jwt = false\n")
    return text


def _set_line(text: str, table: str, key: str, line: str) -> str:
    """`text` with `key` of `[table]` replaced by `line` (the table added at the end when missing)."""
    lines = text.splitlines(keepends=True)
    start, end = _table(lines, table)
    if start is None:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        lines += ["\n", f"[{table}]\n"]
        start, end = len(lines) - 1, len(lines)
    span = _key_span(lines, start, end, key)
    if span is None:
        lines.insert(start + 1, line)
    else:
        lines[span[0]:span[1]] = [line]
    return "".join(lines)


def _api_keys(text: str, api, exposed: tuple[str, ...], ours: tuple[str, ...]) -> str:
    if not isinstance(api, dict):
        raise ConfigError(f"{PATH}: [api] is not a table")
    lines = text.splitlines(keepends=True)
    start, end = _table(lines, "api")
    for key in KEYS:
        value = api.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{PATH}: [api] {key} is not an array of strings")
        new = wanted(value, exposed, ours)
        if new == value and key in api:
            continue
        line = f"{key} = {json.dumps(new)}\n"
        if start is None:  # no [api] table yet: add one at the end
            if lines and not lines[-1].endswith("\n"):
                lines[-1] += "\n"
            lines += ["\n", "[api]\n"]
            start, end = len(lines) - 1, len(lines)
        span = _key_span(lines, start, end, key)
        if span is None:
            lines.insert(start + 1, line)
            end += 1
        else:
            first, last = span
            lines[first:last] = [line]
            end -= (last - first) - 1
    return "".join(lines)


def _table(lines: list[str], name: str) -> tuple[int | None, int]:
    """(index of the `[name]` header, index of the next table header or the end). A dotted name matches
    with or without quotes around its parts (`[functions."webhook-receiver"]`)."""
    start = None
    for i, line in enumerate(lines):
        m = _TABLE.match(line)
        if m is None or line.lstrip().startswith("[["):
            continue
        if start is not None:
            return start, i
        if re.sub(r"[\s\"']", "", m.group(1)) == name:
            start = i
    return start, len(lines)


def _key_span(lines: list[str], start: int, end: int, key: str) -> tuple[int, int] | None:
    """[first, last) lines of `key = ...` inside the table, a multi-line array included."""
    assign = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for i in range(start + 1, end):
        if assign.match(lines[i]):
            j, depth = i, 0
            while j < end:
                depth = _depth_after(lines[j], depth)
                j += 1
                if depth <= 0:
                    break
            return i, j
    return None


def _depth_after(line: str, depth: int) -> int:
    """Bracket depth after `line`, outside strings and comments."""
    quote = None
    i = 0
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\" and quote == '"':
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            break
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        i += 1
    return depth
