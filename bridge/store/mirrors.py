"""SQL on the synced entities' own tables (Odoo-owned mirrors in ``odoo.*``, shared entities in ``app.*``):
rows are keyed locally by the adapter's ``primary_key`` and linked to Odoo by ``(instance_id, odoo_id)``.

Every function runs in the caller's transaction and never commits.
"""
from __future__ import annotations

from psycopg.rows import tuple_row

from bridge.store.copytext import bulk_columns

MAPPING_CTE = """,
        m as (
          insert into odoo.entity_mappings (instance_id, entity, local_id, odoo_model, odoo_id, odoo_write_date)
          select %s, %s, {pk}, %s, odoo_id, odoo_write_date from up
          on conflict (instance_id, entity, odoo_id) do update
            set odoo_write_date = excluded.odoo_write_date, local_id = excluded.local_id)"""


def local_ids(conn, adapter, instance_id, odoo_ids) -> dict[int, str]:
    """{odoo id: local key as text} of the instance's rows for these Odoo ids."""
    with conn.cursor(row_factory=tuple_row) as cur:
        rows = cur.execute(f'select odoo_id, "{adapter.primary_key}"::text from {adapter.qualified_table()} '
                           "where instance_id = %s and odoo_id = any(%s::int[])", (instance_id, list(odoo_ids))).fetchall()
    return dict(rows)


def odoo_id_of(conn, adapter, local_id, instance_id) -> int | None:
    """The Odoo id of one local row of the instance (None: not linked, or not this instance's)."""
    r = conn.execute(f'select odoo_id from {adapter.qualified_table()} where "{adapter.primary_key}" = %s '
                     "and instance_id = %s", (local_id, instance_id)).fetchone()
    return r["odoo_id"] if r else None


def row(conn, adapter, local_id, *, for_update: bool = False) -> dict | None:
    """One row by its local key, or None."""
    lock = " for update" if for_update else ""
    return conn.execute(f'select * from {adapter.qualified_table()} where "{adapter.primary_key}" = %s{lock}',
                        (local_id,)).fetchone()


def row_by_text_key(conn, adapter, key: str) -> dict | None:
    """One row by its local key given as text (an external ref's), locked, or None."""
    return conn.execute(f'select * from {adapter.qualified_table()} where "{adapter.primary_key}"::text = %s '
                        "for update", (key,)).fetchone()


def linked_row(conn, adapter, instance_id, odoo_id) -> dict | None:
    """The row linked to one Odoo record of the instance, locked, or None."""
    return conn.execute(f"select * from {adapter.qualified_table()} where instance_id = %s and odoo_id = %s "
                        "for update", (instance_id, odoo_id)).fetchone()


def stage(conn, adapter) -> str:
    """The session's staging table of the adapter's bulk columns (emptied at each commit)."""
    name = f"_sg_stage_{adapter.schema}_{adapter.table}"
    cols = ", ".join(bulk_columns(adapter))
    conn.execute(f"create temp table if not exists {name} on commit delete rows as "
                 f"select {cols} from {adapter.qualified_table()} with no data")
    return name


def bulk_upsert(conn, adapter, instance_id, copy_data: bytes, *, mirror_mappings: bool) -> tuple[int, int]:
    """COPY rows (`bridge.store.copytext` text) into the staging table, then one INSERT ... ON CONFLICT
    (instance_id, odoo_id) that changes only rows that differ (or were tombstoned). With
    ``mirror_mappings`` each written row also gets its odoo.entity_mappings row. Returns (inserted, updated)."""
    name = stage(conn, adapter)
    names = bulk_columns(adapter)
    with conn.cursor() as cur:
        cur.execute(f"truncate {name}")
        with cur.copy(f"copy {name} ({', '.join(names)}) from stdin") as copy:
            copy.write(copy_data)
    mapped = adapter.columns()
    tenant = [adapter.tenant_column] if adapter.tenant_column else []
    sets = ", ".join(f'"{c}" = excluded."{c}"' for c in [*tenant, *mapped, "odoo_write_date"])
    old = ", ".join(f't."{c}"' for c in [*mapped, "odoo_write_date"])
    new = ", ".join(f'excluded."{c}"' for c in [*mapped, "odoo_write_date"])
    cols = ", ".join(f'"{c}"' for c in names)
    pk = f'"{adapter.primary_key}"'
    mapping_cte = MAPPING_CTE.format(pk=pk) if mirror_mappings else ""
    r = conn.execute(f"""
        with up as (
          insert into {adapter.qualified_table()} as t ({cols}, synced_at)
          select {cols}, now() from {name} order by odoo_id
          on conflict (instance_id, odoo_id) do update set {sets}, synced_at = now(), odoo_deleted_at = null
          where ({old}) is distinct from ({new}) or t.odoo_deleted_at is not null
          returning t.{pk}, t.odoo_id, t.odoo_write_date, (xmax = 0) as inserted){mapping_cte}
        select count(*) filter (where inserted) as inserted, count(*) filter (where not inserted) as updated from up""",
        (instance_id, adapter.entity, adapter.odoo_model) if mirror_mappings else ()).fetchone()
    return r["inserted"], r["updated"]


def insert_linked(conn, adapter, row: dict, instance_id) -> None:
    """Insert a new row of a shared entity, linked to its Odoo record (``row`` has the key, the tenant
    column, the mapped columns, odoo_id and odoo_write_date)."""
    cols = adapter.columns()
    lead = [adapter.primary_key, *([adapter.tenant_column] if adapter.tenant_column else [])]
    conn.execute(
        f"insert into {adapter.qualified_table()} ({', '.join(f'{c}' for c in [*lead, *cols])}, instance_id, "
        f"odoo_id, odoo_write_date, synced_at) values ({', '.join(['%s'] * (len(lead) + len(cols)))}, %s, %s, %s, now())",
        [*[row[c] for c in lead], *[row[c] for c in cols], instance_id, row["odoo_id"], row["odoo_write_date"]])


def update_linked(conn, adapter, local_id, values: dict, instance_id, odoo_id, odoo_write_date) -> None:
    """Set a shared row's mapped columns and its link to its Odoo record (and clear its tombstone)."""
    conn.execute(
        f"update {adapter.qualified_table()} set {', '.join(f'{c} = %s' for c in values)}, instance_id = %s, "
        f'odoo_id = %s, odoo_write_date = %s, synced_at = now(), odoo_deleted_at = null '
        f'where "{adapter.primary_key}" = %s',
        [*values.values(), instance_id, odoo_id, odoo_write_date, local_id])


def link(conn, adapter, local_id, values: dict, instance_id, odoo_id) -> None:
    """A pushed row: link it to its Odoo record, with the fields Odoo won (``values``)."""
    sets = ", ".join([f"{c} = %s" for c in values] + ["instance_id = %s", "odoo_id = %s", "synced_at = now()"])
    conn.execute(f'update {adapter.qualified_table()} set {sets} where "{adapter.primary_key}" = %s',
                 [*values.values(), instance_id, odoo_id, local_id])


def tombstone(conn, adapter, instance_id, odoo_ids) -> int:
    """odoo_deleted_at = now() on the instance's rows of these Odoo ids (the rows are kept). Returns how many."""
    return conn.execute(f"update {adapter.qualified_table()} set odoo_deleted_at = now(), synced_at = now() "
                        "where instance_id = %s and odoo_id = any(%s) and odoo_deleted_at is null",
                        (instance_id, list(odoo_ids))).rowcount


def tombstone_row(conn, adapter, local_id) -> None:
    """One row by its local key becomes a tombstone (edited in the app, deleted in Odoo)."""
    conn.execute(f"update {adapter.qualified_table()} set odoo_deleted_at = now() "
                 f'where "{adapter.primary_key}" = %s and odoo_deleted_at is null', (local_id,))


def linked_rows(conn, adapter, instance_id) -> list[dict]:
    """(odoo_id, odoo_write_date, dead) of every row of the instance linked to Odoo, for reconcile."""
    return conn.execute(f"select odoo_id, odoo_write_date, odoo_deleted_at is not null as dead "
                        f"from {adapter.qualified_table()} where instance_id = %s and odoo_id is not null",
                        (instance_id,)).fetchall()
