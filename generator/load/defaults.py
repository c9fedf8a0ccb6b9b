"""The spec's defaults, in one place, so the validator and the IR builder can never disagree."""
from __future__ import annotations

from typing import Any

TENANT_COLUMN = "org_id"
MEMBERSHIP_USER = "user_id"
MEMBERSHIP_ROLE = "role"
OWNED_BY = "created_by"
DEFAULT_EXPOSED = ("app",)
TIMESTAMP_COLUMNS = ("created_at", "updated_at")
# Columns every Odoo-mapped table carries: which instance and record it mirrors, and sync bookkeeping.
ODOO_COLUMNS = ("instance_id", "odoo_id", "odoo_write_date", "synced_at", "odoo_deleted_at")
AUTH_USERS = "auth.users"


def owner(entity: dict) -> str:
    return entity.get("owner", "app")


def schema(entity: dict) -> str:
    return entity.get("schema") or ("odoo" if owner(entity) == "odoo" else "app")


def table(entity: dict) -> str:
    return entity.get("table") or entity["name"]


def scope(entity: dict, spec: dict) -> str:
    tenancy = spec.get("tenancy")
    if tenancy and tenancy.get("root") == entity.get("name"):
        return "global"
    return entity.get("scope") or ("tenant" if tenancy else "global")


def tenant_column(spec: dict) -> str:
    return (spec.get("tenancy") or {}).get("column", TENANT_COLUMN)


def composite_key(entity: dict) -> list[str] | None:
    """The field names of a composite primary key (`primary_key: [a, b]`), else None."""
    pk = entity.get("primary_key")
    return list(pk) if isinstance(pk, list) else None


def primary_key(entity: dict) -> dict:
    """The key as a field definition; a bare name means a uuid with a random default.
    Not for an entity with a composite key (see composite_key): its key columns are fields."""
    pk = entity.get("primary_key", "id")
    if isinstance(pk, str):
        return {"name": pk, "type": "uuid", "default_sql": "gen_random_uuid()", "required": True}
    field = dict(pk)
    field["required"] = True
    if "type" not in field and "references" not in field:
        field["type"] = "bigint" if field.get("identity") else "uuid"
    if field.get("type", "uuid") == "uuid" and "default" not in field and "default_sql" not in field \
            and "references" not in field:
        field["default_sql"] = "gen_random_uuid()"
    return field


def key_field(entities: dict[str, dict], target: str) -> tuple[dict, dict] | None:
    """(entity, key field) whose type a reference to `target` takes: the target's primary key, followed
    through keys that are themselves references. None for auth.users, an unknown entity or a cycle."""
    seen: set[str] = set()
    while target in entities and target not in seen:
        seen.add(target)
        if composite_key(entities[target]) is not None:  # a single column cannot reference it
            return None
        pk = primary_key(entities[target])
        if "references" not in pk:
            return entities[target], pk
        target = pk["references"]
    return None


def uniques(entity: dict) -> list[tuple[list[str], bool]]:
    """The entity's `unique:` list as (columns, nulls_distinct): a bare list of fields, or
    {columns: [...], nulls_distinct: false} for `unique nulls not distinct`."""
    out = []
    for u in entity.get("unique") or []:
        if isinstance(u, dict):
            out.append((list(u.get("columns") or []), u.get("nulls_distinct", True)))
        else:
            out.append((list(u), True))
    return out


def timestamps(entity: dict) -> bool:
    return entity.get("timestamps", True)


def is_mapped(entity: dict) -> bool:
    return owner(entity) in ("odoo", "shared")


def system_columns(entity: dict, spec: dict) -> list[str]:
    """Names the compiler adds to an entity's table, which a field may not reuse."""
    names = [] if composite_key(entity) is not None else [primary_key(entity)["name"]]
    if scope(entity, spec) == "tenant":
        names.append(tenant_column(spec))
    if is_mapped(entity):
        names.extend(ODOO_COLUMNS)
    if timestamps(entity):
        names.extend(TIMESTAMP_COLUMNS)
    return names


def exposed_schemas(spec: dict) -> tuple[str, ...]:
    return tuple((spec.get("api") or {}).get("exposed_schemas", DEFAULT_EXPOSED))


def grants_of(value: Any) -> list[dict]:
    """A command's grants, whether written as one mapping or a list."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def default_rows(entity: dict, spec: dict) -> str:
    tenancy = spec.get("tenancy") or {}
    if scope(entity, spec) == "tenant" or tenancy.get("root") == entity.get("name"):
        return "org"
    return "all"
