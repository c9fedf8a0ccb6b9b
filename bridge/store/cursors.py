"""SQL on ``odoo.sync_cursors``: the pull's keyset cursor per (instance, entity), and Odoo's head."""
from __future__ import annotations

import datetime as dt


def read(conn, instance_id, entity: str) -> tuple[dt.datetime | None, int]:
    row = conn.execute("select last_write_date, last_id from odoo.sync_cursors where instance_id=%s and entity=%s",
                       (instance_id, entity)).fetchone()
    return (row["last_write_date"], row["last_id"]) if row else (None, 0)


def save(conn, instance_id, adapter, write_date: dt.datetime, last_id: int, run_id) -> None:
    """Move the cursor forward only (a lookback page never moves it back)."""
    conn.execute(
        """insert into odoo.sync_cursors as c (instance_id, entity, odoo_model, last_write_date, last_id, last_run_id)
           values (%s,%s,%s,%s,%s,%s)
           on conflict (instance_id, entity) do update
             set last_write_date = excluded.last_write_date, last_id = excluded.last_id, last_run_id = excluded.last_run_id
           where c.last_write_date is null
              or (excluded.last_write_date, excluded.last_id) > (c.last_write_date, c.last_id)""",
        (instance_id, adapter.entity, adapter.odoo_model, write_date, last_id, run_id))


def save_head(conn, instance_id, adapter, write_date: dt.datetime | None) -> None:
    """Record Odoo's newest write_date in the adapter's domain (the lag is the cursor's distance to it)."""
    conn.execute(
        """insert into odoo.sync_cursors (instance_id, entity, odoo_model, odoo_head_write_date, odoo_checked_at)
           values (%s,%s,%s,%s,now())
           on conflict (instance_id, entity) do update
             set odoo_head_write_date = excluded.odoo_head_write_date, odoo_checked_at = excluded.odoo_checked_at""",
        (instance_id, adapter.entity, adapter.odoo_model, write_date))
