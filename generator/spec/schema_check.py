"""Structural validation of spec files against the published JSON Schemas, with located messages."""
from __future__ import annotations

import difflib
import json
import re
from functools import lru_cache
from importlib import resources

import fastjsonschema

from generator.errors import Diagnostic
from generator.spec.loader import SourceFile

SCHEMA_NAMES = ("entities", "roles")


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict:
    """The JSON Schema of one spec file (`entities` or `roles`)."""
    text = resources.files("generator.spec").joinpath(f"{name}.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


@lru_cache(maxsize=None)
def _fast_validator(name: str):
    return fastjsonschema.compile(load_schema(name))


def is_structurally_valid(data, schema_name: str) -> bool:
    """The fast path: fastjsonschema compiles the schema to Python and answers yes or no in milliseconds."""
    try:
        _fast_validator(schema_name)(data)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


def check_structure(source: SourceFile, schema_name: str) -> list[Diagnostic]:
    """Every place where `source` breaks its JSON Schema, as diagnostics.

    jsonschema (slower, but it reports every error with its path) runs only when the fast check fails.
    """
    if is_structurally_valid(source.data, schema_name):
        return []
    import jsonschema  # noqa: F401 - deferred: only failing specs pay for it

    validator = jsonschema.Draft202012Validator(load_schema(schema_name))
    out = []
    for error in validator.iter_errors(source.data):
        out.extend(_diagnose(source, error))
    return out


def _diagnose(source: SourceFile, error) -> list[Diagnostic]:
    path = tuple(error.absolute_path)
    where = _describe(path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(k for k in error.instance if k not in allowed)
        return [source.diag((*path, k), f"{where}: unknown key {k!r}", _unknown_key_hint(k, allowed), key=True)
                for k in extra]
    if error.validator == "required":
        return [source.diag(path, f"{where}: {error.message}", "add the missing key")]
    if error.validator in ("oneOf", "anyOf") and error.context:
        from jsonschema.exceptions import best_match
        best = best_match(error.context)
        deeper = (*path, *best.relative_path)
        return [source.diag(deeper, f"{_describe(deeper)}: {best.message}", _hint(best))]
    return [source.diag(path, f"{where}: {error.message}", _hint(error))]


def _unknown_key_hint(key: str, allowed: list[str]) -> str:
    if re.match(r"^\s*\d+\s*\)", key):
        return 'inside {...} a comma splits the mapping: quote the type, as type: "numeric(10,3)"'
    close = difflib.get_close_matches(key, allowed, n=1)
    return (f"did you mean {close[0]!r}? " if close else "") + f"allowed keys: {', '.join(allowed)}"


def _hint(error) -> str:
    if error.validator == "enum":
        return "allowed values: " + ", ".join(json.dumps(v) for v in error.validator_value)
    if error.validator == "type":
        return f"expected {error.validator_value}"
    if error.validator == "pattern":
        return f"must match {error.validator_value}"
    description = error.schema.get("description") if isinstance(error.schema, dict) else None
    return description or ""


def _describe(path: tuple) -> str:
    if not path:
        return "document"
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
