"""IR snapshots: the IR as JSON, recorded with each migration, and read back for the planner."""
from __future__ import annotations

import dataclasses
import typing
from functools import lru_cache

import orjson

from generator.text import jsondoc
from generator.ir import model as m
from generator.sqltypes import FieldType


def dump_ir(ir: m.IR, schema_sql: str | None = None) -> str:
    """The IR as JSON, and (in migration snapshots) the schema SQL it produced when it was recorded, so a
    later compiler's changes to that SQL show up as changes to migrate.

    orjson serialises the frozen dataclasses directly (no asdict copy): ~10x faster on a large spec."""
    doc: dict = {"format": 1, "ir": ir}
    if schema_sql is not None:
        doc["schema_sql"] = schema_sql
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"


def load_snapshot(text: str) -> tuple[m.IR, str | None]:
    doc = jsondoc.load(text)
    return _build(m.IR, doc["ir"]), doc.get("schema_sql")


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
