"""Odoo relations that are not a column: many2many (a generated join table) and one2many (an inverse).

An entity's Odoo mapping may map a *relation name* (not a column) to an Odoo x2many field:

    tags: {field: category_id, many2many: tag}          # join table <table>_tags
    contacts: {field: child_ids, one2many: contact, inverse: parent_id}

The compiler turns each many2many into an ordinary spec entity (``join_entities``) before it builds the
IR, so the join table gets the same tenancy, RLS, audit, indexes and generated types as any other table.
A one2many adds nothing to the database: it is documented as the inverse of the target's many2one.
"""
from __future__ import annotations

from generator.load import defaults as d


def x2many(entity: dict) -> list[tuple[str, dict]]:
    """(relation name, mapping) of the entity's many2many and one2many mappings, in spec order."""
    fields = (entity.get("odoo") or {}).get("fields") or {}
    return [(k, v) for k, v in fields.items() if isinstance(v, dict) and ("many2many" in v or "one2many" in v)]


def join_names(entity: dict, relation: str, target: str) -> tuple[str, str, str, str]:
    """(join entity name, join table, source column, target column) of a many2many."""
    source_col = f"{entity['name']}_id"
    target_col = f"{target}_id" if target != entity["name"] else f"{relation}_id"
    return f"{entity['name']}_{relation}", f"{d.table(entity)}_{relation}", source_col, target_col


def join_entity(spec: dict, entity: dict, relation: str, mapping: dict) -> dict:
    target = mapping["many2many"]
    name, table, source_col, target_col = join_names(entity, relation, target)
    odoo = entity["odoo"]
    out = {
        "name": name, "table": table, "schema": d.schema(entity),
        # not a mapped table itself (no odoo_id: a pair has no Odoo record); for an Odoo-owned source the
        # grants (join_permissions) leave it read-only to API roles, so only the sync writes its rows
        "owner": "app",
        "scope": d.scope(entity, spec),
        "description": f"Many2many {entity['name']}.{relation} -> {target} (Odoo {odoo['model']}.{mapping['field']}); "
                       f"one row per linked pair.",
        "fields": [
            {"name": source_col, "references": entity["name"], "required": True, "on_delete": "cascade",
             "description": f"The {entity['name']} row."},
            {"name": target_col, "references": target, "required": True, "on_delete": "cascade",
             "description": f"The linked {target} row."},
        ],
        "unique": [[source_col, target_col]],
        "timestamps": False,
        "audit": entity.get("audit", False),
        "_many2many": {"entity": entity["name"], "relation": relation, "target": target},
    }
    return out


def join_permissions(entity: dict, grants: dict | None, relation: str, spec: dict) -> dict:
    """The join table's grants follow the source entity's: select as its select; adding or removing a
    link (insert, delete) as updating the source row. The join table has neither an owner column nor the
    source's columns, so a row limit (`rows: own`, anything narrower than the entity's default) or a
    column list without the relation cannot be expressed on it: such a grant is not carried over (the
    role then neither sees nor changes the links), never widened to the whole org."""
    grants = grants or {}
    default = d.default_rows(entity, spec)

    def carried(value):
        kept = [{"role": g["role"]} for g in d.grants_of(value)
                if g.get("rows", default) == default and ("columns" not in g or relation in g["columns"])]
        return kept or None
    out = {}
    if grants.get("select") is not None and carried(grants["select"]):
        out["select"] = carried(grants["select"])
    if d.owner(entity) != "odoo" and grants.get("update") is not None and carried(grants["update"]):
        out["insert"] = out["delete"] = carried(grants["update"])
    return out


def expand(spec: dict, roles_doc: dict) -> tuple[dict, dict]:
    """The spec and roles with one entity (and its grants) added per many2many mapping."""
    extra, perms = [], dict(roles_doc.get("permissions") or {})
    for entity in spec["entities"]:
        for relation, mapping in x2many(entity):
            if "many2many" in mapping:
                je = join_entity(spec, entity, relation, mapping)
                extra.append(je)
                granted = join_permissions(entity, perms.get(entity["name"]), relation, spec)
                if granted:
                    perms[je["name"]] = granted
    if not extra:
        return spec, roles_doc
    return {**spec, "entities": [*spec["entities"], *extra]}, {**roles_doc, "permissions": perms}
