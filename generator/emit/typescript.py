"""`database.ts`: the `Database` type supabase-js expects, as `supabase gen types typescript` prints it.

Tables, columns, relationships and enums follow postgres-meta's typegen rules (sorting, optionality,
type mapping, layout), so each table compares equal to its output. The helper types are our own, with
the same names and call forms; their default schema is the first exposed schema.
"""
from __future__ import annotations

from generator.text.tsformat import array_literal, collation_key, member, quote
from generator.ir import IR, Column, Enum, Table
from generator.load import relations

TS_SCALAR = {"uuid": "string", "text": "string", "varchar": "string", "date": "string", "timestamptz": "string",
             "smallint": "number", "integer": "number", "bigint": "number", "numeric": "number",
             "boolean": "boolean", "jsonb": "Json"}

JSON_TYPE = """\
export type Json =
  | string
  | number
  | boolean
  | null
  | { [key: string]: Json | undefined }
  | Json[]
"""


def exposed_tables(ir: IR, schema: str) -> list[Table]:
    return sorted((t for t in ir.tables if t.schema == schema), key=lambda t: collation_key(t.name))


def exposed_enums(ir: IR, schema: str) -> list[Enum]:
    return sorted((e for e in ir.enums if e.schema == schema), key=lambda e: collation_key(e.name))


def column_ts_type(c: Column) -> str:
    if c.enum:
        base = f'Database[{quote(c.enum[0])}]["Enums"][{quote(c.enum[1])}]'
    else:
        base = TS_SCALAR[c.type.base]
    if c.type.array:
        base += "[]"
    if base == "Json":
        return "Json | null" if c.nullable else "NonNullable<Json>"
    return f"{base} | null" if c.nullable else base


def _doc(text: str) -> str:
    """Text safe inside a /** */ comment on one line."""
    return " ".join(text.replace("*/", "* /").split())


def _relations(t: Table) -> list[str]:
    """The table's Odoo relations that are not columns (spec-language.md, many2many and one2many)."""
    out = []
    for f in (t.odoo.fields if t.odoo else ()):
        if f.kind == "many2many":
            join_table = relations.join_names({"name": t.entity, "table": t.name}, f.column, f.target_entity)[1]
            out.append(f"many2many {f.column} -> {f.target_entity}: rows of {join_table} (Odoo {f.odoo_field})")
        elif f.kind == "one2many":
            out.append(f"one2many {f.column} -> {f.target_entity}: read-only, the inverse of "
                       f"{f.target_entity}.{f.inverse} (Odoo {f.odoo_field})")
    return out


def render_table(t: Table, indent: int) -> list[str]:
    pad = " " * indent
    columns = sorted(t.columns, key=lambda c: collation_key(c.name))
    lines = [f"{pad}/** {_doc(text)} */" for text in _relations(t)]
    lines.append(f"{pad}{t.name}: {{")
    for kind in ("Row", "Insert", "Update"):
        lines.append(f"{pad}  {kind}: {{")
        for c in columns:
            if kind != "Row" and c.identity:
                lines.append(f"{pad}    {c.name}?: never")
                continue
            optional = kind == "Update" or (kind == "Insert" and (c.nullable or c.has_default))
            lines += member(indent + 4, c.name, column_ts_type(c), optional)
        lines.append(f"{pad}  }}")
    lines += render_relationships(t, indent + 2)
    lines.append(f"{pad}}}")
    return lines


def render_relationships(t: Table, indent: int) -> list[str]:
    """Foreign keys to tables of the same schema (postgres-meta leaves cross-schema ones out)."""
    pad = " " * indent
    fks = [fk for fk in t.foreign_keys if fk.ref_schema == t.schema]
    if not fks:
        return [f"{pad}Relationships: []"]
    unique_sets = {tuple(sorted(t.primary_key))} | {tuple(sorted(u.columns)) for u in t.uniques}
    unique_sets |= {tuple(sorted(i.columns)) for i in t.indexes if i.unique and i.where is None}
    lines = [f"{pad}Relationships: ["]
    for fk in sorted(fks, key=lambda f: (collation_key(f.name), collation_key(f.ref_table))):
        one_to_one = tuple(sorted(fk.columns)) in unique_sets
        lines.append(f"{pad}  {{")
        lines.append(f"{pad}    foreignKeyName: {quote(fk.name)}")
        lines += array_literal(indent + 4, "columns: ", [quote(c) for c in fk.columns], trailing="")
        lines.append(f"{pad}    isOneToOne: {'true' if one_to_one else 'false'}")
        lines.append(f"{pad}    referencedRelation: {quote(fk.ref_table)}")
        lines += array_literal(indent + 4, "referencedColumns: ", [quote(c) for c in fk.ref_columns], trailing="")
        lines.append(f"{pad}  }},")
    lines.append(f"{pad}]")
    return lines


def _never_block(indent: int, name: str) -> list[str]:
    pad = " " * indent
    return [f"{pad}{name}: {{", f"{pad}  [_ in never]: never", f"{pad}}}"]


def render_schema(ir: IR, schema: str) -> list[str]:
    tables = exposed_tables(ir, schema)
    enums = exposed_enums(ir, schema)
    lines = [f"  {schema}: {{"]
    if tables:
        lines.append("    Tables: {")
        for t in tables:
            lines += render_table(t, 6)
        lines.append("    }")
    else:
        lines += _never_block(4, "Tables")
    lines += _never_block(4, "Views")
    lines += _never_block(4, "Functions")
    if enums:
        lines.append("    Enums: {")
        for e in enums:
            lines += member(6, e.name, " | ".join(quote(v) for v in e.values))
        lines.append("    }")
    else:
        lines += _never_block(4, "Enums")
    lines += _never_block(4, "CompositeTypes")
    lines.append("  }")
    return lines


def render_constants(ir: IR) -> list[str]:
    lines = ["export const Constants = {"]
    for schema in ir.exposed_schemas:
        enums = exposed_enums(ir, schema)
        lines.append(f"  {schema}: {{")
        if not enums:
            lines.append("    Enums: {},")
        else:
            lines.append("    Enums: {")
            for e in enums:
                lines += array_literal(6, f"{e.name}: ", [quote(v) for v in e.values])
            lines.append("    },")
        lines.append("  },")
    lines.append("} as const")
    return lines


def render_database_ts(ir: IR, helpers: str) -> str:
    lines = [JSON_TYPE, "export type Database = {"]
    for schema in ir.exposed_schemas:
        lines += render_schema(ir, schema)
    lines.append("}")
    lines.append("")
    lines.append(helpers.rstrip("\n"))
    lines.append("")
    lines += render_constants(ir)
    return "\n".join(lines) + "\n"
