"""Breaking changes between two OpenAPI documents of the Data API, in words a reviewer can act on.

Responses (Row) break readers when a field or path disappears or a type changes or becomes nullable.
Requests (Insert/Update) break writers when a field disappears, a new one becomes required, or the
accepted values narrow (shorter maxLength, higher minimum, fewer enum values, a new pattern).
"""
from __future__ import annotations

import re

_NUMBER_KEYS_NARROWING = {"maxLength": "lower", "maximum": "lower", "exclusiveMaximum": "lower",
                          "minLength": "higher", "minimum": "higher", "exclusiveMinimum": "higher"}


def breaking_changes(old: dict, new: dict) -> list[str]:
    out: list[str] = []
    for path, ops in sorted(old.get("paths", {}).items()):
        if path not in new.get("paths", {}):
            out.append(f"path {path} removed")
            continue
        for method in sorted(ops):
            if method not in new["paths"][path]:
                out.append(f"operation {method.upper()} {path} removed")
    old_schemas = old.get("components", {}).get("schemas", {})
    new_schemas = new.get("components", {}).get("schemas", {})
    for name, schema in sorted(old_schemas.items()):
        kind = name.rsplit(".", 1)[-1]
        if name not in new_schemas:
            if kind in ("Row", "Insert", "Update"):
                out.append(f"schema {name} removed")
            continue
        if "enum" in schema:
            removed = [v for v in schema["enum"] if v not in new_schemas[name].get("enum", [])]
            if removed:
                out.append(f"enum {name}: values removed: {', '.join(removed)}")
            continue
        if kind in ("Row", "Insert", "Update"):
            out += _object_changes(name, kind, schema, new_schemas[name], old_schemas, new_schemas)
    return out


def _object_changes(name, kind, old, new, old_all, new_all) -> list[str]:
    out = []
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for prop, old_prop in sorted(old_props.items()):
        if prop not in new_props:
            out.append(f"{name}: field {prop!r} removed")
            continue
        a, b = _flatten(old_prop, old_all), _flatten(new_props[prop], new_all)
        if a["types"] - {"null"} != b["types"] - {"null"} and a["types"] and b["types"]:
            out.append(f"{name}: field {prop!r} type changed from {_t(a)} to {_t(b)}")
            continue
        if kind == "Row" and "null" in b["types"] and "null" not in a["types"]:
            out.append(f"{name}: field {prop!r} may now be null")
        if kind != "Row":
            if "null" in a["types"] and "null" not in b["types"]:
                out.append(f"{name}: field {prop!r} no longer accepts null")
            out += [f"{name}: field {prop!r} {msg}" for msg in _narrowing(a, b)]
    if kind == "Insert":
        added = sorted(set(new.get("required", [])) - set(old.get("required", [])))
        out += [f"{name}: field {p!r} is now required" for p in added]
    return out


def _flatten(schema: dict, all_schemas: dict) -> dict:
    """Types, bounds and enum values of a property, through $ref, anyOf and allOf."""
    info: dict = {"types": set(), "bounds": {}, "enum": None, "pattern": None}
    stack = [schema]
    while stack:
        s = stack.pop()
        if "$ref" in s:
            stack.append(all_schemas.get(s["$ref"].rsplit("/", 1)[-1], {}))
        for key in ("anyOf", "allOf", "oneOf"):
            stack.extend(s.get(key, []))
        t = s.get("type")
        if t:
            info["types"] |= set(t if isinstance(t, list) else [t])
        for key in _NUMBER_KEYS_NARROWING:
            if key in s:
                info["bounds"][key] = s[key]
        if "enum" in s:
            info["enum"] = list(s["enum"])
        if "pattern" in s:
            info["pattern"] = s["pattern"]
    return info


def _narrowing(a: dict, b: dict) -> list[str]:
    out = []
    for key, direction in _NUMBER_KEYS_NARROWING.items():
        old, new = a["bounds"].get(key), b["bounds"].get(key)
        if new is None or old == new:
            continue
        if old is None or (direction == "lower" and new < old) or (direction == "higher" and new > old):
            out.append(f"{key} narrowed from {old if old is not None else 'none'} to {new}")
    if a["enum"] is not None and b["enum"] is not None:
        removed = [v for v in a["enum"] if v not in b["enum"]]
        if removed:
            out.append(f"no longer accepts {', '.join(map(repr, removed))}")
    if b["pattern"] and b["pattern"] != a["pattern"]:
        out.append(f"must now match {b['pattern']}")
    return out


def _t(info: dict) -> str:
    return "|".join(sorted(info["types"] - {"null"})) or "any"


def major_bumped(old_version: str, new_version: str) -> bool:
    """A breaking change is allowed when the major version grew (or, before 1.0, the minor)."""
    def parts(v):
        m = re.match(r"^(\d+)\.(\d+)\.(\d+)", v or "")
        return tuple(int(x) for x in m.groups()) if m else (0, 0, 0)
    o, n = parts(old_version), parts(new_version)
    if o[0] == 0 and n[0] == 0:
        return n[1] > o[1]
    return n[0] > o[0]


def api_gate(old: dict, new: dict) -> tuple[list[str], bool]:
    """Report lines for the breaking changes from `old` to `new`, and whether the version allows them."""
    changes = breaking_changes(old, new)
    if not changes:
        return [], True
    old_v, new_v = old.get("info", {}).get("version", "?"), new.get("info", {}).get("version", "?")
    allowed = major_bumped(old_v, new_v)
    head = (f"breaking API changes ({old_v} -> {new_v}, allowed by the major version bump):" if allowed else
            f"breaking API changes without a major version bump ({old_v} -> {new_v}); bump project.version "
            f"in spec/schema/entities.yaml, or keep the old shape:")
    return [head, *(f"  - {c}" for c in changes)], allowed
