"""SQL on ``odoo.entity_mappings``: which local row is which Odoo record, and the values (and many2many
links) both sides last agreed on (``synced_values``, the base of the conflict policies).

Every function runs in the caller's transaction and never commits.
"""
from __future__ import annotations

# The key of entity_mappings.synced_values that holds a shared record's many2many links as last agreed
# with Odoo ({relation: sorted Odoo ids}); not a column, so the conflict policy never sees it.
LINKS_KEY = "_links"


def by_odoo_id(conn, instance_id, entity: str, odoo_id) -> dict | None:
    """The mapping's synced_values of one Odoo record, or None."""
    return conn.execute("select synced_values from odoo.entity_mappings where instance_id=%s and entity=%s and odoo_id=%s",
                        (instance_id, entity, odoo_id)).fetchone()


def by_local_id(conn, instance_id, entity: str, local_id) -> dict | None:
    """The whole mapping of one local row, or None."""
    return conn.execute("select * from odoo.entity_mappings where instance_id=%s and entity=%s and local_id=%s",
                        (instance_id, entity, local_id)).fetchone()


def save_pulled(conn, instance_id, adapter, local_id, odoo_id, odoo_write_date, synced_hash: str,
                synced_values: str) -> None:
    """The mapping of a pulled shared record (keyed by its Odoo id); the links last agreed are kept."""
    conn.execute(
        f"""insert into odoo.entity_mappings (instance_id, entity, local_id, odoo_model, odoo_id, odoo_write_date,
                                             synced_hash, synced_values)
           values (%s,%s,%s,%s,%s,%s,%s,%s)
           on conflict (instance_id, entity, odoo_id) do update set local_id = excluded.local_id,
             odoo_write_date = excluded.odoo_write_date, synced_hash = excluded.synced_hash,
             synced_values = excluded.synced_values || case when odoo.entity_mappings.synced_values ? '{LINKS_KEY}'
               then jsonb_build_object('{LINKS_KEY}', odoo.entity_mappings.synced_values -> '{LINKS_KEY}') else '{{}}' end""",
        (instance_id, adapter.entity, local_id, adapter.odoo_model, odoo_id, odoo_write_date, synced_hash,
         synced_values))


def save_pushed(conn, instance_id, adapter, local_id, odoo_id, synced_hash: str, synced_values: str) -> None:
    """The mapping of a pushed row (keyed by its local id)."""
    conn.execute(
        """insert into odoo.entity_mappings (instance_id, entity, local_id, odoo_model, odoo_id, synced_hash, synced_values)
           values (%s,%s,%s,%s,%s,%s,%s)
           on conflict (instance_id, entity, local_id) do update set odoo_id = excluded.odoo_id,
             synced_hash = excluded.synced_hash, synced_values = excluded.synced_values""",
        (instance_id, adapter.entity, local_id, adapter.odoo_model, odoo_id, synced_hash, synced_values))


def delete(conn, instance_id, entity: str, local_id) -> None:
    conn.execute("delete from odoo.entity_mappings where instance_id=%s and entity=%s and local_id=%s",
                 (instance_id, entity, local_id))


def merge_links(conn, instance_id, entity: str, local_ids: list, links: list[str]) -> None:
    """Set the links last agreed (``links[i]``, JSON {relation: sorted Odoo ids}) of each local row in
    synced_values[LINKS_KEY], relation by relation."""
    conn.execute(
        "update odoo.entity_mappings m set synced_values = coalesce(m.synced_values, '{}'::jsonb) || "
        "jsonb_build_object(%s::text, coalesce(m.synced_values -> %s, '{}'::jsonb) || u.links) "
        "from (select * from unnest(%s::uuid[], %s::jsonb[]) u(local_id, links)) u "
        "where m.instance_id = %s and m.entity = %s and m.local_id = u.local_id",
        (LINKS_KEY, LINKS_KEY, local_ids, links, instance_id, entity), prepare=False)
