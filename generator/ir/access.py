"""The IR's roles, permission matrix, tenancy and SSO, and each entity's Odoo mapping, from the spec."""
from __future__ import annotations

import json

from generator.ir import model as m
from generator.load import defaults as d

COMMANDS = ("select", "insert", "update", "delete")


def odoo_mapping(e: dict, observability: m.Observability) -> m.OdooMapping | None:
    """The Odoo model, fields and sync settings of a mapped entity, or None."""
    odoo = e.get("odoo")
    if not odoo:
        return None
    fields = []
    for column, spec in odoo["fields"].items():
        if isinstance(spec, str):
            fields.append(m.OdooFieldMap(column, spec, "scalar"))
        elif "many2many" in spec:
            fields.append(m.OdooFieldMap(column, spec["field"], "many2many", spec["many2many"]))
        elif "one2many" in spec:
            fields.append(m.OdooFieldMap(column, spec["field"], "one2many", spec["one2many"],
                                         inverse=spec["inverse"]))
        elif "many2one" in spec:
            fields.append(m.OdooFieldMap(column, spec["field"], "many2one", spec["many2one"]))
        else:
            fields.append(m.OdooFieldMap(column, spec["field"], "selection" if spec.get("selection") else "scalar"))
    sync = odoo.get("sync") or {}
    default_direction = "pull" if d.owner(e) == "odoo" else "both"
    return m.OdooMapping(
        model=odoo["model"], domain_json=json.dumps(odoo.get("domain") or [], sort_keys=True),
        context=tuple(sorted((odoo.get("context") or {}).items())), fields=tuple(fields),
        direction=sync.get("direction", default_direction), batch_size=sync.get("batch_size", 500),
        conflict=sync.get("conflict"),
        stall_minutes=sync.get("stall_minutes", observability.stall_minutes), external_ref=odoo.get("external_ref"))


def roles(roles_doc: dict) -> tuple[m.Role, ...]:
    """Roles in the order written, each with the org roles that count as at least it."""
    raw = roles_doc["roles"]
    parents = {r["name"]: r.get("inherits") for r in raw}

    def ancestors(name):
        out, cur = [], parents.get(name)
        while cur is not None:
            out.append(cur)
            cur = parents.get(cur)
        return out

    satisfied: dict[str, list[str]] = {r["name"]: [r["name"]] for r in raw}
    for r in raw:
        for a in ancestors(r["name"]):
            satisfied[a].append(r["name"])
    order = [r["name"] for r in raw]
    return tuple(m.Role(r["name"], r.get("description", ""), r.get("inherits"), r.get("system"),
                        tuple(sorted(satisfied[r["name"]], key=order.index)) if "system" not in r else ())
                 for r in raw)

def permissions(spec: dict, roles_doc: dict) -> tuple[m.Permission, ...]:
    by_entity = {e["name"]: e for e in spec["entities"]}
    out = []
    for entity_name, commands in sorted((roles_doc.get("permissions") or {}).items()):
        e = by_entity[entity_name]
        for command in COMMANDS:
            grants = d.grants_of(commands.get(command))
            if not grants:
                continue
            out.append(m.Permission(d.schema(e), d.table(e), entity_name, command, tuple(
                m.Grant(g["role"], g.get("rows", d.default_rows(e, spec)), tuple(g.get("columns") or ()))
                for g in grants)))
    return tuple(sorted(out, key=lambda p: (p.schema, p.table, COMMANDS.index(p.command))))

def tenancy(spec: dict, roles_doc: dict, targets: dict[str, tuple[str, str, str]]) -> m.Tenancy | None:
    """The tenancy root and membership tables; `targets` gives (schema, table, key) by entity."""
    tenancy_doc = spec.get("tenancy")
    if not tenancy_doc:
        return None
    root = targets[tenancy_doc["root"]]
    membership = tenancy_doc["membership"]
    mem = targets[membership["entity"]]
    rules = roles_doc.get("memberships") or {}
    return m.Tenancy(root[0], root[1], d.tenant_column(spec), mem[0], mem[1],
                     membership.get("user", d.MEMBERSHIP_USER), membership.get("role", d.MEMBERSHIP_ROLE),
                     ceiling=rules.get("ceiling", "none") == "own_rank", keep_one=rules.get("keep_one"))

def sso(roles_doc: dict) -> m.SSO | None:
    sso = roles_doc.get("sso")
    if not sso:
        return None
    return m.SSO(sso["claim_path"], tuple(sorted((sso.get("groups") or {}).items())))
