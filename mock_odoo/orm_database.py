"""The in-memory database of the mock Odoo, and how its datetimes are kept and sent.

``Database`` holds the committed records (``{model: {id: record_dict}}``; a
record dict keeps every stored field in its RPC shape: False for empty, a bare
id for many2one, a list of ids for many2many). Committed tables are never
changed in place: a transaction (``orm.Env``) writes into ``orm_tables.TableView``
overlays, and its commit publishes new table dicts. Re-exported by ``orm``.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable

from .models import Registry

if TYPE_CHECKING:
    from .orm import Env

DATETIME_FMT = "%Y-%m-%d %H:%M:%S"


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def stored_datetime(value: datetime) -> str:
    """How a datetime is kept in a record: the canonical ``str(datetime)`` text, i.e. whole seconds as
    ``YYYY-MM-DD HH:MM:SS`` and anything finer with six digits (``.400000``). One canonical text per
    instant, so comparing and sorting the strings compares the instants, microseconds included, the
    way PostgreSQL compares a ``timestamp`` column (Odoo 17 stores write_date in one)."""
    return value.isoformat(" ")


def wire_datetime(value):
    """A stored datetime as Odoo 17 sends it over XML-RPC and JSON-RPC: truncated to whole seconds.
    odoo/fields.py ``Datetime.to_string`` (strftime ``%Y-%m-%d %H:%M:%S``) is what both
    odoo/addons/base/controllers/rpc.py ``OdooMarshaller.dump_datetime`` and odoo/tools/json.py
    ``json_default`` call, so the microseconds kept in the column never reach an RPC client."""
    return value[:19] if isinstance(value, str) else value


class Database:
    """All records of one mock database, plus users' credentials."""

    def __init__(self, registry: Registry, name: str = "odoo", clock: Callable[[], datetime] = utcnow):
        self.registry = registry
        self.name = name
        self.clock = clock
        self.tables: dict[str, dict[int, dict]] = {}
        self.next_ids: dict[str, int] = {}
        self.version = 0  # bumped by every committed change; keys the caches below
        # guards commits, snapshots and admin changes (seeding, loading); calls themselves run unlocked
        self.lock = threading.RLock()
        self.cache_lock = threading.Lock()
        self.passwords: dict[int, str] = {}
        self.api_keys: dict[str, int] = {}
        # listeners(env, action, model, ids): create/write after, unlink before the change
        self.listeners: list[Callable] = []
        self._search_cache: OrderedDict = OrderedDict()
        # (model, field) -> (version, [(value, id), ...] sorted): the "index" a keyset page seeks in
        self._ordered: dict[tuple[str, str], tuple[int, list]] = {}

    def table(self, model: str) -> dict[int, dict]:
        table = self.tables.get(model)
        if table is None:
            table = self.tables[model] = {}
        return table

    def env(self, uid: int = 2, context: dict | None = None, backdate: float = 0) -> "Env":
        from .orm_write import WritableEnv
        return WritableEnv(self, uid, context or {}, backdate)

    def snapshot(self) -> tuple[int, dict]:
        """(version, tables) committed now: what a transaction starting now sees."""
        with self.lock:
            return self.version, self.tables

    def next_id(self, model: str, table) -> int:
        """The model's sequence: like PostgreSQL's, not transactional (a rolled-back create burns its id)."""
        with self.lock:
            rid = self.next_ids.get(model) or (max(table, default=0) + 1)
            self.next_ids[model] = rid + 1
            return rid

    def cached(self, key):
        with self.cache_lock:
            hit = self._search_cache.get(key)
            if hit is not None:
                self._search_cache.move_to_end(key)
            return hit

    def remember(self, key, value, keep: int = 16) -> None:
        with self.cache_lock:
            self._search_cache[key] = value
            while len(self._search_cache) > keep:
                self._search_cache.popitem(last=False)

    def max_write_date(self, model: str) -> str | bool:
        """The newest write_date, as a client would read it (whole seconds)."""
        return wire_datetime(max((r.get("write_date") or "" for r in self.table(model).values()), default="") or False)

    def dump(self) -> dict:
        return {"format": "mock-odoo-state/1", "db": self.name, "next_ids": dict(self.next_ids),
                "passwords": {str(k): v for k, v in self.passwords.items()},
                "tables": {m: list(t.values()) for m, t in self.tables.items()}}

    def load(self, state: dict) -> None:
        self.tables = {m: {r["id"]: r for r in sorted(recs, key=lambda r: r["id"])}
                       for m, recs in state.get("tables", {}).items() if m in self.registry}
        self.next_ids = {m: int(n) for m, n in state.get("next_ids", {}).items()}
        self.passwords.update({int(k): v for k, v in state.get("passwords", {}).items()})
        for model, table in self.tables.items():
            fields = self.registry[model].fields
            for rec in table.values():
                for fname, f in fields.items():
                    if f.store and f.type != "one2many" and fname not in rec:
                        rec[fname] = [] if f.type == "many2many" else False
        self.version += 1

