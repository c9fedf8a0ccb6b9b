"""Structural validation of spec files against the published JSON Schemas, with located messages."""
from __future__ import annotations

import difflib
import json
import re
from functools import lru_cache
from importlib import resources

import fastjsonschema

from generator.errors import Diagnostic, show
from generator.load.loader import SourceFile

SCHEMA_NAMES = ("entities", "roles")


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict:
    """The JSON Schema of one spec file (`entities` or `roles`)."""
    text = resources.files("generator.load").joinpath(f"{name}.schema.json").read_text(encoding="utf-8")
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
        extra = sorted((k for k in error.instance if k not in allowed), key=str)
        return [source.diag((*path, k), f"{where}: unknown key {show(k)}",
                            _unknown_key_hint(source, path, str(k), allowed), key=True)
                for k in extra]
    if error.validator == "required":
        return [source.diag(path, f"{where}: {error.message}", "add the missing key")]
    if error.validator in ("oneOf", "anyOf") and error.context:
        branch = _matching_branch(error)
        if branch is not None:  # the instance has the type of one alternative: report what is wrong inside it
            return [d for sub in branch for d in _diagnose(source, sub)]
        from jsonschema.exceptions import best_match
        best = best_match(error.context)
        deeper = (*path, *best.relative_path)
        return [source.diag(deeper, f"{_describe(deeper)}: {_message(best)}", _hint(best))]
    return [source.diag(path, f"{where}: {_message(error)}", _hint(error))]


def _matching_branch(error):
    """The errors of the one alternative whose type the instance has (a mapping given where a string or a
    mapping is allowed is judged as the mapping), or None when the type fits no alternative or several."""
    branches: dict[int, list] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    typed = [subs for subs in branches.values()
             if not any(s.validator == "type" and not s.relative_path for s in subs)]
    return typed[0] if len(typed) == 1 else None


def _message(error) -> str:
    """jsonschema's message, with the offending value shown once and cut when it is long."""
    shown = show(error.instance)
    if error.validator == "type":
        expected = error.validator_value
        expected = " or ".join(map(repr, expected)) if isinstance(expected, list) else repr(expected)
        return f"{shown} is not of type {expected}"
    if error.validator == "enum":
        return f"{shown} is not one of {error.validator_value!r}"
    if error.validator == "pattern":
        return f"{shown} does not match {error.validator_value!r}"
    if error.validator == "const":
        return f"{shown} is not {error.validator_value!r}, the only value allowed"
    return error.message


def _unknown_key_hint(source: SourceFile, path: tuple, key: str, allowed: list[str]) -> str:
    comma = _flow_comma(source, path, key)
    if comma:
        return comma
    if re.match(r"^\s*\d+\s*\)", key):
        return 'inside {...} a comma splits the mapping: quote the type, as type: "numeric(10,3)"'
    close = difflib.get_close_matches(key, allowed, n=1)
    return (f"did you mean {close[0]!r}? " if close else "") + f"allowed keys: {', '.join(allowed)}"


def _flow_comma(source: SourceFile, path: tuple, key: str) -> str:
    """When `key` follows an unquoted comma in a `{...}` mapping, the hint the docs promise: the comma ended
    the value before it, so quote that value."""
    import yaml
    node = source.node(path)
    if not isinstance(node, yaml.MappingNode) or not node.flow_style:
        return ""
    pairs = node.value
    for i, (k, v) in enumerate(pairs):
        if k.value == key and i > 0:
            before = source.text[:k.start_mark.index].rstrip(" \t")
            after = source.text[k.end_mark.index:].lstrip(" \t")
            if not before.endswith(",") or not after.startswith((",", "}")):
                return ""  # a key written with its own value is an unknown key, not a split value
            prev_key, prev_value = pairs[i - 1]
            if not isinstance(prev_value, yaml.ScalarNode) or prev_value.style:
                return ""
            meant = source.text[prev_value.start_mark.index:k.end_mark.index]
            if "\n" in meant:
                return ""
            suggestion = show(meant, 80, quote='"')
            return (f"inside {{...}} a comma separates keys, so {key!r} was read as a key: if the comma belongs "
                    f"to the value of {prev_key.value!r}, quote it, as {prev_key.value}: {suggestion}")
    return ""


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
