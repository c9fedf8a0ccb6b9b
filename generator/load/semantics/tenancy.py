"""Tenancy rules: the root and membership entities, and cycles of required references."""
from __future__ import annotations

from generator.load import defaults as d
from generator.load.semantics.base import Rules


class TenancyRules(Rules):
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
