"""IR snapshots: the IR as JSON, recorded with each migration, and read back for the planner.

Format 2 also records the schema objects the IR produced (generator/emit/sqlobjects.py: kind, key, phase,
text, table), so a later compiler's changes to them show up as changes to migrate. Format 1 recorded
the schema SQL as one text (`schema_sql`); committed snapshots of that format are read as they are
(generator/migrate/legacy_snapshot.py turns the text into objects)."""
from __future__ import annotations

import dataclasses
import typing
from functools import lru_cache

import orjson

from generator.text import jsondoc
from generator.ir import model as m
from generator.sqltypes import FieldType


def dump_ir(ir: m.IR, objects: list | None = None) -> str:
    """The IR as JSON, and (in migration snapshots) the schema objects it produced when it was recorded.

    orjson serialises the frozen dataclasses directly (no asdict copy): ~10x faster on a large spec."""
    doc: dict = {"format": 1, "ir": ir} if objects is None else {"format": 2, "ir": ir, "objects": objects}
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"


@dataclasses.dataclass(frozen=True)
class Snapshot:
    ir: m.IR
    schema_sql: str | None  # format 1: the schema SQL text, when recorded
    objects: list[dict] | None  # format 2: the schema objects, as JSON objects


def load_snapshot(text: str) -> Snapshot:
    doc = jsondoc.load(text)
    return Snapshot(_build(m.IR, doc["ir"]), doc.get("schema_sql"), doc.get("objects"))


@lru_cache(maxsize=None)
def _hints(cls) -> dict:
    return typing.get_type_hints(cls, vars(m) | {"FieldType": FieldType})


def _build(tp, value):
    origin = typing.get_origin(tp)
    if value is None:
        return None
    if dataclasses.is_dataclass(tp):
        hints = _hints(tp)
        return tp(**{f.name: _build(hints[f.name], value[f.name]) for f in dataclasses.fields(tp) if f.name in value})
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_build(args[0], v) for v in value)
        return tuple(_build(a, v) for a, v in zip(args, value))
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        return _build(options[0], value) if len(options) == 1 else value
    return value
