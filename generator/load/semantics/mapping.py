"""Odoo mapping rules: the model, its fields, many2one, many2many and one2many."""
from __future__ import annotations

from generator.load import defaults as d, relations
from generator.load.platform_tables import TABLE_NAMES as PLATFORM_TABLES
from generator.names import MAX_IDENT_BYTES
from generator.load.semantics.base import Rules
from generator.odoo_domain import OPERATORS, DomainError, validate as validate_domain


class MappingRules(Rules):
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
        self.check_external_ref(mpath, entity)

    def check_external_ref(self, mpath: tuple, entity: dict) -> None:
        """The push writes its marker into `external_ref`: a field no column maps, on an entity it pushes."""
        mapping = entity["odoo"]
        ref = mapping.get("external_ref")
        if ref is None:
            return
        mapped = {spec if isinstance(spec, str) else spec.get("field"): column
                  for column, spec in mapping["fields"].items()}
        if ref in mapped:
            self.err((*mpath, "external_ref"), f"external_ref {ref!r} is the Odoo field of column "
                     f"{mapped[ref]!r}: the push would overwrite that column's value with its marker",
                     "name an Odoo char field no column maps (e.g. ref on res.partner), or leave it out")
        direction = (mapping.get("sync") or {}).get("direction", "pull" if d.owner(entity) == "odoo" else "both")
        if direction == "pull":
            self.err((*mpath, "external_ref"), f"external_ref on {entity['name']!r}, which is only pulled: "
                     "only the push creates records and writes it", "remove it, or set sync: {direction: both}")

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
