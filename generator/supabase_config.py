"""The two keys of a Supabase project's config.toml that follow the spec: `[api] schemas` and
`[api] extra_search_path`. The rest of the file (every other key, comment, blank line and table) is the
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

PATH = "supabase/config.toml"  # relative to generated/ (the Supabase folder specgen writes into)
KEYS = ("schemas", "extra_search_path")
_TABLE = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\s*(#.*)?$")


class ConfigError(InvalidInput):
    """config.toml is not TOML, or its [api] keys are not arrays of strings."""


def wanted(current: list[str], exposed: tuple[str, ...], ours: tuple[str, ...]) -> list[str]:
    kept = [s for s in current if s not in ours or s in exposed]
    return kept + [s for s in exposed if s not in kept]


def sync(text: str, exposed: tuple[str, ...], ours: tuple[str, ...]) -> str:
    """`text` with `[api] schemas` and `extra_search_path` following the spec (`exposed`, of all its
    schemas `ours`); unchanged when they already do."""
    try:
        api = tomllib.loads(text).get("api", {})
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{PATH}: not TOML ({exc})") from None
    if not isinstance(api, dict):
        raise ConfigError(f"{PATH}: [api] is not a table")
    lines = text.splitlines(keepends=True)
    start, end = _api_table(lines)
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


def _api_table(lines: list[str]) -> tuple[int | None, int]:
    """(index of the `[api]` header, index of the next table header or the end)."""
    start = None
    for i, line in enumerate(lines):
        m = _TABLE.match(line)
        if m is None or line.lstrip().startswith("[["):
            continue
        if start is not None:
            return start, i
        if m.group(1).strip() == "api":
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
