"""Line layout shared by the TypeScript emitters, following the formatter Supabase runs on its types.

Supabase's `gen types` output goes through a Prettier-compatible formatter (80 columns, no
semicolons in type literals, trailing commas). We lay out the same few constructs the same way, so our
tables compare equal to its output line for line.
"""
from __future__ import annotations

import json
import re

WIDTH = 80


def collation_key(name: str) -> str:
    """Order names as the generator's English ICU collator does for [a-z0-9_]: `_` before digits."""
    return name.translate(_KEY)


_KEY = str.maketrans({"_": "\x00"})


def quote(value: str) -> str:
    """A string literal quoted as Prettier prints it: double quotes, unless the value holds more double
    than single quotes (`'say "hi"'`); only the enclosing quote is escaped (Prettier's makeString)."""
    if _PLAIN.match(value):  # nothing to escape (most names): the same text, without the work below
        return f'"{value}"'
    enclosing = "'" if value.count('"') > value.count("'") else '"'
    raw = json.dumps(value, ensure_ascii=False)[1:-1]

    def one(m: re.Match) -> str:
        escaped, bare = m.group(1), m.group(2)
        if escaped is not None:
            return escaped if escaped in "\'\"" and escaped != enclosing else "\\" + escaped
        return "\\" + bare if bare == enclosing else bare
    return enclosing + _ESCAPES.sub(one, raw) + enclosing


_ESCAPES = re.compile(r"\\(.)|([\"'])", re.S)
_PLAIN = re.compile(r"[^\"'\\\x00-\x1f]*\Z")


def member(indent: int, name: str, type_text: str, optional: bool = False) -> list[str]:
    """`name?: type`, or the broken-union layout when the line would pass 80 columns."""
    pad = " " * indent
    head = f"{pad}{name}{'?' if optional else ''}:"
    line = f"{head} {type_text}"
    if len(line) <= WIDTH:
        return [line]
    parts = split_union(type_text)
    if len(parts) < 2:
        return [line]
    return [head, *(f"{pad}  | {p}" for p in parts)]


def split_union(type_text: str) -> list[str]:
    """Top-level members of a union type written as `A | B | C`."""
    parts, depth, current = [], 0, ""
    i = 0
    while i < len(type_text):
        ch = type_text[i]
        if ch in "<[({":
            depth += 1
        elif ch in ">])}":
            depth -= 1
        if depth == 0 and type_text.startswith(" | ", i):
            parts.append(current)
            current = ""
            i += 3
            continue
        current += ch
        i += 1
    parts.append(current)
    return parts


def array_literal(indent: int, head: str, items: list[str], trailing: str = ",") -> list[str]:
    """`head [a, b]` on one line, or one item per line when it would not fit."""
    pad = " " * indent
    one = f"{pad}{head}[{', '.join(items)}]{trailing}"
    if len(one) <= WIDTH or not items:
        return [one]
    return [f"{pad}{head}[", *(f"{pad}  {item}," for item in items), f"{pad}]{trailing}"]
