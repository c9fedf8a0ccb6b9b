"""Field rules: types, identity, enum values, defaults that fit their type, checks."""
from __future__ import annotations

import datetime as _dt
import decimal as _dec
import re
from typing import Any

from generator.load import defaults as d
from generator.load.semantics.base import Rules, _type_text
from generator.patterns import problem as pattern_problem
from generator.sqltypes import INTEGER_RANGE, INTEGERS, NUMBERS, TEXTS, FieldType, TypeSyntaxError, parse_type

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class FieldRules(Rules):
    def check_field(self, path: tuple, entity: dict, field: dict) -> None:
        name = field["name"]
        self.name_ok((*path, "name"), name, "field")
        ftype = None
        if "references" in field:
            target = field["references"]
            if target != d.AUTH_USERS and target not in self.entities:
                self.err((*path, "references"), f"unknown entity {target!r} in references",
                         f"known entities: {', '.join(sorted(self.entities))}, or auth.users")
            key = d.composite_key(self.entities[target][1]) if target in self.entities else None
            if key is not None:
                self.err((*path, "references"), f"entity {target!r} has a composite primary key "
                         f"({', '.join(key)}); one field cannot reference it",
                         f"declare one field per key column and add to entity {entity['name']!r}: references: "
                         f"[{{columns: [...], entity: {target}}}]")
            ftype = None if key is not None else self.key_type(path, entity, field)
            if "type" in field and ftype is not None:
                try:
                    given = parse_type(field["type"])
                except TypeSyntaxError:
                    given = None
                if given != ftype or ftype.base == "enum":
                    key = "auth.users.id" if target == d.AUTH_USERS else f"{target}.{self.key_name(target)}"
                    self.err((*path, "type"), f"field {name!r} references {target!r}, whose key {key} is "
                             f"{_type_text(ftype)}, but its type is {field['type']!r}",
                             "omit `type:` on references: the column takes the type of the key")
            if field.get("on_delete") == "set null" and field.get("required"):
                self.err((*path, "on_delete"), f"field {name!r} is required but on_delete is set null",
                         "use cascade or restrict, or make the field optional")
            if field.get("on_delete") == "set default" and field.get("required") \
                    and "default" not in field and "default_sql" not in field:
                self.err((*path, "on_delete"), f"field {name!r} is required and has no default, but on_delete "
                         "is set default: every delete of the referenced row would fail",
                         "give the field a default (default: or default_sql:), use cascade or restrict, or make "
                         "the field optional")
        elif "on_delete" in field:
            self.err((*path, "on_delete"), f"field {name!r} has on_delete but references nothing",
                     "add references: <entity>, or remove on_delete")
        elif "type" not in field:
            self.err(path, f"field {name!r} has no type", "add type: text (or another type), or references:")
        else:
            try:
                ftype = parse_type(field["type"])
            except TypeSyntaxError as exc:
                self.err((*path, "type"), str(exc), exc.hint)
        self.field_types[(entity["name"], name)] = ftype
        if field.get("nulls_distinct") is False and not field.get("unique"):
            self.err((*path, "nulls_distinct"), f"field {name!r} has nulls_distinct but is not unique",
                     "add unique: true, or remove nulls_distinct")
        if field.get("identity"):
            self.check_identity(path, entity, field, ftype)
        if "default_sql" in field:
            self.expression_ok((*path, "default_sql"), field["default_sql"], "default_sql")
        values = self.check_enum_field(path, field, ftype)
        self.check_renamed_values((*path, "renamed_values"), field, values if "values" in field else None)
        if ftype is not None:
            self.check_default(path, field, ftype, values)
            self.check_checks(path, field, ftype)
        if "renamed_from" in field:
            self.name_ok((*path, "renamed_from"), field["renamed_from"], "renamed_from")

    def check_identity(self, path: tuple, entity: dict, field: dict, ftype: FieldType | None) -> None:
        """`identity: true`: a bigint primary key the database numbers (`generated always as identity`)."""
        name = field["name"]
        if path[-1] != "primary_key":
            self.err((*path, "identity"), f"field {name!r} is an identity, but only a primary key can be one",
                     f"move it to primary_key: {{name: {name}, identity: true}} of {entity['name']!r}, "
                     "or remove identity")
            return
        for key in ("references", "default", "default_sql"):
            if key in field:
                self.err((*path, key), f"the identity key {name!r} of {entity['name']!r} cannot also have {key}",
                         f"the database numbers an identity itself: remove {key} (or identity)")
        if "type" in field and ftype is not None and ftype != FieldType("bigint"):
            self.err((*path, "type"), f"the identity key {name!r} of {entity['name']!r} is {field['type']!r}, "
                     "but identity keys are bigint", "write type: bigint, or omit type")

    def key_type(self, path: tuple, entity: dict, field: dict) -> FieldType | None:
        """The type of the key `field` references (the column takes it), or None when it is not known."""
        target = field["references"]
        if target == d.AUTH_USERS:
            return FieldType("uuid")
        if target not in self.entities:
            return None
        found = d.key_field({n: e for n, (_, e) in self.entities.items()}, target)
        if found is None:
            if path[-1] == "primary_key":
                self.err((*path, "references"), f"the primary key of {entity['name']!r} references "
                         f"{target!r}, whose key leads back to {entity['name']!r} through references",
                         "give one of these entities a key of its own type")
            return None
        try:
            return parse_type(found[1]["type"])
        except TypeSyntaxError:  # reported at the key itself
            return None

    def key_name(self, target: str) -> str:
        return d.primary_key(self.entities[target][1])["name"]

    def check_enum_field(self, path: tuple, field: dict, ftype: FieldType | None) -> list[str] | None:
        if "references" in field:
            ftype = None  # a reference to an enum key takes the key's enum; `enum:`/`values:` have no place
        is_enum = ftype is not None and ftype.base == "enum"
        if not is_enum:
            for key in ("enum", "values"):
                if key in field:
                    self.err((*path, key), f"`{key}:` is only for type: enum", "set type: enum, or remove it")
            return None
        if "enum" in field and "values" in field:
            self.err((*path, "values"), "give either `enum:` (a named enum) or `values:`, not both",
                     "remove one of them")
            return None
        if "enum" in field:
            if field["enum"] not in self.enums:
                known = ", ".join(sorted(self.enums)) or "none defined"
                self.err((*path, "enum"), f"unknown enum {field['enum']!r}", f"named enums: {known}")
                return None
            return self.enums[field["enum"]]
        if "values" in field:
            self.check_enum_values((*path, "values"), field["values"])
            return field["values"]
        self.err(path, f"enum field {field['name']!r} has no values", "add values: [a, b] or enum: <named enum>")
        return None

    def check_default(self, path: tuple, field: dict, ftype: FieldType, values: list[str] | None) -> None:
        if "default" in field and "default_sql" in field:
            self.err((*path, "default_sql"), "give either default or default_sql, not both", "remove one")
            return
        if "default" not in field:
            return
        value, where = field["default"], (*path, "default")
        if ftype.array:
            ok = isinstance(value, list) and all(_scalar_fits(v, ftype.element, values) for v in value)
        elif ftype.base == "jsonb":
            if value is None and field.get("required"):
                # SQL `not null default 'null'::jsonb` applies, but every client then reads null from a column
                # its types, zod, pydantic and OpenAPI say is never null
                self.err(where, "default null on a required jsonb field stores JSON null, which every client "
                         "reads as null although the field is required",
                         "give a default such as {} or [], or make the field optional")
            return
        else:
            ok = _scalar_fits(value, ftype, values)
        if ok:
            return
        if values is not None and not ftype.array:
            self.err(where, f"default {value!r} is not one of the enum's values",
                     f"values: {', '.join(values)}")
        else:
            self.err(where, f"default {value!r} does not fit type {_type_text(ftype)}",
                     "give a literal of the field's type, or use default_sql for an expression")

    def check_checks(self, path: tuple, field: dict, ftype: FieldType) -> None:
        check = field.get("check") or {}
        where = (*path, "check")
        if not check:
            return
        if ftype.array:
            self.err(where, "checks on array fields are not supported", "remove the check")
            return
        numeric_keys = [k for k in ("min", "max") if k in check]
        text_keys = [k for k in ("min_length", "max_length", "pattern") if k in check]
        if numeric_keys and ftype.base not in NUMBERS:
            self.err((*where, numeric_keys[0]), f"{numeric_keys[0]} applies to numbers, not {ftype.base}",
                     "use min_length/max_length for text")
        if text_keys and ftype.base not in TEXTS:
            self.err((*where, text_keys[0]), f"{text_keys[0]} applies to text, not {ftype.base}",
                     "use min/max for numbers")
        for lo, hi in (("min", "max"), ("min_length", "max_length")):
            if lo in check and hi in check and check[lo] > check[hi]:
                self.err((*where, lo), f"{lo} ({check[lo]}) is greater than {hi} ({check[hi]})",
                         "no value could pass this check")
        if ftype.base in INTEGERS:
            low, high = INTEGER_RANGE[ftype.base]
            for k in numeric_keys:
                if not low <= check[k] <= high:
                    self.err((*where, k), f"{k} {check[k]} is outside the range of {ftype.base}",
                             f"{ftype.base} holds {low}..{high}")
        if "pattern" in check and ftype.base in TEXTS:
            problem = pattern_problem(check["pattern"])
            if problem:
                self.err((*where, "pattern"), problem[0], problem[1] + " (docs/spec-language.md, Patterns)")
        if ftype.length and "max_length" in check and check["max_length"] > ftype.length:
            self.err((*where, "max_length"), f"max_length {check['max_length']} exceeds varchar({ftype.length})",
                     "lower max_length or widen the varchar")


def _scalar_fits(value: Any, ftype: FieldType, values: list[str] | None) -> bool:
    base = ftype.base
    if base == "enum":
        return values is not None and value in values
    if base in INTEGERS:
        low, high = INTEGER_RANGE[base]
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    if base == "numeric":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and _numeric_fits(value, ftype)
    if base == "boolean":
        return isinstance(value, bool)
    if base in TEXTS:
        return isinstance(value, str) and (ftype.length is None or len(value) <= ftype.length)
    if not isinstance(value, str):
        return base == "jsonb"
    if base == "uuid":
        return _UUID.match(value) is not None
    try:
        (_dt.date.fromisoformat if base == "date" else _dt.datetime.fromisoformat)(value)
    except ValueError:
        return False
    return True


def _numeric_fits(value: int | float, ftype: FieldType) -> bool:
    """As PostgreSQL stores `value` in numeric(p,s): rounded half away from zero to s decimals (so 1.005 fits
    numeric(3,2) as 1.01), it must then have at most p-s digits before the point. The literal is the one the
    SQL carries (repr of the YAML number), so .inf and .nan fit nothing: `inf` is not a SQL literal."""
    number = _dec.Decimal(repr(value))
    if not number.is_finite():
        return False
    if ftype.precision is None:
        return True
    scale = ftype.scale or 0
    rounded = number.quantize(_dec.Decimal(1).scaleb(-scale), rounding=_dec.ROUND_HALF_UP,
                              context=_dec.Context(prec=ftype.precision + 1000))
    return abs(rounded) < _dec.Decimal(10) ** (ftype.precision - scale)
