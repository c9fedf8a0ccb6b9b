"""`openapi/openapi.json`: the Data API as PostgREST serves the exposed schemas, in OpenAPI 3.1.

Built as data and dumped with sorted keys. Only tables the permission matrix opens to `anon` or
`authenticated` appear, each with the operations it grants; service-role-only tables are left out,
since no browser can use them.
"""
from __future__ import annotations

from functools import lru_cache

from generator.emit.unsupported import Collector, Unsupported
from generator.ir import IR, Bounds, Column, Table
from generator.patterns import for_target
from generator.sqltypes import NUMBERS, TEXTS
from generator.text import jsondoc

# The JSON Schema of each spec type (enum columns refer to their enum's schema; jsonb is any JSON value).
OPENAPI_SCALAR = {"uuid": {"type": "string", "format": "uuid"}, "text": {"type": "string"},
                  "varchar": {"type": "string"}, "smallint": {"type": "integer", "format": "int16"},
                  "integer": {"type": "integer", "format": "int32"},
                  "bigint": {"type": "integer", "format": "int64"},
                  "numeric": {"type": "number"}, "boolean": {"type": "boolean"},
                  "date": {"type": "string", "format": "date"}, "timestamptz": {"type": "string", "format": "date-time"}}
OPENAPI_PATH = "openapi/openapi.json"
METHODS = {"select": "get", "insert": "post", "update": "patch", "delete": "delete"}
RATE_LIMITS = (
    "Requests go through Supabase's API gateway. Rate limits are those of the Supabase plan and are "
    "enforced per project and client IP; an exceeded limit answers 429 Too Many Requests. Clients "
    "should retry 429 and 503 with exponential backoff and jitter, and page with Range or limit/offset "
    "(at most 1000 rows per request by default, the PostgREST max-rows setting).")
VERSIONING = (
    "info.version is the spec's project.version. Breaking changes (a removed path, operation or field, "
    "a narrowed type, a new required input) need a new major version; `specgen diff --api-base REF` "
    "fails when they come without one. See docs/api-versioning.md.")


def _schema_name(table: Table, kind: str) -> str:
    return f"{table.schema}.{table.name}.{kind}"


def column_schema(c: Column, b: Bounds) -> dict:
    base = c.type.base
    if c.enum:
        schema: dict = {"$ref": f"#/components/schemas/{enum_ref(*c.enum)}"}
    elif base == "jsonb":  # any JSON value
        schema = {"description": "Any JSON value."} if c.nullable else {"not": {"type": "null"}}
    else:
        schema = dict(OPENAPI_SCALAR[base])
    if base in TEXTS:
        if b.max_length is not None:
            schema["maxLength"] = b.max_length
        if b.min_length is not None:
            schema["minLength"] = b.min_length
        if b.pattern is not None:
            schema["pattern"] = for_target(b.pattern, "js")
    elif base in NUMBERS:
        if b.minimum is not None:
            schema["minimum"] = b.minimum
        if b.maximum is not None:
            schema["maximum"] = b.maximum
        if b.exclusive_maximum is not None:
            schema["exclusiveMinimum"], schema["exclusiveMaximum"] = b.exclusive_minimum, b.exclusive_maximum
        if base == "numeric" and c.type.precision is not None:
            schema["description"] = f"numeric({c.type.precision},{c.type.scale})"
    if c.type.array:
        schema = {"type": "array", "items": schema}
    if c.nullable and base != "jsonb":
        schema = _nullable(schema)
    if c.description:
        schema = {**schema, "description": c.description} if "$ref" not in schema else \
            {"allOf": [schema], "description": c.description}
    return schema


def _nullable(schema: dict) -> dict:
    if "type" in schema and "$ref" not in schema:
        return {**schema, "type": [schema["type"], "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def enum_ref(schema: str, name: str) -> str:
    return f"{schema}.{name}"


@lru_cache(maxsize=8192)
def table_schemas(t: Table) -> dict[str, dict]:
    """Row, Insert and Update JSON Schemas of a table, keyed by component name.

    Cached because OpenAPI and the Python JSON Schema both need them; callers must not mutate them.
    """
    out = {}
    for kind in ("Row", "Insert", "Update"):
        props, required = {}, []
        for c in t.columns:
            if kind != "Row" and c.identity:
                continue
            prop = column_schema(c, t.bounds(c.name))
            if kind == "Row" and c.identity:
                prop = {**prop, "readOnly": True}
            if kind != "Row" and c.default_json is not None:
                prop = {**prop, "default": jsondoc.load(c.default_json)}
            props[c.name] = prop
            if kind == "Row" or (kind == "Insert" and not c.nullable and not c.has_default):
                required.append(c.name)
        schema = {"type": "object", "properties": props, "required": sorted(required)}
        if kind != "Row":
            schema["additionalProperties"] = False
        schema["description"] = f"{kind} of {t.schema}.{t.name}" + (f": {t.description}" if t.description else "")
        out[_schema_name(t, kind)] = schema
    return out


def _profile(name: str, schema: str) -> dict:
    return {"name": name, "in": "header", "required": False, "schema": {"type": "string", "enum": [schema]},
            "description": f"Selects the `{schema}` schema (PostgREST schema profile)."}


def _filters(t: Table) -> list[dict]:
    return [{"name": c.name, "in": "query", "required": False, "schema": {"type": "string"},
             "description": f"Filter on {c.name}: `eq.value`, `neq.`, `gt.`, `gte.`, `lt.`, `lte.`, "
                            "`like.`, `ilike.`, `in.(a,b)`, `is.null`, `not.eq.value`."}
            for c in t.columns]


def _json(ref: str, array: bool = True) -> dict:
    schema = {"$ref": f"#/components/schemas/{ref}"}
    if array:
        schema = {"type": "array", "items": schema}
    return {"application/json": {"schema": schema}}


def _ref(kind: str, name: str) -> dict:
    return {"$ref": f"#/components/{kind}/{name}"}


def operations(t: Table, commands: set[str]) -> dict:
    row = _schema_name(t, "Row")
    errors = {code: _ref("responses", name) for code, name in
              (("400", "BadRequest"), ("401", "Unauthorized"), ("403", "Forbidden"), ("406", "NotAcceptable"))}
    reading = [_ref("parameters", p) for p in ("select", "order", "limit", "offset", "or", "and")]
    ops = {}
    op_id = f"{t.schema}_{t.name}"
    if "select" in commands:
        ops["get"] = {
            "operationId": f"{op_id}_select", "tags": [t.schema], "summary": f"Read {t.schema}.{t.name}",
            "parameters": [_profile("Accept-Profile", t.schema), _ref("parameters", "Range"),
                           _ref("parameters", "Range-Unit"), _ref("parameters", "PreferCount"), *reading,
                           *_filters(t)],
            "responses": {"200": {"description": "Rows the caller may see.", "content": _json(row),
                                  "headers": {"Content-Range": _ref("headers", "Content-Range")}},
                          "206": {"description": "A page of rows (Range).", "content": _json(row),
                                  "headers": {"Content-Range": _ref("headers", "Content-Range")}},
                          "416": _ref("responses", "RangeNotSatisfiable"), **errors}}
    if "insert" in commands:
        ops["post"] = {
            "operationId": f"{op_id}_insert", "tags": [t.schema], "summary": f"Create rows in {t.schema}.{t.name}",
            "parameters": [_profile("Content-Profile", t.schema), _ref("parameters", "PreferWrite"),
                           _ref("parameters", "select"), _ref("parameters", "columns"),
                           _ref("parameters", "on_conflict")],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"oneOf": [
                {"$ref": f"#/components/schemas/{_schema_name(t, 'Insert')}"},
                {"type": "array", "items": {"$ref": f"#/components/schemas/{_schema_name(t, 'Insert')}"}}]}}}},
            "responses": {"201": {"description": "Created; rows returned with Prefer: return=representation.",
                                  "content": _json(row)},
                          "409": _ref("responses", "Conflict"), **errors}}
    if "update" in commands:
        ops["patch"] = {
            "operationId": f"{op_id}_update", "tags": [t.schema], "summary": f"Update rows of {t.schema}.{t.name}",
            "parameters": [_profile("Content-Profile", t.schema), _ref("parameters", "PreferWrite"),
                           _ref("parameters", "select"), *_filters(t)],
            "requestBody": {"required": True, "content": _json(_schema_name(t, "Update"), array=False)},
            "responses": {"200": {"description": "Updated rows (Prefer: return=representation).",
                                  "content": _json(row)},
                          "204": {"description": "Updated."}, "409": _ref("responses", "Conflict"), **errors}}
    if "delete" in commands:
        ops["delete"] = {
            "operationId": f"{op_id}_delete", "tags": [t.schema], "summary": f"Delete rows of {t.schema}.{t.name}",
            "parameters": [_profile("Content-Profile", t.schema), _ref("parameters", "PreferWrite"),
                           _ref("parameters", "select"), *_filters(t)],
            "responses": {"200": {"description": "Deleted rows (Prefer: return=representation).",
                                  "content": _json(row)},
                          "204": {"description": "Deleted."}, **errors}}
    return ops


def _query(name: str, description: str, schema: dict | None = None) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema or {"type": "string"},
            "description": description}


def _header(name: str, description: str, schema: dict | None = None) -> dict:
    return {"name": name, "in": "header", "required": False, "schema": schema or {"type": "string"},
            "description": description}


def _error(description: str) -> dict:
    return {"description": description, "content": _json("Error", array=False)}


COMMON_PARAMETERS = {
    "select": _query("select", "Columns and embedded relations to return, e.g. `id,name,projects(name)`."),
    "order": _query("order", "Ordering, e.g. `created_at.desc.nullslast,id`."),
    "limit": _query("limit", "At most this many rows.", {"type": "integer", "minimum": 0}),
    "offset": _query("offset", "Skip this many rows.", {"type": "integer", "minimum": 0}),
    "or": _query("or", "Disjunction of filters, e.g. `(status.eq.done,priority.gte.4)`."),
    "and": _query("and", "Conjunction of filters, e.g. `(status.eq.todo,priority.gte.4)`."),
    "columns": _query("columns", "Columns to take from the body on insert, e.g. `name,org_id`."),
    "on_conflict": _query("on_conflict", "Unique columns for an upsert (with Prefer: resolution=...)."),
    "Range": _header("Range", "Rows to return, e.g. `0-24`."),
    "Range-Unit": _header("Range-Unit", "Unit of Range.", {"type": "string", "enum": ["items"]}),
    "PreferCount": _header("Prefer", "Ask for a total count in Content-Range.",
                           {"type": "string", "enum": ["count=exact", "count=planned", "count=estimated"]}),
    "PreferWrite": _header("Prefer", "What to return and how to resolve conflicts, comma-separated: "
                           "`return=minimal|headers-only|representation`, "
                           "`resolution=merge-duplicates|ignore-duplicates`, `missing=default`, `count=exact`."),
}


def _granted(ir: IR) -> dict[tuple[str, str], set[str]]:
    """The commands granted on each table of the exposed schemas: the tables the document shows."""
    granted: dict[tuple[str, str], set[str]] = {}
    for p in ir.permissions:
        if p.schema in ir.exposed_schemas:
            granted.setdefault((p.schema, p.table), set()).add(p.command)
    return granted


def render_document(ir: IR) -> dict:
    granted = _granted(ir)
    tables = [t for t in ir.tables if (t.schema, t.name) in granted]
    schemas: dict[str, dict] = {
        "Error": {"type": "object", "description": "PostgREST error body.",
                  "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                                 "details": {"type": ["string", "null"]}, "hint": {"type": ["string", "null"]}},
                  "required": ["code", "message"]}}
    used_enums = {c.enum for t in tables for c in t.columns if c.enum}
    for e in ir.enums:
        if (e.schema, e.name) in used_enums:
            schemas[enum_ref(e.schema, e.name)] = {"type": "string", "enum": list(e.values),
                                                      **({"description": e.description} if e.description else {})}
    paths = {}
    for t in tables:
        schemas.update(table_schemas(t))
        paths[f"/{t.name}"] = operations(t, granted[(t.schema, t.name)])
    description = (f"{ir.project.description}\n\n" if ir.project.description else "") + \
        f"Versioning: {VERSIONING}\n\nRate limits: {RATE_LIMITS}"
    return {
        "openapi": "3.1.0",
        "info": {"title": f"{ir.project.name} Data API", "version": ir.project.version, "description": description},
        "servers": [{"url": "{supabase_url}/rest/v1", "variables": {
            "supabase_url": {"default": "https://your-project.supabase.co",
                             "description": "The Supabase project URL."}}}],
        "security": [{"apikey": [], "bearer": []}],
        "tags": [{"name": s, "description": f"Tables of the `{s}` schema."} for s in ir.exposed_schemas],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "parameters": COMMON_PARAMETERS,
            "headers": {"Content-Range": {"description": "Rows returned and, with Prefer: count=..., the total: "
                                                         "`0-24/3573`.", "schema": {"type": "string"}}},
            "responses": {"BadRequest": _error("Invalid query or body."),
                          "Unauthorized": _error("Missing or invalid JWT or apikey."),
                          "Forbidden": _error("Row level security or privileges refused the request."),
                          "NotAcceptable": _error("The requested representation or schema is not available."),
                          "Conflict": _error("A unique or foreign key constraint was violated."),
                          "RangeNotSatisfiable": _error("The requested range is outside the result.")},
            "securitySchemes": {
                "apikey": {"type": "apiKey", "in": "header", "name": "apikey",
                           "description": "The project's anon (or service) key."},
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                           "description": "The user's access token from Supabase Auth."}},
        },
    }


def render(ir: IR) -> dict[str, str]:
    return {OPENAPI_PATH: jsondoc.dump(render_document(ir))}


def unsupported(ir: IR) -> list[Unsupported]:
    """What the OpenAPI schemas check less exactly than the database, for the tables the document shows."""
    out = Collector("openapi")
    granted = _granted(ir)
    for t in ir.tables:
        if (t.schema, t.name) not in granted:
            continue
        for c in t.columns:
            if c.type.base != "numeric" or c.type.precision is None:
                continue
            where, limit = f"{t.schema}.{t.name}.{c.name}", t.bounds(c.name).exclusive_maximum
            kind = f"numeric({c.type.precision},{c.type.scale})"
            if limit is None:
                out.unsupported("warn", f"{kind} bound left out: 10^(p - s) is past what JSON numbers "
                                "(doubles) hold", where)
            elif isinstance(limit, float):
                out.unsupported("ignore", f"{kind} bound written as the double {limit!r}, not exactly", where)
    return out.items
