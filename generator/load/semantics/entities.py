"""Entity rules: names, enums, keys, owners, indexes and composite references."""
from __future__ import annotations

import re

from generator.layout import GENERATED, LEGACY_SUPABASE_DIR
from generator.load import defaults as d
from generator.load.platform_tables import TABLE_NAMES as PLATFORM_TABLES
from generator.load.semantics.base import Rules, _type_text
from generator.names import MAX_IDENT_BYTES, index_name
from generator.sqltypes import FieldType, TypeSyntaxError, index_method_problem, parse_type

_CALLS_AUTH_UID = re.compile(r"\bauth\s*\.\s*uid\s*\(\s*\)", re.I)


class EntityRules(Rules):
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

    def check_project(self) -> None:
        where = self.spec["project"].get("supabase_dir")
        if where is None:
            return
        if where == "spec" or where.startswith("spec/"):
            self.err(("project", "supabase_dir"), f"supabase_dir {where!r} is inside spec/",
                     "put the Supabase folder beside spec/, e.g. supabase_dir: supabase")
        elif where.startswith(GENERATED + "/") and where != LEGACY_SUPABASE_DIR:
            self.err(("project", "supabase_dir"), f"supabase_dir {where!r} is inside generated/, which specgen owns",
                     "use supabase (the default), or generated/supabase where older projects kept it")

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
