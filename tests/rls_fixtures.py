"""Build a two-org world on a migrated database: users per role in each org, and rows in every table.

Rows are written as the database owner (RLS does not apply) from the IR, so the same code serves any
spec: required references point at anchor rows of the same org, owner columns at a chosen user.
"""
from __future__ import annotations

import itertools
import re
import uuid
from dataclasses import dataclass, field

import psycopg

from generator.ir import IR, Table
from tests.samples import valid_value

_counter = itertools.count(1)


@dataclass
class World:
    ir: IR
    orgs: dict[str, uuid.UUID] = field(default_factory=dict)  # "A"/"B" -> id
    users: dict[tuple[str, str], uuid.UUID] = field(default_factory=dict)  # (role, org) -> user id
    instances: dict[str, uuid.UUID] = field(default_factory=dict)
    anchors: dict[tuple[str, str, str], object] = field(default_factory=dict)  # (schema, table, org) -> pk


def new_user(conn: psycopg.Connection, meta: str = "{}") -> uuid.UUID:
    user = uuid.uuid4()
    conn.execute("insert into auth.users (id, email, raw_app_meta_data) values (%s, %s, %s::jsonb)",
                 (user, f"{user.hex[:8]}@example.com", meta))
    return user


def unique_text(table: Table, column) -> str:
    n = next(_counter)
    rules = {}
    for check in table.checks:
        if check.column == column.name:
            rules = dict(check.rules)
    limit = min([v for v in (rules.get("max_length"), column.type.length) if v is not None] or [10**6])
    for candidate in (f"v{n}", f"v{n}@example.com", f"https://v{n}.example.com", f"V{n}"):
        if len(candidate) <= limit and ("pattern" not in rules or re.search(str(rules["pattern"]), candidate)):
            return candidate
    raise ValueError(f"no unique value for {table.name}.{column.name}")


def make_row(conn, world: World, t: Table, org: str | None, owner: uuid.UUID | None = None,
             values: dict | None = None):
    """Insert one valid row of `t` in org `org` (owned by `owner`), creating what it references. Returns its key
    (a tuple for a composite key)."""
    ir = world.ir
    tn = ir.tenancy
    row: dict = {}
    for c in t.columns:
        if c.identity or (c.has_default and c.system in ("pk", "timestamps")) or c.name in row:
            continue
        if c.system == "tenant":
            row[c.name] = world.orgs[org]
            continue
        if c.name == "instance_id" and t.odoo:
            row[c.name] = world.instances[org] if org else None
            continue
        if c.name == "odoo_id" and t.odoo:
            row[c.name] = next(_counter)
            continue
        if t.owned_by == c.name and owner is not None:
            row[c.name] = owner
            continue
        # A required reference to a composite key takes all its columns from one anchor row.
        multi = next((fk for fk in t.foreign_keys if len(fk.reference_columns) > 1 and c.name in fk.reference_columns
                      and not any(t.column(k).nullable for k in fk.reference_columns)), None)
        if multi is not None:
            target = ir.table(multi.ref_schema, multi.ref_table)
            key = anchor(conn, world, target, org or "A")
            for col, ref in zip(multi.reference_columns, multi.referenced_columns):
                row[col] = key[target.primary_key.index(ref)]
            continue
        fk = next((fk for fk in t.foreign_keys if fk.reference_columns == (c.name,)), None)
        if fk is not None:
            if fk.ref_schema == "auth":
                row[c.name] = new_user(conn) if not c.nullable else None
            elif not c.nullable:
                # A global row that must reference a tenant row borrows org A's.
                row[c.name] = anchor(conn, world, ir.table(fk.ref_schema, fk.ref_table), org or "A")
            continue
        if c.nullable or c.has_default:
            continue
        if c.type.base in ("text", "varchar") and not c.enum:
            row[c.name] = unique_text(t, c)
        else:
            value = valid_value(ir, t, c)
            row[c.name] = psycopg.types.json.Jsonb(value) if c.type.base == "jsonb" else value
    row.update(values or {})
    if tn and (t.schema, t.name) == (tn.root_schema, tn.root_table) and org in world.orgs:
        return world.orgs[org]
    cols = ", ".join(row)
    marks = ", ".join(["%s"] * len(row))
    key = conn.execute(f"insert into {t.qualified} ({cols}) values ({marks}) returning {', '.join(t.primary_key)}",
                       list(row.values())).fetchone()
    return key[0] if len(key) == 1 else tuple(key)  # a composite key as the tuple of its values


def anchor(conn, world: World, t: Table, org: str | None):
    key = (t.schema, t.name, org)
    if key not in world.anchors:
        world.anchors[key] = make_row(conn, world, t, org if t.scope == "tenant" else None)
    return world.anchors[key]


def build_world(conn: psycopg.Connection, ir: IR) -> World:
    """Orgs A and B, one user per org role in each, and an Odoo instance per org."""
    world = World(ir)
    tn = ir.tenancy
    root = ir.table(tn.root_schema, tn.root_table)
    membership = ir.table(tn.membership_schema, tn.membership_table)
    for org in ("A", "B"):
        world.orgs[org] = make_row(conn, world, root, None)
        world.instances[org] = conn.execute(
            f"""insert into odoo.instances ({tn.column}, name, base_url, database, login, secret_ref)
                values (%s, %s, 'https://erp.example.com', 'odoo', 'bot', 'ODOO_PASSWORD') returning id""",
            (world.orgs[org], f"erp-{org}")).fetchone()[0]
        for role in (r.name for r in ir.roles if not r.system):
            user = new_user(conn)
            world.users[(role, org)] = user
            conn.execute(f"insert into {membership.qualified} ({tn.column}, {tn.user_column}, {tn.role_column}) "
                         "values (%s, %s, %s)", (world.orgs[org], user, role))
    # Anchor rows exist before any test, so none is created inside a block that is later rolled back.
    for t in ir.tables:
        if t.schema in ir.exposed_schemas:
            for org in (("A", "B") if t.scope == "tenant" else (None,)):
                anchor(conn, world, t, org)
    return world


def migrated_world(pg_cluster, standin_template, ir: IR, stamp: str = "20260101000000"):
    """A fresh database with the spec's baseline applied and a two-org world in it; yields (url, world)
    and drops the database afterwards. The body of the module-scoped `db` fixtures of the RLS tests."""
    from generator.database.cluster import apply_sql
    from generator.pipeline import render_all

    name = pg_cluster.create_database(template=standin_template)
    url = pg_cluster.url_for(name)
    apply_sql(url, render_all(ir, stamp)[f"supabase/migrations/{stamp}_baseline.sql"])
    with psycopg.connect(url) as conn:
        world = build_world(conn, ir)
        conn.commit()
    yield url, world
    pg_cluster.drop_database(name)
