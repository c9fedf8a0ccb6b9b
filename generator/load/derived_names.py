"""Names PostgreSQL keeps once per schema, derived by the compiler from different parts of the spec.

A table `a` with a unique field `b_code` and a table `a_b` with a unique field `code` both give the
index `a_b_code_key`; an inline enum `a.b_c` and an inline enum `a_b.c` both give the type `a_b_c`.
PostgreSQL refuses the second (or, for enums, the compiler would merge them into one type), so `check`
refuses the spec and names both sources. Two namespaces per schema matter:

- relations (pg_class): tables, views, primary-key indexes, unique constraints' indexes, indexes;
- types (pg_type): enums, and every table's and view's row type.

Constraints, policies and triggers are named per table: their names end in a suffix of their kind
(`_fkey`, `_check`, `_select`, ...) and are shortened with a hash past 63 bytes, so within one table they
cannot meet unless the relations above already do. Functions have fixed names in `private` and `ops`.
"""
from __future__ import annotations

from dataclasses import dataclass

from generator.errors import Diagnostic
from generator.ir import IR
from generator.load import platform_tables
from generator.ir.build import build_ir
from generator.load.relations import join_entity, x2many
from generator.names import index_name, inline_enum_name
from generator.load import defaults as d
from generator.load.loader import SourceFile
from generator.sqltypes import parse_type

# Relations the platform's SQL creates besides its tables (a view also has a row type).
PLATFORM_VIEWS = (("ops", "sync_health"),)

HINTS = {
    "table or index": "rename one of the entities or fields (or set `table:`) so the derived names differ; "
                      "an index of `indexes:` can take its own `name:`",
    "type (enum or table)": "rename the named enum, or one of the entities or fields (or set `table:`), so "
                            "the type names differ (an inline enum is named <table>_<field>)",
}


@dataclass(frozen=True)
class _Source:
    what: str  # e.g. "the unique constraint of field a.b_code"
    path: tuple | None  # None for the platform's own objects
    key: bool = False


def _enum_sources(spec: dict) -> list[tuple[tuple[str, str], _Source]]:
    out = [((schema, name), _Source(f"the platform's enum {schema}.{name}", None))
           for schema, name in sorted(platform_tables.ENUMS)]
    for name, enum in (spec.get("enums") or {}).items():
        out.append(((enum.get("schema", "app"), name), _Source(f"the named enum {name!r}", ("enums", name), True)))
    for i, e in enumerate(spec["entities"]):
        schema, table = d.schema(e), d.table(e)
        fields = [(("entities", i, "primary_key"), d.primary_key(e))] if isinstance(e.get("primary_key"), dict) else []
        fields += [(("entities", i, "fields", j), f) for j, f in enumerate(e["fields"])]
        for path, f in fields:
            if "values" in f and "references" not in f and parse_type(f["type"]).base == "enum":
                out.append(((schema, inline_enum_name(table, f["name"])),
                            _Source(f"the enum of field {e['name']}.{f['name']}", (*path, "values"))))
    return out


def _ir_sources(ir: IR, spec: dict) -> tuple[list, list]:
    """(relations, types): [((schema, name), _Source)] of every table, index and enum of the IR."""
    entities = {e["name"]: (i, e) for i, e in enumerate(spec["entities"])}
    # a many2many's join entity: its names are reported at the mapping key that makes it
    joins = {}
    for i, e in enumerate(spec["entities"]):
        for relation, mapping in x2many(e):
            if "many2many" in mapping:
                je = join_entity(spec, e, relation, mapping)
                joins[je["name"]] = ("entities", i, "odoo", "fields", relation)
                entities[je["name"]] = (None, {**je, "fields": [], "unique": []})
    relations: list = []
    types: list = [(key, s) for key, s in _enum_sources(spec)]
    for key in PLATFORM_VIEWS:
        view = _Source(f"the platform's view {key[0]}.{key[1]}", None)
        relations.append((key, view))
        types.append((key, view))
    for t in ir.tables:
        if t.entity is None:
            def src(what, _path=None, _key=False, _t=t):
                return _Source(f"{what} of the platform's table {_t.schema}.{_t.name}", None)
        else:
            i, e = entities[t.entity]
            base = ("entities", i)
            if t.entity in joins:
                def src(what, path=None, key=False, _p=joins[t.entity], _e=e):
                    return _Source(f"{what} of the join table of many2many {_p[-1]!r}", _p, True)
            else:
                def src(what, path=None, key=False, _base=base, _e=e, _t=t):
                    return _Source(f"{what} of entity {_e['name']!r}",
                                   path or (*_base, "table" if "table" in _e else "name"), key)
        relations.append(((t.schema, t.name), src("the table")))
        types.append(((t.schema, t.name), src("the row type of the table")))
        relations.append(((t.schema, t.pk_name), src(f"the primary key index {t.pk_name!r}")))
        e = entities[t.entity][1] if t.entity else {}
        fields = {f["name"]: j for j, f in enumerate(e.get("fields") or [])}
        i = entities[t.entity][0] if t.entity else None

        def field_path(col, *rest, _i=i, _fields=fields, _e=e):
            if col in _fields:
                return ("entities", _i, "fields", _fields[col], *rest)
            return ("entities", _i, "primary_key") if isinstance(_e.get("primary_key"), dict) else None

        for u in t.uniques:
            spec_uniques = [tuple(c) for c, _ in d.uniques(e)]
            if len(u.columns) == 1 and u.columns[0] in fields and e["fields"][fields[u.columns[0]]].get("unique"):
                what, path = f"the unique constraint of field {u.columns[0]!r}", field_path(u.columns[0], "unique")
            elif u.columns in spec_uniques:
                k = spec_uniques.index(u.columns)
                what, path = f"the unique constraint unique[{k}]", (("entities", i, "unique", k) if t.entity else None)
            else:
                what, path = f"the unique constraint on ({', '.join(u.columns)})", None
            relations.append(((t.schema, u.name), src(what, path)))
        spec_indexes = e.get("indexes") or []
        for ix in t.indexes:
            path = None
            if ix.reason == "spec":
                k = next((k for k, s in enumerate(spec_indexes)
                          if index_name(t.name, s["columns"], s.get("unique"), s.get("name")) == ix.name), None)
                what = f"the index indexes[{k}]" if k is not None else "an index"
                if k is not None and t.entity:
                    path = ("entities", i, "indexes", k, "name" if "name" in spec_indexes[k] else "columns")
            elif ix.reason == "foreign key":
                what = f"the index of the reference {ix.columns[-1]!r}"
                path = field_path(ix.columns[-1], "references") if t.entity else None
            else:
                what = f"the index of the tenant column {ix.columns[0]!r}"
            relations.append(((t.schema, ix.name), src(what, path)))
    return relations, types


def _clashes(ef: SourceFile, sources: list, kind: str) -> list[Diagnostic]:
    """One error at every source after the first of each (schema, name): the platform's first, then by
    place in the file."""
    def order(item):
        _, s = item
        return (0, 0, 0) if s.path is None else (1, *ef.locate(s.path, key=s.key))

    first: dict[tuple[str, str], _Source] = {}
    out = []
    for key, s in sorted(sources, key=order):
        if key not in first:
            first[key] = s
            continue
        other = first[key]
        if other.path == s.path or s.path is None:
            continue  # one spec place giving two names of different kinds (a table and its row type)
        where = "" if other.path is None else " (%s:%d:%d)" % (ef.path, *ef.locate(other.path, key=other.key))
        out.append(ef.diag(s.path, f"{s.what} is named {key[0]}.{key[1]}, as is {other.what}{where}; PostgreSQL "
                           f"keeps one {kind} of a name per schema", HINTS[kind], key=s.key))
    return out


def check_derived_names(ef: SourceFile, rf: SourceFile) -> list[Diagnostic]:
    """Run on a spec that passed every other check. Enums first: two with one name cannot be built."""
    enum_errors = _clashes(ef, _enum_sources(ef.data), "type (enum or table)")
    if enum_errors:
        return enum_errors
    ir = build_ir(ef.data, rf.data)
    relations, types = _ir_sources(ir, ef.data)
    return _clashes(ef, relations, "table or index") + _clashes(ef, types, "type (enum or table)")
