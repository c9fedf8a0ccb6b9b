"""The pull's keyset cursor, correct at Odoo's one-second granularity.

Odoo 17 stores ``write_date`` with microseconds (the transaction's ``now()``, odoo/sql_db.py
``Cursor.now``) but sends it truncated to the second (odoo/fields.py ``Datetime.to_string``), and a
domain value is compared in SQL against the stored microseconds. So a value read back, ``S``, is
*before* every record of its second: ``('write_date', '=', S)`` matches nothing written at S.4 and
``> S`` matches all of them again. The classic ``> S or (= S and id > i)`` keyset then serves the same
page for ever once one second holds a full page (one import or ``create([...])`` is enough).

The cursor here only uses bounds Odoo compares correctly against whole seconds:

- **scan** from second S: ``write_date >= S`` ordered ``write_date, id``. Every second before the
  page's last second T is complete (the order is by the stored value, and all of them sort before
  T.000000). Second T may be cut: it is re-read, by id, before moving on. A page that is all in T
  switches to draining T.
- **drain** second S after id i: ``S <= write_date < S+1s and id > i`` ordered ``id``. The id
  strictly grows, so a second of any size drains in ``size / limit`` pages; a short page moves the scan
  to S+1s.

Saved cursors keep the existing shape (``odoo.sync_cursors`` last_write_date, last_id): ``(S, i)``
with i > 0 means "second S done up to id i", ``(S, 0)`` means "everything before S is done". A stored
cursor of the old keyset means the same, so no migration is needed. The run's lookback (a scan from
``cursor - lookback``) re-reads whole seconds, so a late commit into a second already passed is
still read.

Every full page must move the position forward; if Odoo (or a proxy, or a bug) answers a page that
does not, ``PaginationStuck`` stops the run with a clear error instead of looping.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bridge.adapters import format_odoo_datetime, parse_odoo_datetime

SCAN_ORDER = "write_date asc, id asc"
DRAIN_ORDER = "id asc"
SECOND = dt.timedelta(seconds=1)


class PaginationStuck(RuntimeError):
    """A full page did not move the cursor: paging on would read the same records for ever."""


@dataclass(frozen=True)
class Position:
    """Where the next page starts. ``second`` None: from the first record (a full pull)."""
    second: dt.datetime | None
    after_id: int = 0
    drain: bool = False

    def key(self) -> tuple:
        """Total order of progress: scan S < drain S (by id) < scan S+1s."""
        floor = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
        return (self.second or floor, self.drain, self.after_id)

    def domain(self, base: list) -> list:
        if self.second is None:
            return list(base)
        lo = format_odoo_datetime(self.second)
        if not self.drain:
            return [["write_date", ">=", lo]] + list(base)
        return [["write_date", ">=", lo], ["write_date", "<", format_odoo_datetime(self.second + SECOND)],
                ["id", ">", self.after_id]] + list(base)

    @property
    def order(self) -> str:
        return DRAIN_ORDER if self.drain else SCAN_ORDER

    def describe(self) -> str:
        where = self.second.isoformat() if self.second else "the first record"
        return f"{'drain' if self.drain else 'scan'} from {where}" + (f" after id {self.after_id}" if self.drain else "")


def whole_second(value: dt.datetime) -> dt.datetime:
    return value.replace(microsecond=0)


def start(last_write_date: dt.datetime | None, last_id: int) -> Position:
    """The position a stored cursor ``(S, i)`` stands for (after the caller's lookback, if any)."""
    if last_write_date is None:
        return Position(None)
    second = whole_second(last_write_date)
    return Position(second, last_id, drain=True) if last_id > 0 else Position(second)


def _second_of(record: dict) -> dt.datetime:
    value = parse_odoo_datetime(record.get("write_date"))
    if value is None:
        raise PaginationStuck(f"record {record.get('id')} came back without a write_date; cannot page on it")
    return whole_second(value)


def advance(pos: Position, page: list[dict], limit: int) -> tuple[tuple[dt.datetime, int] | None, Position | None]:
    """After ``page`` (read at ``pos`` with ``limit``): the cursor to save with it (or None) and the
    next position (None: caught up). Raises PaginationStuck when a full page does not move forward."""
    full = len(page) >= limit
    if pos.drain:
        if not page:
            return None, Position(pos.second + SECOND)
        tail = page[-1]["id"]
        save = (pos.second, tail)
        nxt = Position(pos.second, tail, drain=True) if full else Position(pos.second + SECOND)
    else:
        if not page:
            return None, None
        last = _second_of(page[-1])
        if not full:  # everything up to now was read: second `last` is complete
            return (last, max(r["id"] for r in page if _second_of(r) == last)), None
        save = (last, 0)
        nxt = Position(last, 0, drain=True) if _second_of(page[0]) == last else Position(last)
    if full and nxt.key() <= pos.key():
        raise PaginationStuck(
            f"a full page of {len(page)} records did not move the pull cursor ({pos.describe()}; "
            f"ids {page[0]['id']}..{page[-1]['id']}, write_date {page[0].get('write_date')}.."
            f"{page[-1].get('write_date')}): Odoo did not apply the cursor's domain; stopping instead "
            "of reading the same page again")
    return save, nxt
