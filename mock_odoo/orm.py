"""Odoo's ORM semantics for one RPC call.

``Env`` is one call = one transaction: its timestamp is the call's start time WITH
microseconds (so every record written by the call shares ``write_date``), stored as
such and sent over RPC truncated to the second. Writing methods live in
``orm_write.py``; the committed records in ``orm_database.Database``.

Transactions are isolated as Odoo's are (each RPC call is one PostgreSQL
transaction under REPEATABLE READ: odoo/sql_db.py ``Cursor.__init__`` sets
``ISOLATION_LEVEL_REPEATABLE_READ``): an ``Env`` reads the snapshot committed
when it started, plus its own changes, and nothing another call commits
meanwhile. Committed tables are never changed in place: a transaction writes
into ``TableView`` overlays (``orm_tables.py``), and its commit publishes new
table dicts, so several calls can run at once in the server's worker threads.

The names of ``orm_database`` and ``orm_tables`` are re-exported here, so
``from mock_odoo.orm import Database, utcnow, DELETED, ...`` keeps working.
"""
from __future__ import annotations

import operator
from datetime import datetime, timedelta
from typing import Any

from . import domain as domains
from .errors import AccessError, UserError
from .keyset import keyset_page
from .models import X2MANY, Model
from .orm_database import DATETIME_FMT, Database, stored_datetime, utcnow, wire_datetime
from .orm_tables import DELETED, TableView

__all__ = [
    "DATETIME_FMT", "DELETED", "PUBLIC_METHODS", "READ_METHODS", "RECORD_METHODS", "Database", "Env",
    "TableView", "call", "stored_datetime", "utcnow", "wire_datetime",
]

PUBLIC_METHODS = frozenset({
    "search", "search_count", "search_read", "read", "fields_get", "create", "write", "unlink",
    "name_search", "name_get", "default_get", "exists", "copy", "check_access_rights",
    "name_create",
})
# methods that never write: their transaction reads the snapshot's dicts directly (a speed device)
READ_METHODS = frozenset({
    "search", "search_count", "search_read", "read", "fields_get", "name_search", "name_get",
    "default_get", "exists", "check_access_rights",
})
# record methods receive the ids as their first positional argument
RECORD_METHODS = frozenset({"read", "write", "unlink", "name_get", "exists", "copy"})


class Env:
    """One RPC call = one transaction: the user, the context, the timestamp, the snapshot it reads."""

    def __init__(self, db: Database, uid: int, context: dict, backdate: float = 0):
        self.db = db
        self.registry = db.registry
        # REPEATABLE READ: the committed state when the transaction starts, for all of its reads
        self.version, self.snapshot = db.snapshot()
        self.views: dict[str, TableView] = {}
        self.readonly = False  # set by call() for read methods: tables are then the snapshot's dicts
        self.uid = uid
        self.context = context if isinstance(context, dict) else {}
        # odoo/sql_db.py Cursor.now: the transaction's ``now() at time zone 'UTC'``, microseconds and
        # all, taken once per transaction; models.py write() and _prepare_create_values() stamp every
        # record of the call with it (create_date too), so one create([...]) shares one write_date
        self.now = db.clock() - timedelta(seconds=backdate)
        self.undo: dict[tuple[str, int], dict | None] = {}
        self.changed = False

    @property
    def ts(self) -> str:
        """The call's time in whole seconds (what fields.Datetime.now() gives a datetime default)."""
        return self.now.strftime(DATETIME_FMT)

    @ts.setter
    def ts(self, text: str) -> None:  # demo data pins its timestamps
        self.now = datetime.fromisoformat(text)

    @property
    def stamp(self) -> str:
        """write_date / create_date as stored: the transaction time with its microseconds."""
        return stored_datetime(self.now)

    # -- helpers -----------------------------------------------------------
    def table(self, model: str):
        """The model's records as this transaction sees them."""
        view = self.views.get(model)
        if view is not None:
            return view
        base = self.snapshot.get(model)
        if base is None:
            base = {}
        if self.readonly:
            return base
        view = self.views[model] = TableView(base)
        return view

    def model(self, name: str) -> Model:
        model = self.registry.models.get(name) if isinstance(name, str) else None
        if model is None:
            raise UserError(f"Object {name} doesn't exist")
        return model

    @staticmethod
    def ids(ids: Any) -> list[int]:
        if ids is None or ids is False:
            return []
        if isinstance(ids, bool) or not isinstance(ids, (int, list, tuple)):
            raise ValueError(f"Invalid ids {ids!r}")
        return [ids] if isinstance(ids, int) else [int(i) for i in ids]

    def active_test(self) -> bool:
        return self.context.get("active_test", True) is not False

    def search_ids(self, model: str, domain: Any, active_test: bool = True, order: str | None = None) -> list[int]:
        """All ids matching ``domain``, ordered; cached until the next change."""
        m = self.model(model)
        if domain and not isinstance(domain, (list, tuple)):
            raise ValueError(f"Invalid domain {domain!r}: a domain is a list")
        dom = list(domain or [])
        if active_test and "active" in m.fields and not any(
                domains.is_leaf(leaf) and leaf[0] == "active" for leaf in dom):
            dom = [("active", "=", True)] + dom
        key = (model, repr(dom), order or "", self.version)
        hit = None if self.changed else self.db.cached(key)
        if hit is not None:
            return hit
        keys = self.order_keys(m, order)  # validate before doing work
        table = self.table(model)
        if dom:
            pred = domains.compile_domain(dom, model, self)
            found = [i for i, rec in table.items() if pred(rec)]
        else:
            found = list(table)
        found = self.sort(m, found, keys)
        if not self.changed:
            self.db.remember(key, found)
        return found

    def order_keys(self, m: Model, order: str | None) -> list[tuple[str, bool]]:
        text = order if order else m.order
        keys = []
        for part in str(text).split(","):
            tokens = part.split()
            if not tokens:
                continue
            fname = tokens[0].strip('"')
            direction = tokens[1].lower() if len(tokens) > 1 else "asc"
            field = m.fields.get(fname)
            if field is None or direction not in ("asc", "desc") or len(tokens) > 4 \
                    or field.type in X2MANY or not field.store and fname != "display_name":
                raise ValueError(f"Invalid order {order!r} on model {m.name!r}")
            keys.append((fname, direction == "desc"))
        return keys

    def sort(self, m: Model, ids: list[int], keys: list[tuple[str, bool]]) -> list[int]:
        if keys == [("id", False)] or not ids:
            return sorted(ids) if keys == [("id", False)] else ids
        table = self.table(m.name)
        for fname, desc in reversed(keys):
            f = m.fields[fname]
            if fname == "id":
                ids.sort(reverse=desc)
            elif f.type == "boolean":
                ids.sort(key=lambda i: bool(table[i].get(fname)), reverse=desc)
            elif f.type == "many2one":
                co = self.table(f.relation)

                def m2o_key(i, co=co, fname=fname):
                    v = table[i].get(fname)
                    return (True, "") if not v else (False, str(co[v].get("display_name") or "") if v in co else "")
                ids.sort(key=m2o_key, reverse=desc)
            else:
                def key(i, fname=fname):
                    v = table[i].get(fname, False)
                    return (True, 0) if v is False or v is None else (False, v)
                ids.sort(key=key, reverse=desc)
        return ids

    # -- reading -------------------------------------------------------------
    def field_names(self, m: Model, fields: Any) -> list[str]:
        if not fields:
            return [f for f in m.fields if f != "id"]
        if isinstance(fields, str):
            fields = [fields]
        out = []
        for fname in fields:
            if fname not in m.fields:
                raise ValueError(f"Invalid field {fname!r} on model {m.name!r}")
            if fname != "id":
                out.append(fname)
        return out

    def rows(self, m: Model, recs: list[dict], fields: Any, load: Any = "_classic_read",
             wire: bool = True) -> list[dict]:
        """Records as ``read`` returns them (many2one as [id, name] unless load is not classic).

        ``wire``: datetimes truncated to the second as every RPC answer sends them (wire_datetime);
        False keeps the stored microseconds (a webhook body: json.dumps(default=str))."""
        names = self.field_names(m, fields)
        simple = ["id"]
        m2o, m2m, o2m, dts = [], [], [], []
        for fname in names:
            f = m.fields[fname]
            if f.type == "datetime" and wire:
                dts.append(fname)
            if f.type == "many2one" and load == "_classic_read":
                m2o.append((fname, self.table(f.relation)))
            elif f.type == "many2many":
                m2m.append(fname)
            elif f.type == "one2many":
                o2m.append((fname, self.o2m_index(f)))
            else:
                simple.append(fname)
        out = []
        getter = operator.itemgetter(*simple) if len(simple) > 1 else None
        for rec in recs:
            try:
                row = dict(zip(simple, getter(rec))) if getter else {"id": rec["id"]}
            except KeyError:  # a field registered after this record was written
                row = {f: rec.get(f, False) for f in simple}
            for fname, co in m2o:
                v = rec.get(fname)
                target = co.get(v) if v else None
                row[fname] = [v, target["display_name"]] if target else False
            for fname in m2m:
                row[fname] = list(rec.get(fname) or ())
            for fname, index in o2m:
                row[fname] = list(index.get(rec["id"], ()))
            for fname in dts:
                row[fname] = wire_datetime(row[fname])
            out.append(row)
        return out

    def o2m_index(self, f) -> dict[int, list[int]]:
        """parent id -> child ids for a one2many (children in their model's order)."""
        key = ("o2m", f.relation, f.inverse_name, self.version)
        hit = None if self.changed else self.db.cached(key)
        if hit is not None:
            return hit
        ids = self.search_ids(f.relation, [], active_test=True)
        index: dict[int, list[int]] = {}
        table = self.table(f.relation)
        for i in ids:
            parent = table[i].get(f.inverse_name)
            if parent:
                index.setdefault(parent, []).append(i)
        if not self.changed:
            self.db.remember(key, index)
        return index

    # -- public read methods (Odoo 17 signatures, minus self) -----------------
    def search(self, model, domain=None, offset=0, limit=None, order=None):
        if limit and not self.changed:
            page = keyset_page(self, model, domain, int(offset or 0), int(limit), order)
            if page is not None:
                return page
        found = self.search_ids(model, domain, self.active_test(), order)
        return found[int(offset or 0):int(offset or 0) + limit if limit else None]

    def search_count(self, model, domain=None, limit=None):
        n = len(self.search_ids(model, domain, self.active_test()))
        return min(n, int(limit)) if limit else n

    def search_read(self, model, domain=None, fields=None, offset=0, limit=None, order=None, load="_classic_read"):
        m = self.model(model)
        self.field_names(m, fields)
        ids = self.search(model, domain, offset, limit, order)
        table = self.table(model)
        return self.rows(m, [table[i] for i in ids], fields, load)

    def read(self, model, ids, fields=None, load="_classic_read"):
        m = self.model(model)
        table = self.table(model)
        if not self.field_names(m, fields):
            # odoo/models.py 17.0 `BaseModel._read_format` drops a record only when converting one of its
            # fields raises MissingError, and `fields.Id.__get__` returns the id without reading the row:
            # `read(ids, ['id'])` answers deleted ids too. It is not an existence test (search is).
            return [{"id": i} for i in self.ids(ids)]
        return self.rows(m, [table[i] for i in self.ids(ids) if i in table], fields, load)

    def fields_get(self, model, allfields=None, attributes=None):
        m = self.model(model)
        out = {}
        for fname, f in m.fields.items():
            if allfields and fname not in allfields:
                continue
            desc = f.describe()
            if attributes:
                desc = {k: v for k, v in desc.items() if k in attributes}
            out[fname] = desc
        return out

    def name_get(self, model, ids):
        return [[r["id"], r["display_name"]] for r in self.read(model, ids, ["display_name"])]

    def name_search(self, model, name="", args=None, operator="ilike", limit=100):
        m = self.model(model)
        dom = list(args or [])
        if name or operator not in ("ilike", "like", "=ilike", "=like"):
            field = "complete_name" if "complete_name" in m.fields else (m.rec_name or "display_name")
            dom = [(field, operator, name)] + dom
        ids = self.search(model, dom, 0, limit)
        table = self.table(model)
        return [[i, table[i]["display_name"]] for i in ids]

    def exists(self, model, ids):
        self.model(model)
        table = self.table(model)
        return [i for i in self.ids(ids) if i in table]

    def default_get(self, model, fields_list):
        m = self.model(model)
        out = {}
        for fname in fields_list or []:
            f = m.fields.get(fname)
            if f is not None and f.default is not None:
                out[fname] = f.default(self) if callable(f.default) else f.default
        return out

    def check_access_rights(self, model, operation, raise_exception=True):
        self.model(model)
        if operation not in ("read", "write", "create", "unlink"):
            raise ValueError(f"Invalid access mode {operation!r}")
        return True


def call(env: Env, model: str, method: str, args: list, kwargs: dict) -> Any:
    """Run ``model.method(*args, **kwargs)`` like Odoo's ``call_kw``."""
    m = env.model(model)
    if not isinstance(method, str) or method.startswith("_"):
        raise AccessError(f"Private methods (such as '{model}.{method}') cannot be called remotely.")
    args = list(args or [])
    kwargs = dict(kwargs or {})
    kwargs.pop("context", None)
    custom = m.methods.get(method)
    if custom is not None:
        if getattr(custom, "record_method", False):
            if not args:
                raise TypeError(f"{model}.{method}() missing the record ids")
            return custom(env, env.ids(args[0]), *args[1:], **kwargs)
        return custom(env, *args, **kwargs)
    if method not in PUBLIC_METHODS:
        raise AttributeError(f"The method '{method}' does not exist on the model '{model}'")
    if method in RECORD_METHODS and not args and "ids" not in kwargs:
        raise TypeError(f"{model}.{method}() missing 1 required positional argument: 'ids'")
    env.readonly = method in READ_METHODS and not env.views
    return getattr(env, method)(model, *args, **kwargs)
