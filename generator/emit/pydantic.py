"""Python models: pydantic v2 Row, Insert and Update classes per table, and the JSON Schema they follow.

Written from the IR with a template rather than through datamodel-code-generator, which takes about
40 s on a 500-table schema (the build's budget is 1 s) and cannot express numeric(p,s) or
"optional but never null"; a test runs datamodel-code-generator on the same JSON Schema and checks both
model sets accept and refuse the same samples (docs/decisions.md).
"""
from __future__ import annotations

import json
import keyword

from generator.emit.openapi import enum_ref, table_schemas
from generator.emit.unsupported import Collector, Unsupported
from generator.ir import IR, Bounds, Column, Table
from generator.patterns import for_target
from generator.sqltypes import NUMBERS, TEXTS
from generator.text import jsondoc, templating

# The Python type of each spec type (enum columns use their enum's Literal, jsonb JsonValue/JsonNotNull).
PY_SCALAR = {"uuid": "UUID", "text": "str", "varchar": "str", "smallint": "int", "integer": "int",
             "bigint": "int", "numeric": "Decimal", "boolean": "bool", "date": "Date",
             "timestamptz": "Timestamp"}


def _text(value: str) -> str:
    """A Python string literal holding `value`; unicode is written as itself (JSON's \\u escapes would
    split an emoji into two surrogates, which Python reads as two invalid characters)."""
    return json.dumps(value, ensure_ascii=False)


# Names a field cannot take as its Python attribute: what BaseModel defines, and the builtins the
# annotations of the same class body use (a field `str` would shadow `str` for the fields after it).
# Listed rather than read from dir(BaseModel), so the output does not depend on the pydantic installed.
_TAKEN = frozenset({"construct", "copy", "dict", "fields", "from_orm", "json", "parse_file", "parse_obj",
                    "parse_raw", "schema", "schema_json", "update_forward_refs", "validate",
                    "str", "int", "bool", "list", "float"})


def field_names(t: Table) -> dict[str, str]:
    """Python attribute name per column: the column name, or, where Python or pydantic cannot take it
    (a keyword, a leading underscore, a BaseModel attribute, pydantic's `model_` namespace), the name
    with `_` added (and leading underscores moved to the end); the column stays the alias."""
    names = {c.name for c in t.columns}
    out: dict[str, str] = {}
    for c in t.columns:
        name = c.name
        if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name.startswith("_") \
                or name.startswith("model_") or name in _TAKEN:
            stripped = name.lstrip("_")
            base = (stripped or "field") + "_" * (len(name) - len(stripped))
            candidate = base if not base.startswith("model_") else "f_" + base
            while candidate in names or candidate in out.values() or keyword.iskeyword(candidate) \
                    or candidate in _TAKEN or candidate == name:
                candidate += "_"
            name = candidate
        out[c.name] = name
    return out


def package_name(ir: IR) -> str:
    return ir.project.name.replace("-", "_") + "_contracts"


def _camel(*parts: str) -> str:
    return "".join(p[:1].upper() + p[1:] for part in parts for p in part.split("_") if p)


def _constraints(c: Column, b: Bounds) -> list[str]:
    out = []
    base = c.type.base
    if base in TEXTS:
        if b.min_length is not None:
            out.append(f"min_length={b.min_length}")
        if b.max_length is not None:
            out.append(f"max_length={b.max_length}")
        if b.pattern is not None:
            out.append(f"pattern={_text(for_target(b.pattern, 'rust'))}")
    if base in NUMBERS:
        if b.minimum is not None:
            out.append(f"ge={b.minimum!r}")
        if b.maximum is not None:
            out.append(f"le={b.maximum!r}")
    if base == "numeric" and c.type.precision is not None:
        out.append(f"max_digits={c.type.precision}")
        out.append(f"decimal_places={c.type.scale}")
    return out


def annotation(c: Column, b: Bounds, enum_names: dict) -> str:
    if c.enum:
        inner = enum_names[c.enum]
    elif c.type.base == "jsonb":
        inner = "JsonValue" if c.nullable else "JsonNotNull"
    else:
        inner = PY_SCALAR[c.type.base]
    constraints = [] if c.type.array else _constraints(c, b)
    if constraints:
        inner = f"Annotated[{inner}, Field({', '.join(constraints)})]"
    if c.type.array:
        inner = f"list[{inner}]"
    if c.nullable and inner != "JsonValue":
        inner = f"{inner} | None"
    return inner


def _models(t: Table, enum_names: dict) -> list[str]:
    """The Row, Insert and Update classes of a table; each column's annotation is made once for the three."""
    annotations = {c.name: annotation(c, t.bounds(c.name), enum_names) for c in t.columns}
    py_names = field_names(t)
    return [_model(t, kind, annotations, py_names) for kind in ("Row", "Insert", "Update")]


def _model(t: Table, kind: str, annotations: dict[str, str], py_names: dict[str, str]) -> str:
    """One model class as source text (built directly: a template per field was the build's slowest step)."""
    fields = []
    for c in t.columns:
        if kind != "Row" and c.identity:
            continue
        ann = annotations[c.name]
        optional = kind == "Update" or (kind == "Insert" and (c.nullable or c.has_default))
        # An optional field left out stays unset and is never sent (exclude_unset), so the database
        # applies its default; pydantic does not validate defaults, so None never reaches a NOT NULL column.
        kwargs = (["default=None"] if optional else []) + \
            ([f"alias={_text(c.name)}"] if py_names[c.name] != c.name else []) + \
            ([f"description={_text(c.description)}"] if c.description else [])
        if kwargs == ["default=None"] and c.nullable:
            default = "None"
        else:
            default = f"Field({', '.join(kwargs)})" if kwargs else None
        fields.append({"name": py_names[c.name], "annotation": ann, "default": default})
    prefix = _camel(t.schema, t.name)
    doc = {"Row": f"A row of {t.schema}.{t.name}.", "Insert": f"A new row for {t.schema}.{t.name}.",
           "Update": f"Changes to rows of {t.schema}.{t.name}."}[kind]
    if t.description:
        doc += f" {t.description}"
    doc = doc.replace("\\", "\\\\").replace('"', '\\"')
    lines = [f"class {prefix}{kind}({'RowModel' if kind == 'Row' else 'WriteModel'}):", f'    """{doc}"""', ""]
    lines += [f"    {f['name']}: {f['annotation']}" + (f" = {f['default']}" if f["default"] is not None else "")
              for f in fields]
    if not fields:
        lines.append("    pass")
    return "\n".join(lines)


def render_models(ir: IR) -> str:
    enum_names = {(e.schema, e.name): _camel(e.schema, e.name) for e in ir.enums}
    enums = [{"py_name": enum_names[(e.schema, e.name)], "literals": ", ".join(_text(v) for v in e.values)}
             for e in ir.enums]
    models = [model for t in ir.tables for model in _models(t, enum_names)]
    tables = [{"schema": t.schema, "name": t.name, "prefix": _camel(t.schema, t.name)} for t in ir.tables]
    return templating.render("python/models.py.j2", project=ir.project, enums=enums, models=models, tables=tables)


def render_json_schema(ir: IR) -> str:
    defs: dict = {enum_ref(e.schema, e.name): {"type": "string", "enum": list(e.values)} for e in ir.enums}
    for t in ir.tables:
        defs.update(table_schemas(t))
    doc = {"$schema": "https://json-schema.org/draft/2020-12/schema",
           "title": f"{ir.project.name} tables", "$defs": defs}
    return jsondoc.dump(doc).replace('"#/components/schemas/', '"#/$defs/')


def unsupported(ir: IR) -> list[Unsupported]:
    """What the pydantic models check less than the database: an array column's elements go unchecked
    (its annotation is a plain list[...]), so the bounds of each element are left to the database."""
    out = Collector("pydantic")
    for t in ir.tables:
        for c in t.columns:
            if c.type.array and not c.enum and _constraints(c, t.bounds(c.name)):
                out.unsupported("warn", f"element bounds of {c.sql_type} not checked "
                                f"({', '.join(_constraints(c, t.bounds(c.name)))})", f"{t.schema}.{t.name}.{c.name}")
    return out.items


def render_package(ir: IR) -> dict[str, str]:
    """What makes generated/python a package pip installs: pyproject.toml (setuptools), README, py.typed.
    The adapters module stays out of __init__, so the package imports with pydantic alone; the `sync`
    extra brings specgen's runtime, which the adapters subclass."""
    pkg = package_name(ir)
    dist_name = pkg.replace("_", "-")
    example = ir.tables[0] if ir.tables else None
    pyproject = templating.render(
        "python/pyproject.toml.j2", dist_name=_text(dist_name), version=_text(ir.project.version), package=pkg,
        package_quoted=_text(pkg), description=_text(ir.project.description or f"Typed models of {ir.project.name}."))
    readme = templating.render("python/README.md.j2", project=ir.project, dist_name=dist_name, package=pkg,
                               example_schema=example.schema if example else "app",
                               example_table=example.name if example else "my_table")
    return {"python/pyproject.toml": pyproject, "python/README.md": readme, f"python/{pkg}/py.typed": ""}


def render(ir: IR) -> dict[str, str]:
    pkg = package_name(ir)
    return {
        f"python/{pkg}/__init__.py": f'"""Typed models of {ir.project.name}, generated by specgen."""\n'
                                     f"from {pkg}.models import MODELS\n\n__all__ = [\"MODELS\"]\n",
        f"python/{pkg}/models.py": render_models(ir),
        f"python/{pkg}/schema.json": render_json_schema(ir),
        **render_package(ir),
    }
