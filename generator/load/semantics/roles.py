"""Role rules (roles.yaml): roles, SSO groups, memberships and the permission matrix."""
from __future__ import annotations

from generator.load import defaults as d
from generator.load.semantics.base import Rules

COMMANDS = ("select", "insert", "update", "delete")
BUILT_IN = {"anon": "the public", "authenticated": "every signed-in user"}


class RoleRules(Rules):
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
