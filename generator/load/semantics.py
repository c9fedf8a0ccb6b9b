"""Semantic rules a JSON Schema cannot express: references, names, tenancy, cycles, cross-file roles.

Runs on structurally valid data only. Every finding is collected; nothing stops at the first one.
"""
from __future__ import annotations

import datetime as _dt
import decimal as _dec
import re
from typing import Any

from generator.errors import Diagnostic
from generator.load.platform_tables import TABLE_NAMES as PLATFORM_TABLES
from generator.names import MAX_IDENT_BYTES, identifier_problem, index_name
from generator.odoo_domain import OPERATORS, DomainError, validate as validate_domain
from generator.patterns import problem as pattern_problem
from generator.load import defaults as d
from generator.load import relations
from generator.load.loader import SourceFile
from generator.sqltypes import INTEGER_RANGE, INTEGERS, NUMBERS, TEXTS, FieldType, TypeSyntaxError, index_method_problem, parse_type

COMMANDS = ("select", "insert", "update", "delete")
_CALLS_AUTH_UID = re.compile(r"\bauth\s*\.\s*uid\s*\(\s*\)", re.I)
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class SemanticChecker:
    def __init__(self, entities: SourceFile, roles: SourceFile):
        self.ef, self.rf = entities, roles
        self.spec: dict = entities.data
        self.roles_doc: dict = roles.data
        self.out: list[Diagnostic] = []
        self.entities: dict[str, tuple[int, dict]] = {}
        self.enums: dict[str, list[str]] = dict(
            (name, e["values"]) for name, e in (self.spec.get("enums") or {}).items())
        self.field_types: dict[tuple[str, str], FieldType | None] = {}

    # -- plumbing ---------------------------------------------------------------------------
    def err(self, path: tuple, message: str, hint: str = "", key: bool = False, roles: bool = False) -> None:
        self.out.append((self.rf if roles else self.ef).diag(path, message, hint, key=key))

    def expression_ok(self, path: tuple, text: str, what: str) -> None:
        """default_sql and an index's where are pasted into SQL as written: one expression only."""
        # imported here: sqlglot takes ~0.2 s to import, which a spec without expressions need not pay
        from generator.load.expressions import expression_problem, message as expression_message

        problem = expression_problem(text)
        if problem:
            self.err(path, expression_message(what, problem[0]), problem[1])

    def name_ok(self, path: tuple, name: Any, what: str, roles: bool = False) -> None:
        problem = identifier_problem(name)
        if problem:
            self.err(path, f"{what}: {problem[0]}", problem[1], roles=roles)

    def run(self) -> list[Diagnostic]:
        self.check_entity_names()
        self.check_enums()
        for i, entity in enumerate(self.spec["entities"]):
            self.check_entity(i, entity)
        for i, entity in enumerate(self.spec["entities"]):
            self.check_composite_references(i, entity)
        self.check_tenancy()
        self.check_required_cycles()
        self.check_roles()
        return self.out

    # -- entities ---------------------------------------------------------------------------
    def check_entity_names(self) -> None:
        tables: dict[tuple[str, str], str] = {}
        exposed_names: dict[str, str] = {}
        exposed = d.exposed_schemas(self.spec)
        for i, entity in enumerate(self.spec["entities"]):
            name = entity["name"]
            self.name_ok(("entities", i, "name"), name, "entity")
            if name in self.entities:
                self.err(("entities", i, "name"), f"duplicate entity {name!r}",
                         f"entity names must be unique; the first is at entities[{self.entities[name][0]}]")
                continue
            self.entities[name] = (i, entity)
            table = d.table(entity)
            if "table" in entity:
                self.name_ok(("entities", i, "table"), table, "table")
            key = (d.schema(entity), table)
            where = ("entities", i, "table" if "table" in entity else "name")
            if key in PLATFORM_TABLES:
                self.err(where, f"table {key[0]}.{key[1]} is one of the platform's own tables",
                         "set a different `table:` for this entity")
            if key[0] in exposed and table in exposed_names and exposed_names[table] != key[0]:
                self.err(where, f"table name {table!r} is used in two exposed schemas "
                         f"({exposed_names[table]} and {key[0]}); the Data API serves both at /{table}",
                         "give one of the tables another name")
            if key[0] in exposed:
                exposed_names.setdefault(table, key[0])
            if key in tables:
                self.err(("entities", i, "table" if "table" in entity else "name"),
                         f"table {key[0]}.{key[1]} is already used by entity {tables[key]!r}",
                         "set a different `table:` for one of them")
            tables[key] = name

    def check_enums(self) -> None:
        for name, enum in (self.spec.get("enums") or {}).items():
            self.name_ok(("enums", name), name, "enum")
            self.check_enum_values(("enums", name, "values"), enum["values"])
            self.check_renamed_values(("enums", name, "renamed_values"), enum, enum["values"])

    def check_renamed_values(self, path: tuple, owner: dict, values: list[str] | None) -> None:
        """`renamed_values: {new: old}`: each new value is one of the enum's values, each old one is not."""
        renames = owner.get("renamed_values")
        if renames is None:
            return
        if values is None:
            self.err(path, "`renamed_values:` renames values of an enum: it needs type: enum with `values:` "
                     "(or, for a named enum, goes on the enum itself)", "remove it, or move it to the named enum")
            return
        olds: dict[str, str] = {}
        for new, old in renames.items():
            if new not in values:
                self.err((*path, new), f"renamed value {new!r} is not one of the enum's values",
                         f"values: {', '.join(values)}", key=True)
            elif old in values:
                self.err((*path, new), f"old value {old!r} is still one of the enum's values",
                         "a renamed value's old name must be gone from `values:`")
            elif old in olds:
                self.err((*path, new), f"old value {old!r} is renamed twice (to {olds[old]!r} and {new!r})",
                         "rename each old value once")
            olds.setdefault(old, new)

    def check_enum_values(self, path: tuple, values: list[str]) -> None:
        seen = set()
        for j, value in enumerate(values):
            if value in seen:
                self.err((*path, j), f"duplicate enum value {value!r}", "each value may appear once")
            seen.add(value)
            if len(value.encode("utf-8")) > MAX_IDENT_BYTES:
                self.err((*path, j), f"enum value {value!r} is longer than {MAX_IDENT_BYTES} bytes", "shorten it")

    def check_entity(self, i: int, entity: dict) -> None:
        base = ("entities", i)
        owner = d.owner(entity)
        if owner == "odoo" and "odoo" not in entity:
            self.err((*base, "owner"), f"entity {entity['name']!r} is owned by odoo but has no `odoo:` mapping",
                     "add odoo: {model: ..., fields: {column: odoo_field}}")
        if owner == "app" and "odoo" in entity:
            self.err((*base, "odoo"), f"entity {entity['name']!r} is app-owned but has an odoo mapping",
                     "set owner: shared to sync it with Odoo, or remove the mapping")
        if entity.get("scope") == "tenant" and not self.spec.get("tenancy"):
            self.err((*base, "scope"), f"entity {entity['name']!r} is tenant-scoped but the spec has no tenancy",
                     "add tenancy: {root: <org entity>, membership: {entity: <membership entity>}}, "
                     "or set scope: global")
        system = d.system_columns(entity, self.spec)
        seen: dict[str, int] = {}
        pk = entity.get("primary_key")
        if isinstance(pk, dict):
            # an identity key without `type:` is bigint (defaults.primary_key)
            self.check_field((*base, "primary_key"), entity,
                             {"type": "bigint", **pk} if pk.get("identity") and "references" not in pk else pk)
        elif isinstance(pk, str):
            self.name_ok((*base, "primary_key"), pk, "primary key")
        for j, field in enumerate(entity["fields"]):
            path = (*base, "fields", j)
            name = field["name"]
            if name in seen:
                self.err((*path, "name"), f"duplicate field {name!r} in entity {entity['name']!r}",
                         f"the first is fields[{seen[name]}]")
                continue
            seen[name] = j
            if name in system:
                self.err((*path, "name"), f"field {name!r} clashes with a column specgen adds to "
                         f"{entity['name']!r}", f"specgen adds {', '.join(system)}; rename the field")
            self.check_field(path, entity, field)
        columns = set(seen) | set(system)
        if isinstance(pk, list):
            self.check_composite_key(base, entity, pk, seen)
        elif d.is_mapped(entity):
            self.check_mapped_key(base, entity)
        for k, (cols, _) in enumerate(d.uniques(entity)):
            path = (*base, "unique", k, "columns") if isinstance(entity["unique"][k], dict) else (*base, "unique", k)
            self.check_columns(path, entity, cols, columns)
        table = d.table(entity)
        named: dict[str, str] = {index_name(table, [f["name"]], unique=True): f"the unique of field {f['name']!r}"
                                 for f in entity["fields"] if f.get("unique")}
        for k, (cols, _) in enumerate(d.uniques(entity)):
            name = index_name(table, cols, unique=True)
            if name in named:  # one constraint name twice would fail in PostgreSQL
                self.err((*base, "unique", k), f"unique[{k}] of {entity['name']!r} repeats {named[name]} "
                         f"({', '.join(cols)})", "keep one of them (say nulls_distinct: false on the one kept)")
            named.setdefault(name, f"unique[{k}]")
        for k, index in enumerate(entity.get("indexes") or []):
            self.check_columns((*base, "indexes", k, "columns"), entity, index["columns"], columns)
            if "name" in index:
                self.name_ok((*base, "indexes", k, "name"), index["name"], "index")
            if "where" in index:
                self.expression_ok((*base, "indexes", k, "where"), index["where"], "an index's where")
            self.check_index_method((*base, "indexes", k), entity, index)
            # PostgreSQL names indexes per schema: two with one name would fail when the migration runs
            ix_name = index_name(table, index["columns"], index.get("unique"), index.get("name"))
            if ix_name in named:
                self.err((*base, "indexes", k), f"index name {ix_name!r} is already taken by {named[ix_name]} of "
                         f"{entity['name']!r}", "give this index its own `name:` (e.g. one that says what the "
                         "`where:` selects)")
            named.setdefault(ix_name, f"indexes[{k}]")
        if "owned_by" in entity and entity["owned_by"] not in columns:
            self.err((*base, "owned_by"), f"owned_by names unknown field {entity['owned_by']!r}",
                     f"fields of {entity['name']!r}: {', '.join(sorted(columns))}")
        else:
            self.check_owner_type(base, entity, seen)
        if "odoo" in entity:
            self.check_mapping(base, entity, seen)

    def owner_field(self, entity: dict) -> tuple[tuple, dict] | None:
        """The owner column (owned_by, default created_by) as (its path, its field definition), if present."""
        base = ("entities", self.entities.get(entity["name"], (None,))[0])
        name = entity.get("owned_by", d.OWNED_BY)
        for j, field in enumerate(entity["fields"]):
            if field["name"] == name:
                return (*base, "fields", j), field
        if d.composite_key(entity) is None and d.primary_key(entity)["name"] == name:
            pk = entity.get("primary_key")
            return (*base, "primary_key") if isinstance(pk, dict) else (*base, "owned_by"), d.primary_key(entity)
        return None

    def check_owner_type(self, base: tuple, entity: dict, seen: dict) -> None:
        """The owner column is compared with auth.uid(), a uuid: `text = uuid` does not exist in PostgreSQL."""
        name = entity.get("owned_by", d.OWNED_BY)
        found = self.owner_field(entity)
        where = (*base, "owned_by") if "owned_by" in entity else None
        if found is None:
            if "owned_by" in entity:  # a column specgen adds (org_id, created_at, ...), not a user's id
                self.err(where, f"owned_by names {name!r}, a column specgen adds, not one holding a user's id",
                         "name a uuid field (default_sql: auth.uid()) or the primary key")
            return
        path, field = found
        if "references" in field:
            ftype = FieldType("uuid") if field["references"] == d.AUTH_USERS else \
                self.field_types.get((entity["name"], field["name"]))
        else:
            try:
                ftype = parse_type(field.get("type", "uuid"))
            except TypeSyntaxError:
                return  # reported at the type already
        if ftype is None or ftype.base != "uuid" or ftype.array:
            self.err(where or (*path, "type"), f"owner column {name!r} of {entity['name']!r} is "
                     f"{field.get('type', 'a reference')}, but it is compared with auth.uid(), a uuid"
                     + ("" if "owned_by" in entity else f" ({d.OWNED_BY!r} is the owner column unless owned_by "
                        "names another)"),
                     "make it type: uuid (or references: auth.users), or set owned_by: to a uuid field")

    def check_owner_default(self, entity: dict, path: tuple) -> None:
        """Clients never write the owner column (generator/emit/policies.py writable_columns), so where insert
        is granted its value must come from its default, and that default must be the caller."""
        found = self.owner_field(entity)
        if found is None:
            return
        fpath, field = found
        if not _CALLS_AUTH_UID.search(str(field.get("default_sql", ""))):
            name = field["name"]
            self.err(path, f"insert is granted on {entity['name']!r}, but clients never write its owner column "
                     f"{name!r} ({self.ef.path}:{self.ef.locate(fpath)[0]}) and its default "
                     f"does not call auth.uid(): " + ("every insert would fail (it is required)" if field.get("required")
                                             else "every inserted row would have no owner"),
                     f"give {name!r} default_sql: auth.uid() in entities.yaml", roles=True)

    def check_mapped_key(self, base: tuple, entity: dict) -> None:
        """The sync keys the rows it mirrors by a uuid (odoo.entity_mappings.local_id, odoo.outbox.local_id,
        and bridge/sync/upsert.py's `::uuid[]` casts): an Odoo-mapped entity's own key is a uuid."""
        key = d.primary_key(entity)
        if "references" in key:
            return  # typed as its target's key, checked there
        try:
            ftype = parse_type(key.get("type", "uuid"))
        except TypeSyntaxError:
            return  # reported at the type
        if key.get("identity") or ftype.base != "uuid" or ftype.array:
            self.err((*base, "primary_key"), f"entity {entity['name']!r} is synced with Odoo, so its primary key "
                     f"is a uuid, not {'an identity' if key.get('identity') else _type_text(ftype)}",
                     "the sync keys mirrored rows by a uuid: keep the default key (a uuid id) and give a code or "
                     "number of your own a field with unique: true")

    def check_composite_key(self, base: tuple, entity: dict, pk: list, fields: dict[str, int]) -> None:
        """`primary_key: [a, b]`: two or more of the entity's own fields, each at most once."""
        path = (*base, "primary_key")
        name = entity["name"]
        if d.is_mapped(entity):
            self.err(path, f"entity {name!r} is synced with Odoo and cannot have a composite primary key",
                     "the sync keys rows by one uuid column: give it primary_key: id and a unique: [...] "
                     "on these fields instead")
        for k, col in enumerate(pk):
            if col not in fields:
                known = ", ".join(sorted(fields)) or "none"
                self.err((*path, k), f"composite primary key of {name!r} names {col!r}, which is not one of its "
                         f"fields", f"list fields declared under fields: ({known})")
                continue
            if pk.index(col) != k:
                self.err((*path, k), f"field {col!r} appears twice in the primary key of {name!r}",
                         "list each field once")
                continue
            field = entity["fields"][fields[col]]
            if field.get("on_delete") in ("set null", "set default"):
                self.err((*base, "fields", fields[col], "on_delete"), f"field {col!r} is part of the primary key of {name!r}, "
                         f"which cannot be {field['on_delete']}", "use cascade or restrict")

    def check_composite_references(self, i: int, entity: dict) -> None:
        """An entity-level `references:` entry: this entity's fields, one per column of the target's
        composite key, of the same types, in the key's order."""
        name = entity["name"]
        if self.entities.get(name, (None,))[0] != i:
            return  # a duplicate entity, reported already
        fields = {f["name"]: f for f in entity["fields"]}
        own_key = d.composite_key(entity) or []
        for k, ref in enumerate(entity.get("references") or []):
            path = ("entities", i, "references", k)
            target = ref["entity"]
            if target not in self.entities:
                self.err((*path, "entity"), f"unknown entity {target!r} in references",
                         f"known entities: {', '.join(sorted(self.entities))}")
                continue
            tentity = self.entities[target][1]
            key = d.composite_key(tentity)
            if key is None:
                self.err((*path, "entity"), f"entity {target!r} has a single-column primary key; "
                         f"`references:` on the entity is for composite keys",
                         f"reference it from one field instead: references: {target}")
                continue
            cols = ref["columns"]
            if len(cols) != len(key):
                self.err((*path, "columns"), f"{target!r} has a key of {len(key)} columns ({', '.join(key)}) but "
                         f"{len(cols)} are given", f"name one field of {name!r} for each of {', '.join(key)}, in "
                         "that order")
                continue
            tfields = {f["name"]: f for f in tentity["fields"]}
            for c, (col, kcol) in enumerate(zip(cols, key)):
                if col not in fields:
                    system = d.system_columns(entity, self.spec)
                    self.err((*path, "columns", c), f"{col!r} is not a field of entity {name!r}" +
                             (" but a column specgen adds" if col in system else ""),
                             f"name a field declared under fields:, with the type of {target}.{kcol}" +
                             (" (a same-org reference adds the tenant column itself)" if col in system else ""))
                    continue
                if cols.index(col) != c:
                    self.err((*path, "columns", c), f"field {col!r} appears twice in this reference",
                             "name each field once")
                    continue
                mine, theirs = self.field_types.get((name, col)), self.field_types.get((target, kcol))
                if mine is None or theirs is None or kcol not in tfields:
                    continue  # reported at the field or the key
                same_enum = mine.base != "enum" or (fields[col].get("enum") is not None and
                                                    fields[col].get("enum") == tfields[kcol].get("enum"))
                same_reference = "references" not in fields[col] or \
                    fields[col]["references"] == tfields[kcol].get("references")
                if mine != theirs or not same_enum:
                    self.err((*path, "columns", c), f"field {col!r} is {_type_text(mine)} but {target}.{kcol} "
                             f"is {_type_text(theirs)}", f"give {col!r} the type of {target}.{kcol}"
                             + (" (the same named enum: an inline enum is a type of its own table)"
                                if mine.base == "enum" else ""))
                elif not same_reference:
                    self.err((*path, "columns", c), f"field {col!r} references {fields[col]['references']!r} "
                             f"but {target}.{kcol} does not", f"make {col!r} a plain field, or reference what "
                             f"{target}.{kcol} references")
            on_delete = ref.get("on_delete")
            if on_delete in ("set null", "set default"):
                for c, col in enumerate(cols):
                    if col in own_key:
                        self.err((*path, "on_delete"), f"on_delete {on_delete} would change {col!r}, part of the "
                                 f"primary key of {name!r}", "use cascade or restrict")
                        break
                else:
                    if on_delete == "set null" and all(fields.get(col, {}).get("required") for col in cols):
                        self.err((*path, "on_delete"), f"every field of this reference ({', '.join(cols)}) is "
                                 "required, so set null has none to reset", "use cascade or restrict, or make "
                                 "the field that says who or what optional")

    def check_index_method(self, path: tuple, entity: dict, index: dict) -> None:
        """What PostgreSQL 15 can build, without extensions: only btree is unique, hash takes one column,
        and gin, gist and brin need an operator class for the column's type (types.index_method_problem)."""
        method = index.get("method", "btree")
        where = (*path, "method") if "method" in index else path
        if index.get("unique") and method != "btree":
            self.err(where, f"a {method} index cannot be unique (PostgreSQL builds unique indexes with btree only)",
                     "drop `method:` (btree), or `unique:`")
        if method == "hash" and len(index["columns"]) > 1:
            self.err(where, "a hash index takes one column", "index one column, or use btree for several")
        for col in index["columns"]:
            ftype = self.field_types.get((entity["name"], col))
            problem = index_method_problem(method, ftype) if ftype is not None else None
            if problem:
                self.err(where, f"a {method} index on {col!r} ({_type_text(ftype)}): {problem}",
                         "use btree (any type), gin (arrays, jsonb) or brin (numbers, text, dates, uuid)")

    def check_columns(self, path: tuple, entity: dict, cols: list, known: set) -> None:
        for k, col in enumerate(cols):
            if col not in known:
                self.err((*path, k), f"unknown field {col!r} in entity {entity['name']!r}",
                         f"known fields: {', '.join(sorted(known))}")

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

    def check_mapping(self, base: tuple, entity: dict, fields: dict[str, int]) -> None:
        mapping = entity["odoo"]
        mpath = (*base, "odoo")
        by_name = {f["name"]: f for f in entity["fields"]}
        for column, spec in mapping["fields"].items():
            fpath = (*mpath, "fields", column)
            if isinstance(spec, dict) and ("many2many" in spec or "one2many" in spec):
                self.check_x2many(fpath, entity, column, spec, fields)
                continue
            if column not in fields:
                self.err(fpath, f"odoo field map names unknown column {column!r}",
                         f"fields of {entity['name']!r}: {', '.join(sorted(fields))}", key=True)
                continue
            if not isinstance(spec, dict):
                continue
            field = by_name[column]
            if "many2one" in spec:
                target = spec["many2one"]
                target_entity = self.entities.get(target, (None, None))[1]
                if target_entity is None:
                    self.err((*fpath, "many2one"), f"many2one target {target!r} is not an entity",
                             f"known entities: {', '.join(sorted(self.entities))}")
                elif "odoo" not in target_entity:
                    self.err((*fpath, "many2one"), f"many2one target {target!r} has no odoo mapping",
                             "point many2one at an odoo-owned or shared entity")
                if field.get("references") != target:
                    self.err((*fpath, "many2one"), f"column {column!r} maps a many2one to {target!r} but does "
                             f"not reference it", f"add references: {target} to field {column!r}")
            if spec.get("selection") and field.get("type") != "enum":
                self.err((*fpath, "selection"), f"column {column!r} maps an Odoo selection but is not an enum",
                         "set type: enum with the selection's values")
        if "domain" in mapping:
            try:
                validate_domain(mapping["domain"])
            except DomainError as exc:
                self.err((*mpath, "domain", *exc.where), f"odoo domain: {exc}",
                         ("operators: " + ", ".join(OPERATORS)) if "operator" in str(exc) else
                         "a domain is a list of [field, operator, value] leaves and the prefix operators "
                         "'&', '|' (two operands each) and '!' (one), e.g. ['|', [a, '=', 1], [b, '=', 2]]")
        for j, field in enumerate(entity["fields"]):
            if field.get("required") and "default" not in field and "default_sql" not in field \
                    and field["name"] not in mapping["fields"]:
                self.err((*base, "fields", j, "required"), f"required field {field['name']!r} of "
                         f"{d.owner(entity)} entity {entity['name']!r} has no default and the odoo mapping does "
                         "not fill it: every pulled record would fail its insert and be dead-lettered",
                         f"map it (odoo.fields: {{{field['name']}: <odoo field>}}), give it a default, or make "
                         "it optional")
        sync = mapping.get("sync") or {}
        owner = d.owner(entity)
        if owner == "shared" and "conflict" not in sync:
            self.err(mpath, f"shared entity {entity['name']!r} names no conflict policy",
                     "add sync: {conflict: odoo_wins | app_wins | last_write_wins | field_merge}")
        if owner == "odoo" and "conflict" in sync:
            self.err((*mpath, "sync", "conflict"), "a conflict policy only applies to shared entities",
                     "remove it, or set owner: shared")
        if owner == "odoo" and sync.get("direction") in ("push", "both"):
            self.err((*mpath, "sync", "direction"), "odoo-owned entities are only pulled",
                     "set direction: pull, or owner: shared")

    def check_x2many(self, fpath: tuple, entity: dict, relation: str, spec: dict, fields: dict[str, int]) -> None:
        """A many2many (a generated join table) or one2many (an inverse, no column) mapping."""
        kinds = [k for k in ("many2one", "many2many", "one2many", "selection") if k in spec]
        if len(kinds) > 1:
            self.err(fpath, f"odoo field {relation!r} is mapped as {' and '.join(kinds)} at once",
                     "keep one of them")
            return
        kind = kinds[0]
        target = spec[kind]
        target_entity = self.entities.get(target, (None, None))[1]
        if relation in fields:
            self.err(fpath, f"{kind} {relation!r} has the name of a column of {entity['name']!r}",
                     "a many2many or one2many is a relation, not a column: give it a name no field uses "
                     "(e.g. the plural of its target)", key=True)
        self.name_ok(fpath, relation, "relation")
        if target_entity is None:
            self.err((*fpath, kind), f"{kind} target {target!r} is not an entity",
                     f"known entities: {', '.join(sorted(self.entities))}")
            return
        if kind == "many2many":
            if "inverse" in spec:
                self.err((*fpath, "inverse"), "inverse only applies to a one2many",
                         "remove it: a many2many has its own join table")
            if "odoo" not in target_entity:
                self.err((*fpath, kind), f"many2many target {target!r} has no odoo mapping",
                         "point many2many at an odoo-owned or shared entity")
            name, table, _, _ = relations.join_names(entity, relation, target)
            key = (d.schema(entity), table)
            taken = next((e["name"] for e in self.spec["entities"]
                          if e["name"] == name or (d.schema(e), d.table(e)) == key), None)
            if taken is not None or key in PLATFORM_TABLES:
                self.err(fpath, f"the join table {key[0]}.{table} (entity {name!r}) of many2many {relation!r} "
                         f"is already taken by {'a platform table' if taken is None else repr(taken)}",
                         "rename the relation (the key in odoo.fields) or the other entity")
            else:
                _, _, source_col, target_col = relations.join_names(entity, relation, target)
                long = [(what, text) for what, text in (("join table", table), ("join entity", name),
                                                       ("source column", source_col), ("target column", target_col))
                        if len(text.encode()) > MAX_IDENT_BYTES]
                system = set(d.system_columns(entity, self.spec)) | {"id"}
                if long:
                    what, text = long[0]
                    self.err(fpath, f"the {what} name {text!r} of many2many {relation!r} is "
                             f"{len(text.encode())} bytes, longer than {MAX_IDENT_BYTES}", "use a shorter relation or entity name")
                elif target_col == source_col:  # a self relation named like its entity
                    self.err(fpath, f"many2many {relation!r} would give its join table {key[0]}.{table} the column "
                             f"{target_col!r} twice (source and target)",
                             "rename the relation (the key in odoo.fields): a self relation's target column is "
                             "<relation>_id")
                elif target_col in system or source_col in system:
                    clash = target_col if target_col in system else source_col
                    self.err(fpath, f"many2many {relation!r} would give its join table {key[0]}.{table} the column "
                             f"{clash!r}, which specgen adds to that table too",
                             f"a join table names its columns <entity>_id; a many2many between {entity['name']!r} "
                             f"and {target!r} is not supported here: leave it out of the mapping")
            return
        inverse = spec.get("inverse")
        back = {f["name"]: f for f in target_entity["fields"]}.get(inverse)
        if inverse is None:
            self.err(fpath, f"one2many {relation!r} names no inverse",
                     f"add inverse: <field of {target!r} that references {entity['name']!r}>")
        elif back is None or back.get("references") != entity["name"]:
            many2ones = sorted(f["name"] for f in target_entity["fields"] if f.get("references") == entity["name"])
            self.err((*fpath, "inverse"), f"one2many {relation!r}: {target!r} has no many2one {inverse!r} "
                     f"referencing {entity['name']!r}",
                     f"fields of {target!r} that reference {entity['name']!r}: {', '.join(many2ones)}" if many2ones
                     else f"add a field {{name: {inverse}, references: {entity['name']}}} to {target!r}, or "
                     "remove the one2many")

    # -- tenancy ----------------------------------------------------------------------------
    def check_tenancy(self) -> None:
        tenancy = self.spec.get("tenancy")
        if not tenancy:
            return
        root = tenancy["root"]
        if root not in self.entities:
            self.err(("tenancy", "root"), f"unknown entity {root!r} as tenancy root",
                     f"known entities: {', '.join(sorted(self.entities))}")
        elif self.entities[root][1].get("scope") == "tenant":
            self.err(("entities", self.entities[root][0], "scope"), "the tenancy root cannot be tenant-scoped",
                     "remove scope: tenant; the root is global")
        self.name_ok(("tenancy", "column"), d.tenant_column(self.spec), "tenant column")
        membership = tenancy["membership"]
        entity = membership["entity"]
        if entity not in self.entities:
            self.err(("tenancy", "membership", "entity"), f"unknown entity {entity!r} as membership",
                     f"known entities: {', '.join(sorted(self.entities))}")
            return
        ment = self.entities[entity][1]
        for what, name in (("tenancy root", root), ("membership entity", entity)):
            if name in self.entities and d.composite_key(self.entities[name][1]) is not None:
                self.err(("entities", self.entities[name][0], "primary_key"), f"the {what} {name!r} cannot "
                         "have a composite primary key", "give it primary_key: id (the default)")
        if d.scope(ment, self.spec) != "tenant":
            self.err(("tenancy", "membership", "entity"), f"membership entity {entity!r} must be tenant-scoped",
                     "remove scope: global from it")
        fields = {f["name"]: f for f in ment["fields"]}
        user = membership.get("user", d.MEMBERSHIP_USER)
        role = membership.get("role", d.MEMBERSHIP_ROLE)
        if user not in fields:
            self.err(("tenancy", "membership"), f"membership entity {entity!r} has no user field {user!r}",
                     f"add a field {user!r} with references: auth.users, or set membership.user")
        elif fields[user].get("references") != d.AUTH_USERS:
            self.err(("tenancy", "membership"), f"membership user field {user!r} must reference auth.users",
                     "set references: auth.users on it")
        if role not in fields:
            self.err(("tenancy", "membership"), f"membership entity {entity!r} has no role field {role!r}",
                     "add an enum field holding the role names of roles.yaml, or set membership.role")
        elif self.field_types.get((entity, role)) is None or self.field_types[(entity, role)].base != "enum":
            self.err(("tenancy", "membership"), f"membership role field {role!r} must be an enum",
                     "make it type: enum with the org roles of roles.yaml as values")
        else:
            self.check_role_enum(entity, fields[role])

    def check_role_enum(self, entity: str, field: dict) -> None:
        values = field.get("values") or self.enums.get(field.get("enum"), [])
        org_roles = [r["name"] for r in self.roles_doc["roles"] if "system" not in r]
        i = self.entities[entity][0]
        j = next(k for k, f in enumerate(self.entities[entity][1]["fields"]) if f is field)
        if sorted(values) != sorted(org_roles):
            self.err(("entities", i, "fields", j), f"membership role values {values} differ from the org roles "
                     f"in roles.yaml {org_roles}", "make the enum's values the roles.yaml role names")

    def check_required_cycles(self) -> None:
        """A cycle of required references makes the first insert impossible."""
        edges: dict[str, list[tuple[str, tuple]]] = {}
        tenancy = self.spec.get("tenancy")
        for name, (i, entity) in sorted(self.entities.items()):
            for j, field in enumerate(entity["fields"]):
                target = field.get("references")
                if field.get("required") and target in self.entities:
                    edges.setdefault(name, []).append((target, ("entities", i, "fields", j, "references")))
            if tenancy and d.scope(entity, self.spec) == "tenant" and tenancy["root"] in self.entities:
                edges.setdefault(name, []).append((tenancy["root"], ("entities", i, "name")))
        reported: set[frozenset] = set()
        for start in sorted(edges):
            stack = [(start, [start], [])]
            while stack:
                node, trail, paths = stack.pop()
                for target, path in edges.get(node, []):
                    if target == start:
                        cycle = frozenset(trail)
                        if cycle not in reported:
                            reported.add(cycle)
                            self.err(paths[0] if paths else path,
                                     "cycle of required references: " + " -> ".join([*trail, start]),
                                     "make one of these references optional (required: false)")
                    elif target not in trail and target > start:
                        stack.append((target, [*trail, target], [*paths, path]))

    # -- roles ------------------------------------------------------------------------------
    def check_roles(self) -> None:
        roles: dict[str, dict] = {}
        for i, role in enumerate(self.roles_doc["roles"]):
            name = role["name"]
            self.name_ok(("roles", i, "name"), name, "role", roles=True)
            if name in roles or name in BUILT_IN:
                self.err(("roles", i, "name"), f"duplicate role {name!r}" if name not in BUILT_IN else
                         f"`{name}` is built in ({BUILT_IN[name]})", "role names must be unique", roles=True)
            roles[name] = role
        for i, role in enumerate(self.roles_doc["roles"]):
            parent = role.get("inherits")
            if parent is None:
                continue
            if parent not in roles:
                self.err(("roles", i, "inherits"), f"unknown role {parent!r} in inherits",
                         f"known roles: {', '.join(roles)}", roles=True)
            elif "system" in role or "system" in roles[parent]:
                self.err(("roles", i, "inherits"), "system roles take no part in inheritance",
                         "remove inherits", roles=True)
            else:
                seen, cur = {role["name"]}, parent
                while cur in roles and cur is not None:
                    if cur in seen:
                        self.err(("roles", i, "inherits"), f"role inheritance cycle through {role['name']!r}",
                                 "remove one inherits", roles=True)
                        break
                    seen.add(cur)
                    cur = roles[cur].get("inherits")
        self.check_permissions(roles)
        self.check_sso_membership()
        rules = self.roles_doc.get("memberships") or {}
        if rules and not self.spec.get("tenancy"):
            self.err(("memberships",), "memberships: rules need tenancy (a membership entity) in entities.yaml",
                     "remove memberships:, or declare tenancy", roles=True)
        keep = rules.get("keep_one")
        if keep is not None and (keep not in roles or "system" in roles[keep]):
            self.err(("memberships", "keep_one"), f"keep_one names unknown org role {keep!r}",
                     f"org roles: {', '.join(r for r in roles if 'system' not in roles[r])}", roles=True)
        for group, role in ((self.roles_doc.get("sso") or {}).get("groups") or {}).items():
            if role not in roles or "system" in roles[role]:
                self.err(("sso", "groups", group), f"SSO group {group!r} maps to unknown org role {role!r}",
                         f"org roles: {', '.join(r for r in roles if 'system' not in roles[r])}", roles=True)

    def check_sso_membership(self) -> None:
        """SSO upserts memberships, so (org, user) must be unique in the membership entity."""
        tenancy = self.spec.get("tenancy")
        if not self.roles_doc.get("sso") or not tenancy or tenancy["membership"]["entity"] not in self.entities:
            return
        i, entity = self.entities[tenancy["membership"]["entity"]]
        wanted = {d.tenant_column(self.spec), tenancy["membership"].get("user", d.MEMBERSHIP_USER)}
        uniques = [set(u) for u, _ in d.uniques(entity)]
        uniques += [set(ix["columns"]) for ix in entity.get("indexes") or [] if ix.get("unique") and not ix.get("where")]
        if wanted not in uniques:
            self.err(("sso",), f"SSO keeps memberships in step, which needs a unique ({', '.join(sorted(wanted))}) "
                     f"on {entity['name']!r}", f"add unique: [[{', '.join(sorted(wanted))}]] to entity "
                     f"{entity['name']!r} (entities.yaml)", key=True, roles=True)

    def check_permissions(self, roles: dict[str, dict]) -> None:
        tenancy = self.spec.get("tenancy") or {}
        for entity_name, commands in (self.roles_doc.get("permissions") or {}).items():
            base = ("permissions", entity_name)
            if entity_name not in self.entities:
                self.err(base, f"permissions for unknown entity {entity_name!r}",
                         f"known entities: {', '.join(sorted(self.entities))}", key=True, roles=True)
                continue
            entity = self.entities[entity_name][1]
            columns = {f["name"] for f in entity["fields"]} | set(d.system_columns(entity, self.spec))
            for command in COMMANDS:
                value = commands.get(command)
                multiple = isinstance(value, list)
                if value is not None and command != "select" and d.owner(entity) == "odoo":
                    self.err((*base, command), f"{entity['name']!r} mirrors Odoo and is read-only for API roles",
                             "only the sync writes Odoo mirrors; grant select only, or make the entity shared",
                             roles=True)
                column_sets = {tuple(sorted(g.get("columns") or ())) for g in d.grants_of(value)}
                if len(column_sets) > 1:
                    self.err((*base, command), f"the {command} grants of {entity['name']!r} name different columns",
                             "column privileges apply to every signed-in user alike, so all grants of one "
                             "command must list the same columns (or none)", roles=True)
                for k, grant in enumerate(d.grants_of(value)):
                    path = (*base, command, k) if multiple else (*base, command)
                    self.check_grant(path, entity, grant, roles, columns, command, tenancy)
                if command == "insert" and value is not None and d.owner(entity) != "odoo":
                    self.check_owner_default(entity, (*base, command))

    def check_grant(self, path, entity, grant, roles, columns, command, tenancy) -> None:
        role = grant["role"]
        if role == "authenticated":
            self.check_signed_in_grant(path, entity, grant)
            return self.check_grant_columns(path, entity, grant, columns, command)
        if role != "anon" and role not in roles:
            self.err((*path, "role"), f"unknown role {role!r}", f"roles: anon, authenticated, {', '.join(roles)}",
                     roles=True)
        elif role in roles and "system" in roles[role]:
            self.err((*path, "role"), f"{role!r} is a system role and bypasses RLS; it needs no permission",
                     "remove this grant", roles=True)
        if role != "anon" and not tenancy:
            self.err((*path, "role"), f"role {role!r} is an org role, but the spec has no tenancy",
                     "add tenancy to entities.yaml, or grant to anon", roles=True)
        rows = grant.get("rows", d.default_rows(entity, self.spec))
        if rows == "org" and d.default_rows(entity, self.spec) != "org":
            self.err((*path, "rows"), f"rows: org needs a tenant-scoped entity; {entity['name']!r} is global",
                     "use rows: all or rows: own", roles=True)
        if rows == "co_members":
            owned_by = entity.get("owned_by", d.OWNED_BY)
            if d.default_rows(entity, self.spec) != "all":
                self.err((*path, "rows"), f"rows: co_members is for global entities keyed by a user (a profile); "
                         f"{entity['name']!r} is tenant-scoped", "use rows: org", roles=True)
            elif owned_by not in columns:
                self.err((*path, "rows"), f"rows: co_members needs the user column {owned_by!r} on "
                         f"{entity['name']!r}", "set owned_by: to the field holding the user's id", roles=True)
        if rows == "own":
            owned_by = entity.get("owned_by", d.OWNED_BY)
            if owned_by not in columns:
                self.err((*path, "rows"), f"rows: own needs a field {owned_by!r} on {entity['name']!r}",
                         f"add a field {owned_by!r} (uuid, default_sql: auth.uid()) or set owned_by: on the "
                         "entity", roles=True)
        self.check_grant_columns(path, entity, grant, columns, command)
        if role == "anon" and command != "select":
            self.err((*path, "role"), f"anon may only select; {command} needs a signed-in role",
                     "grant it to an org role", roles=True)


    def check_grant_columns(self, path, entity, grant, columns, command) -> None:
        for k, col in enumerate(grant.get("columns") or []):
            if col not in columns:
                self.err((*path, "columns", k), f"unknown field {col!r} in entity {entity['name']!r}",
                         f"known fields: {', '.join(sorted(columns))}", roles=True)
        if grant.get("columns") and command == "delete":
            self.err((*path, "columns"), "delete cannot be limited to columns", "remove columns", roles=True)

    def check_signed_in_grant(self, path, entity, grant) -> None:
        """`role: authenticated`: every signed-in user, member of an org or not. Rows of an org are for its
        members (an org role), so the grant is for global entities, with rows: all or own."""
        if d.default_rows(entity, self.spec) == "org":
            self.err((*path, "role"), f"{entity['name']!r} holds rows of orgs, and a grant to every signed-in user "
                     "would open them to people outside the org", "grant an org role (every member of the org), "
                     "or make the entity scope: global", roles=True)
            return
        rows = grant.get("rows", "all")
        if rows not in ("all", "own"):
            self.err((*path, "rows"), f"rows: {rows} needs an org role; a grant to every signed-in user takes "
                     "rows: all or rows: own", "use rows: all or rows: own, or grant an org role", roles=True)
        elif rows == "own" and entity.get("owned_by", d.OWNED_BY) not in (
                {f["name"] for f in entity["fields"]} | set(d.system_columns(entity, self.spec))):
            owned_by = entity.get("owned_by", d.OWNED_BY)
            self.err((*path, "rows"), f"rows: own needs a field {owned_by!r} on {entity['name']!r}",
                     f"add a field {owned_by!r} (uuid, default_sql: auth.uid()) or set owned_by: on the "
                     "entity", roles=True)


BUILT_IN = {"anon": "the public", "authenticated": "every signed-in user"}


def _type_text(t: FieldType) -> str:
    base = t.base
    if t.length is not None:
        base += f"({t.length})"
    elif t.precision is not None:
        base += f"({t.precision},{t.scale})"
    return base + ("[]" if t.array else "")


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


def check_semantics(entities: SourceFile, roles: SourceFile) -> list[Diagnostic]:
    return SemanticChecker(entities, roles).run()
