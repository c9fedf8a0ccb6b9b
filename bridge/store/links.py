"""SQL on the many2many join tables (``Many2Many.qualified_table()``): one row per (source, target) link.

Every function runs in the caller's transaction and never commits.
"""
from __future__ import annotations


def replace(conn, rel, tenant_column: str | None, tenant_value, sources_of: list, sources: list,
            targets: list) -> int:
    """Make the links of the rows ``sources_of`` exactly the pairs (sources[i], targets[i]): links not
    among them are deleted, new ones inserted, the others left alone. Returns how many rows changed."""
    table, src, dst = rel.qualified_table(), f'"{rel.source_column}"', f'"{rel.target_column}"'
    with conn.cursor() as cur:
        cur.execute(f"delete from {table} j where j.{src} = any(%s::uuid[]) and (j.{src}, j.{dst}) not in "
                    "(select * from unnest(%s::uuid[], %s::uuid[]))", (sources_of, sources, targets))
        changed = cur.rowcount
        if tenant_column:
            cur.execute(f'insert into {table} ("{tenant_column}", {src}, {dst}) '
                        "select %s, s, t from unnest(%s::uuid[], %s::uuid[]) u(s, t) "
                        f"on conflict ({src}, {dst}) do nothing", (tenant_value, sources, targets))
        else:
            cur.execute(f"insert into {table} ({src}, {dst}) select s, t from unnest(%s::uuid[], %s::uuid[]) "
                        f"u(s, t) on conflict ({src}, {dst}) do nothing", (sources, targets))
        return changed + cur.rowcount


def targets_of(conn, rel, target, instance_id, local_id) -> list[dict]:
    """(local_id, odoo_id) of every record one row links through ``rel`` (odoo_id None: not in Odoo, or
    not this instance's); ``target`` is the target entity's adapter."""
    return conn.execute(
        f'select j."{rel.target_column}" as local_id, t.odoo_id from {rel.qualified_table()} j '
        f'left join {target.qualified_table()} t on t."{target.primary_key}" = j."{rel.target_column}" '
        f"and t.instance_id = %s where j.\"{rel.source_column}\" = %s", (instance_id, local_id)).fetchall()


def set_for(conn, rel, tenant_column: str | None, tenant_value, source_id, target_ids: list) -> None:
    """Make one row's links through ``rel`` exactly ``target_ids``."""
    table, src, dst = rel.qualified_table(), f'"{rel.source_column}"', f'"{rel.target_column}"'
    conn.execute(f"delete from {table} where {src} = %s and not ({dst} = any(%s::uuid[]))", (source_id, target_ids))
    cols = f'"{tenant_column}", {src}, {dst}' if tenant_column else f"{src}, {dst}"
    lead = [tenant_value] if tenant_column else []
    for target_id in target_ids:
        conn.execute(f"insert into {table} ({cols}) values ({', '.join(['%s'] * (len(lead) + 2))}) "
                     f"on conflict ({src}, {dst}) do nothing", [*lead, source_id, target_id])
