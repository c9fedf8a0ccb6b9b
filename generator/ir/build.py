"""Build the IR from validated spec data: apply defaults, add system columns, resolve references."""
from __future__ import annotations

import dataclasses
import json

from generator import sqltypes
from generator.ir import access, values
from generator.ir import model as m
from generator.load import defaults as d
from generator.load import platform_tables, relations
from generator.names import constraint_name, index_name, inline_enum_name, qualified
from generator.sqltypes import FieldType, parse_type

SCHEMAS = ("app", "odoo", "ops")
_AUTH_USERS_FK = ("auth", "users", ("id",))


def build_ir(spec: dict, roles_doc: dict, inputs: tuple[tuple[str, str], ...] = ()) -> m.IR:
    spec, roles_doc = relations.expand(spec, roles_doc)  # a many2many mapping becomes a join entity
    builder = _Builder(spec, roles_doc)
    return builder.build(inputs)


class _Builder:
    def __init__(self, spec: dict, roles_doc: dict):
        self.spec, self.roles_doc = spec, roles_doc
        self.tenancy = spec.get("tenancy")
        self.enums: dict[tuple[str, str], m.Enum] = {}
        self.named_enums = spec.get("enums") or {}
        self.observability = m.Observability(**(spec.get("observability") or {}))
        # entity name -> (schema, table, pk column) for every user and platform entity
        self.targets: dict[str, tuple[str, str, str]] = {}
        for e in spec["entities"]:
            # A composite-key entity has no single key column: only entity-level references reach it.
            key = None if d.composite_key(e) is not None else d.primary_key(e)["name"]
            self.targets[e["name"]] = (d.schema(e), d.table(e), key)
        for e in platform_tables.ENTITIES:
            self.targets[e["name"]] = (e["schema"], e["table"], (e.get("primary_key") or {}).get("name", "id"))
        # Entities whose rows belong to an org: a reference between two of them must stay in one org.
        self.tenant_scoped = {e["name"] for e in spec["entities"] if d.scope(e, spec) == "tenant"}
        self.tenant_scoped |= {e["name"] for e in platform_tables.ENTITIES if e.get("tenant") and self.tenancy}
        self.tenant_table = False  # whether the table being built is tenant-scoped
        self.by_name = {e["name"]: e for e in spec["entities"]}
        self.platform_keys = {e["name"]: e.get("primary_key") or {"type": "uuid"} for e in platform_tables.ENTITIES}

    def build(self, inputs) -> m.IR:
        for name, enum in sorted(self.named_enums.items()):
            schema = enum.get("schema", "app")
            self.enums[(schema, name)] = m.Enum(schema, name, tuple(enum["values"]), enum.get("description", ""),
                                                tuple(sorted((enum.get("renamed_values") or {}).items())))
        for (schema, name), values in platform_tables.ENUMS.items():
            self.enums[(schema, name)] = m.Enum(schema, name, tuple(values))
        tables = [self.entity_table(e) for e in self.spec["entities"]]
        tables += [self.platform_table(e) for e in platform_tables.ENTITIES]
        tables = self.same_org_targets(tables)
        project = self.spec["project"]
        return m.IR(
            project=m.Project(project["name"], project["version"],
                              project.get("package", f"{project['name']}-contracts"), project.get("description", "")),
            schemas=SCHEMAS,
            exposed_schemas=tuple(s for s in SCHEMAS if s in d.exposed_schemas(self.spec)),
            enums=tuple(self.enums[k] for k in sorted(self.enums)),
            tables=tuple(sorted(tables, key=lambda t: (t.schema, t.name))),
            roles=access.roles(self.roles_doc),
            permissions=access.permissions(self.spec, self.roles_doc),
            tenancy=access.tenancy(self.spec, self.roles_doc, self.targets),
            sso=access.sso(self.roles_doc),
            inputs=inputs,
            observability=self.observability,
            acknowledged=tuple(sorted((a["change"], a["reason"]) for a in self.spec.get("acknowledged_changes") or [])),
        )

    # -- tables -----------------------------------------------------------------------------
    def entity_table(self, e: dict) -> m.Table:
        schema, table = d.schema(e), d.table(e)
        scope = d.scope(e, self.spec)
        columns: list[m.Column] = []
        fks: list[m.ForeignKey] = []
        checks: list[m.Check] = []
        composite = d.composite_key(e)
        self.current = e["name"]
        self.tenant_table = scope == "tenant"
        if composite is None:
            pk = d.primary_key(e)
            key = (pk["name"],)
            self.add_field(schema, table, e["name"], pk, columns, fks, checks, system="pk")
        else:
            key = tuple(composite)
        if scope == "tenant":
            self.add_tenant_column(table, columns, fks)
        for f in e["fields"]:
            # A column of a composite key is NOT NULL (a primary key makes it so in PostgreSQL).
            self.add_field(schema, table, e["name"], {**f, "required": True} if f["name"] in key else f,
                           columns, fks, checks)
        for ref in e.get("references") or []:
            fks.append(self.composite_reference(table, ref))
        if d.is_mapped(e):
            odoo_owned = d.owner(e) == "odoo"
            for f in ({"name": "instance_id", "references": "platform:instances", "required": odoo_owned,
                       "on_delete": "cascade" if odoo_owned else "set null",
                       "description": "The Odoo instance this row mirrors."},
                      {"name": "odoo_id", "type": "integer", "required": odoo_owned,
                       "description": "The record's id in Odoo."},
                      {"name": "odoo_write_date", "type": "timestamptz",
                       "description": "Odoo's write_date when last synced."},
                      {"name": "synced_at", "type": "timestamptz",
                       "description": "When the sync last wrote this row."},
                      {"name": "odoo_deleted_at", "type": "timestamptz",
                       "description": "Tombstone: when the record was found deleted in Odoo."}):
                self.add_field(schema, table, e["name"], f, columns, fks, checks, system="odoo")
        if d.timestamps(e):
            self.add_timestamps(schema, table, e["name"], columns, fks, checks)
        nulls_not_distinct = {f["name"] for f in e["fields"] if f.get("nulls_distinct") is False}
        uniques = [m.UniqueConstraint(index_name(table, [c.name], unique=True), (c.name,),
                                      nulls_not_distinct=c.name in nulls_not_distinct)
                   for c in columns if c.unique]
        uniques += [m.UniqueConstraint(index_name(table, cols, unique=True), tuple(cols),
                                       nulls_not_distinct=not distinct)
                    for cols, distinct in d.uniques(e)]
        if d.is_mapped(e):
            uniques.append(m.UniqueConstraint(index_name(table, ["instance_id", "odoo_id"], unique=True),
                                              ("instance_id", "odoo_id")))
        indexes = self.indexes(table, e.get("indexes") or [], key, uniques, fks,
                               d.tenant_column(self.spec) if scope == "tenant" else None)
        owned_by = e.get("owned_by", d.OWNED_BY)
        return m.Table(
            schema=schema, name=table, entity=e["name"], description=e.get("description", ""),
            owner=d.owner(e), scope=scope, columns=tuple(columns), primary_key=key,
            foreign_keys=tuple(fks), uniques=tuple(uniques), indexes=indexes, checks=tuple(checks),
            timestamps=d.timestamps(e), audit=e.get("audit", False), odoo=access.odoo_mapping(e, self.observability),
            owned_by=owned_by if any(c.name == owned_by for c in columns) else None,
            renamed_from=e.get("renamed_from"),
        )

    def composite_reference(self, table: str, ref: dict) -> m.ForeignKey:
        """An entity-level reference to a composite key: (a, b) -> (k1, k2), or, between two
        tenant-scoped entities, (org_id, a, b) -> (org_id, k1, k2) like every same-org reference."""
        target = ref["entity"]
        ref_schema, ref_table, _ = self.targets[target]
        cols, ref_cols = tuple(ref["columns"]), tuple(d.composite_key(self.by_name[target]))
        on_delete = ref.get("on_delete", "no action")
        name = constraint_name(table, list(cols), "fkey")
        # `set null` resets the optional columns only (PostgreSQL 15: set null (cols)): a required one, such
        # as a project id the row also belongs to, keeps its value; the reference then holds no row.
        fields = {f["name"]: f for f in self.by_name[self.current]["fields"]}
        reset = tuple(c for c in cols if on_delete == "set default" or not fields[c].get("required"))
        if self.tenant_table and target in self.tenant_scoped:
            tenant = d.tenant_column(self.spec)
            return m.ForeignKey(name, (tenant, *cols), ref_schema, ref_table, (tenant, *ref_cols), on_delete, target,
                                same_org=True, set_columns=reset if on_delete in ("set null", "set default") else ())
        reset = reset if on_delete in ("set null", "set default") and reset != cols else ()
        return m.ForeignKey(name, cols, ref_schema, ref_table, ref_cols, on_delete, target, set_columns=reset)

    def platform_table(self, e: dict) -> m.Table:
        schema, table = e["schema"], e["table"]
        scope = "tenant" if e.get("tenant") and self.tenancy else "global"
        columns: list[m.Column] = []
        fks: list[m.ForeignKey] = []
        checks: list[m.Check] = []
        pk = e.get("primary_key") or {"name": "id", "type": "uuid", "default_sql": "gen_random_uuid()"}
        self.tenant_table = scope == "tenant"
        self.add_field(schema, table, None, {**pk, "required": True}, columns, fks, checks, system="pk")
        if scope == "tenant":
            self.add_tenant_column(table, columns, fks)
        for f in e["fields"]:
            self.add_field(schema, table, None, f, columns, fks, checks, system="platform")
        if e.get("timestamps", True):
            self.add_timestamps(schema, table, None, columns, fks, checks)
        uniques = [m.UniqueConstraint(index_name(table, cols, unique=True), tuple(cols))
                   for cols in e.get("unique") or []]
        if e.get("unique_tenant"):
            cols = ([d.tenant_column(self.spec)] if scope == "tenant" else []) + e["unique_tenant"]
            uniques.append(m.UniqueConstraint(index_name(table, cols, unique=True), tuple(cols)))
        indexes = self.indexes(table, e.get("indexes") or [], (pk["name"],), uniques, fks,
                               d.tenant_column(self.spec) if scope == "tenant" else None)
        return m.Table(schema=schema, name=table, entity=None, description=e["description"], owner="platform",
                       scope=scope, columns=tuple(columns), primary_key=(pk["name"],), foreign_keys=tuple(fks),
                       uniques=tuple(uniques), indexes=indexes, checks=tuple(checks),
                       timestamps=e.get("timestamps", True))

    def same_org_targets(self, tables: list[m.Table]) -> list[m.Table]:
        """A unique (org_id, id) on every table a same-org foreign key points at (the key it references)."""
        wanted: dict[tuple[str, str], tuple[str, ...]] = {}
        for t in tables:
            for fk in t.foreign_keys:
                if fk.same_org:
                    wanted[(fk.ref_schema, fk.ref_table)] = fk.ref_columns
        out = []
        for t in tables:
            cols = wanted.get((t.schema, t.name))
            if cols and not any(u.columns == cols for u in t.uniques):
                unique = m.UniqueConstraint(index_name(t.name, list(cols), unique=True), cols)
                t = dataclasses.replace(t, uniques=(*t.uniques, unique))
                if len(t.primary_key) > 1:  # (org_id, k1, k2) now serves the (org_id, k1) of a reference
                    t = dataclasses.replace(t, indexes=tuple(
                        i for i in t.indexes if i.reason == "spec" or i.columns != cols[:len(i.columns)]))
            out.append(t)
        return out

    def add_tenant_column(self, table: str, columns: list, fks: list) -> None:
        root = self.targets[self.tenancy["root"]]
        name = d.tenant_column(self.spec)
        columns.append(m.Column(name, FieldType("uuid"), "uuid", nullable=False, system="tenant",
                                description="The org this row belongs to."))
        fks.append(m.ForeignKey(constraint_name(table, [name], "fkey"), (name,), root[0], root[1], (root[2],),
                                "cascade", self.tenancy["root"]))

    def add_timestamps(self, schema, table, entity, columns, fks, checks) -> None:
        for name, text in (("created_at", "When the row was created."),
                           ("updated_at", "When the row last changed; maintained by a trigger.")):
            self.add_field(schema, table, entity, {"name": name, "type": "timestamptz", "required": True,
                                                   "default_sql": "now()", "description": text},
                           columns, fks, checks, system="timestamps")

    def add_field(self, schema: str, table: str, entity: str | None, f: dict, columns: list, fks: list,
                  checks: list, system: str | None = None) -> None:
        name = f["name"]
        enum_ref = None
        if "references" in f:
            target = f["references"]
            ftype, sql_type, enum_ref = self.reference_type(target)
            if target == d.AUTH_USERS:
                ref_schema, ref_table, ref_cols = _AUTH_USERS_FK
                ref_entity = None
            else:
                ref_schema, ref_table, ref_pk = self.targets[target]
                ref_cols = (ref_pk,)
                ref_entity = None if target.startswith("platform:") else target
            on_delete = f.get("on_delete", "no action")
            if self.tenant_table and target in self.tenant_scoped:
                # Same org by construction: (org_id, x_id) -> (org_id, id). `set null (x_id)` keeps org_id.
                tenant = d.tenant_column(self.spec)
                fks.append(m.ForeignKey(constraint_name(table, [name], "fkey"), (tenant, name), ref_schema,
                                        ref_table, (tenant, *ref_cols), on_delete, ref_entity, same_org=True,
                                        set_columns=(name,) if on_delete in ("set null", "set default") else ()))
            else:
                fks.append(m.ForeignKey(constraint_name(table, [name], "fkey"), (name,), ref_schema, ref_table,
                                        ref_cols, on_delete, ref_entity))
        else:
            ftype = parse_type(f["type"])
            sql_type = sqltypes.sql_type(ftype)
            if ftype.base == "enum":
                enum_ref = self.enum_for(schema, table, f)
                sql_type = qualified(*enum_ref) + ("[]" if ftype.array else "")
        default_sql = f.get("default_sql")
        if "default" in f:
            default_sql = values.literal(f["default"], ftype, sql_type)
        if f.get("identity"):
            default_sql = None
        check = values.check(table, name, f.get("check") or {})
        if check:
            checks.append(check)
        columns.append(m.Column(
            name=name, type=ftype, sql_type=sql_type, nullable=not f.get("required", False) and not f.get("identity"),
            default_sql=default_sql, default_json=None if "default" not in f else json.dumps(f["default"], sort_keys=True), enum=enum_ref, unique=f.get("unique", False),
            pii=f.get("pii", False), description=f.get("description", ""), renamed_from=f.get("renamed_from"),
            system=system, identity=f.get("identity", False)))

    def reference_type(self, target: str) -> tuple[FieldType, str, tuple[str, str] | None]:
        """A reference column takes the type of the key it points at (followed through keys that are
        references themselves): (type, SQL type, enum) of that key."""
        if target == d.AUTH_USERS:
            return FieldType("uuid"), "uuid", None
        if target in self.platform_keys:
            ftype = parse_type(self.platform_keys[target]["type"])
            return ftype, sqltypes.sql_type(ftype), None
        found = d.key_field(self.by_name, target)
        if found is None:  # a cycle of keys; the validator rules this out
            raise KeyError(f"no key type for {target}")
        e, pk = found
        ftype = parse_type(pk["type"])
        if ftype.base != "enum":
            return ftype, sqltypes.sql_type(ftype), None
        enum_ref = self.enum_key(d.schema(e), d.table(e), pk)
        return ftype, qualified(*enum_ref) + ("[]" if ftype.array else ""), enum_ref

    def enum_key(self, schema: str, table: str, f: dict) -> tuple[str, str]:
        """The (schema, name) of a field's enum type: the named enum it uses, else `<table>_<field>`."""
        if "enum" in f:
            for key in ((schema, f["enum"]), ("app", f["enum"]), *((s, f["enum"]) for s in SCHEMAS)):
                if key in self.enums:
                    return key
            raise KeyError(f"enum {f['enum']}")  # the validator rules this out
        return (schema, inline_enum_name(table, f["name"]))

    def enum_for(self, schema: str, table: str, f: dict) -> tuple[str, str]:
        key = self.enum_key(schema, table, f)
        if "enum" not in f:
            enum = m.Enum(*key, tuple(f["values"]), f.get("description", ""),
                          tuple(sorted((f.get("renamed_values") or {}).items())))
            if self.enums.get(key, enum) != enum:  # the validator refuses two enums with one name
                raise ValueError(f"enum type {qualified(*key)} is defined twice")
            self.enums[key] = enum
        return key

    def indexes(self, table, spec_indexes, pk, uniques, fks, tenant_column) -> tuple[m.Index, ...]:
        out: list[m.Index] = []
        for ix in spec_indexes:
            cols = tuple(ix["columns"])
            out.append(m.Index(index_name(table, cols, ix.get("unique"), ix.get("name")), cols, ix.get("unique", False),
                               ix.get("where"), ix.get("method", "btree")))
        # Leading columns of a full (non-partial) btree index serve a foreign key or a tenant filter.
        leads = [pk, *(u.columns for u in uniques), *(i.columns for i in out if i.where is None)]

        def covered(cols: tuple[str, ...]) -> bool:
            return any(lead[:len(cols)] == cols for lead in leads)

        # Foreign keys first: a same-org key's index (org_id, x_id) also serves the tenant filter.
        # Longest first, so (org_id) is covered when it leads one of them.
        wanted = sorted([(fk.columns, "foreign key") for fk in fks], key=lambda w: -len(w[0]))
        wanted += [((tenant_column,), "tenant")] if tenant_column else []
        for cols, reason in wanted:
            if not covered(cols):
                name = constraint_name(table, cols, "idx")
                if any(i.name == name for i in out):  # a partial index of the spec took the usual name
                    name = constraint_name(table, cols, "fk_idx" if reason == "foreign key" else "tenant_idx")
                out.append(m.Index(name, cols, reason=reason))
                leads.append(cols)
        return tuple(out)
