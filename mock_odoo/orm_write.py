"""create / write / unlink with Odoo's value conversion, x2many commands and rollback."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from .errors import MissingError, SerializationFailure, ValidationError
from .models import MAGIC_FIELDS, Field, Model
from .orm import DELETED, Env
from .sanitize import html_sanitize


def _not_null_message(m: Model, f: Field) -> str:
    return ("The operation cannot be completed:\n"
            "- Create/update: a mandatory field is not set.\n"
            "- Delete: another model requires the record being deleted. If possible, archive it instead.\n\n"
            f"Model: {m.description} ({m.name})\n"
            f"Field: {f.string} ({f.name})\n")


def _fk_message(m: Model, f: Field) -> str:
    return ("The operation cannot be completed: another model requires the record being deleted. "
            "If possible, archive it instead.\n\n"
            f"Model: {m.description} ({m.name}), Constraint: {m.name.replace('.', '_')}_{f.name}_fkey")


class WritableEnv(Env):
    """An Env whose calls can change data (and undo the change on failure)."""

    # -- low-level changes: private copies, published by commit() -------------
    def _remember(self, model: str, rid: int) -> None:
        """Before changing a record: give this transaction its own copy (the snapshot's dict is shared
        with every other transaction reading it) and note the version it started from (``undo``)."""
        if self.readonly:
            raise AssertionError(f"a read method changed {model}({rid},)")
        key = (model, rid)
        if key not in self.undo:
            view = self.table(model)
            rec = view.get(rid)
            self.undo[key] = rec  # the snapshot's record (None: created here)
            if rec is not None and rid not in view.changes:
                view.changes[rid] = {k: (list(v) if isinstance(v, list) else v) for k, v in rec.items()}
        self.changed = True

    def rollback(self) -> None:
        """Nothing was published: dropping the private changes is the whole rollback."""
        self.views.clear()
        self.undo.clear()

    def commit(self) -> None:
        """Publish this transaction's changes, or raise SerializationFailure (nothing published).

        PostgreSQL under REPEATABLE READ refuses to update a row that another transaction changed
        and committed after this one's snapshot ("could not serialize access due to concurrent
        update"); PostgreSQL raises it at the UPDATE (Odoo's flush, inside odoo/service/model.py
        `retrying`), after waiting for the first updater's row lock; the mock has no row locks and
        decides when the call's changes are published (first committer wins). The loser is re-run by
        `retrying` (rpc.Services.execute_kw). Without a held transaction both pick the same loser;
        with one (slow_commit, late_execute) they differ: PostgreSQL fails the later updater, the mock
        the held one (docs/mock-odoo.md, Fidelity notes)."""
        if not self.changed:
            return
        db = self.db
        with db.lock:
            for (model, rid), seen in self.undo.items():
                if db.tables.get(model, {}).get(rid) is not seen:
                    raise SerializationFailure()
            tables = dict(db.tables)
            for model, view in self.views.items():
                if not view.changes:
                    continue
                table = dict(tables.get(model) or {})
                for rid, rec in view.changes.items():
                    if rec is DELETED:
                        table.pop(rid, None)
                    else:
                        table[rid] = rec
                tables[model] = table
            db.tables = tables
            db.version += 1
            with db.cache_lock:
                db._search_cache.clear()
        self.views.clear()
        self.undo.clear()

    def set_values(self, model: str, rid: int, vals: dict, touch: bool = True) -> None:
        """Store converted values on one record (used by computes too)."""
        self._remember(model, rid)
        rec = self.table(model)[rid]
        rec.update(vals)
        if touch:
            rec["write_date"] = self.stamp  # models.py write(): cr.now(), microseconds kept
            rec["write_uid"] = self.uid

    def notify(self, action: str, model: str, ids: list[int]) -> None:
        for listener in self.db.listeners:
            listener(self, action, model, ids)

    # -- value conversion (Odoo's convert_to_cache) ---------------------------
    def convert(self, m: Model, f: Field, value: Any) -> Any:
        if f.type in ("one2many", "many2many"):
            raise AssertionError("x2many values go through commands")
        if value is None or value is False:
            return False
        t = f.type
        if t == "html":  # odoo/fields.py Html._convert (convert_to_column/_cache) -> odoo/tools/mail.py html_sanitize
            return html_sanitize(value if isinstance(value, str) else str(value))
        if t in ("char", "text", "binary"):
            return value if isinstance(value, str) else str(value)
        if t == "selection":
            allowed = {key for key, _label in f.selection or []}
            if value not in allowed:
                raise ValueError(f"Wrong value for {m.name}.{f.name}: {value!r}")
            return value
        if t == "integer":
            return int(value)
        if t in ("float", "monetary"):
            return float(value)
        if t == "boolean":
            return bool(value)
        if t == "date":
            if isinstance(value, (date, datetime)):
                return value.strftime("%Y-%m-%d")
            return date.fromisoformat(str(value)[:10]).isoformat()
        if t == "datetime":
            text = str(value).replace("T", " ")
            if len(text) == 10:
                text += " 00:00:00"
            return datetime.fromisoformat(text[:19]).strftime("%Y-%m-%d %H:%M:%S")
        if t == "many2one":
            rid = value[0] if isinstance(value, (list, tuple)) and value else value
            if isinstance(rid, bool) or not isinstance(rid, int):
                raise ValueError(f"Wrong value for {m.name}.{f.name}: {value!r}")
            if rid not in self.table(f.relation):
                raise ValidationError(_fk_message(m, f))
            return rid
        return value

    def _split(self, m: Model, vals: Any) -> tuple[dict, dict]:
        if not isinstance(vals, dict):
            raise ValueError(f"Invalid values {vals!r} for model {m.name!r}: expected a dict")
        plain, relational = {}, {}
        for fname, value in vals.items():
            f = m.fields.get(fname)
            if f is None:
                raise ValueError(f"Invalid field {fname!r} on model {m.name!r}")
            if fname in MAGIC_FIELDS or not f.store and f.type != "one2many":
                continue
            if f.type in ("one2many", "many2many"):
                relational[fname] = value
            else:
                plain[fname] = self.convert(m, f, value)
        return plain, relational

    # -- x2many commands --------------------------------------------------------
    def apply_commands(self, m: Model, rid: int, fname: str, value: Any) -> None:
        f = m.fields[fname]
        commands = value or []
        if not isinstance(commands, (list, tuple)):
            raise ValueError(f"Wrong value for {m.name}.{fname}: {value!r}")
        if commands and all(isinstance(c, int) and not isinstance(c, bool) for c in commands):
            commands = [(6, 0, list(commands))]
        rec = self.table(m.name)[rid]
        current = list(rec.get(fname) or []) if f.type == "many2many" else \
            [i for i, r in self.table(f.relation).items() if r.get(f.inverse_name) == rid]
        linked = list(current)
        for cmd in commands:
            if not isinstance(cmd, (list, tuple)) or not cmd or cmd[0] not in range(7):
                raise ValueError(f"Wrong value for {m.name}.{fname}: {cmd!r}")
            code = cmd[0]
            arg = cmd[1] if len(cmd) > 1 else 0
            extra = cmd[2] if len(cmd) > 2 else 0
            if code == 0:
                vals = dict(extra or {})
                if f.type == "one2many":
                    vals[f.inverse_name] = rid
                linked.append(self.create(f.relation, vals))
            elif code == 1:
                self.write(f.relation, [arg], extra or {})
            elif code == 2:
                self.unlink(f.relation, [arg])
                linked = [i for i in linked if i != arg]
            elif code == 3:
                linked = [i for i in linked if i != arg]
            elif code == 4:
                if arg not in self.table(f.relation):
                    raise MissingError(f"Record does not exist or has been deleted.\n"
                                       f"(Record: {f.relation}({arg},), User: {self.uid})")
                if arg not in linked:
                    linked.append(arg)
            elif code == 5:
                linked = []
            elif code == 6:
                ids = self.ids(extra or [])
                missing = [i for i in ids if i not in self.table(f.relation)]
                if missing:
                    raise MissingError(f"Record does not exist or has been deleted.\n"
                                       f"(Records: {f.relation}{tuple(missing)}, User: {self.uid})")
                linked = list(dict.fromkeys(ids))
        if f.type == "many2many":
            if linked != current:
                self.set_values(m.name, rid, {fname: linked}, touch=False)
            return
        co = self.model(f.relation)
        inverse = co.fields[f.inverse_name]
        for child in current:
            if child not in linked and child in self.table(f.relation):
                if inverse.required or inverse.ondelete == "cascade":
                    self.unlink(f.relation, [child])
                else:
                    self.set_values(f.relation, child, {f.inverse_name: False})
        for child in linked:
            if self.table(f.relation)[child].get(f.inverse_name) != rid:
                self.set_values(f.relation, child, {f.inverse_name: rid})

    # -- computes ------------------------------------------------------------------
    def recompute(self, model: str, ids: list[int]) -> None:
        m = self.model(model)
        table = self.table(model)
        for rid in ids:  # computes change these records in place: on this transaction's copies
            if rid in table:
                self._remember(model, rid)
        for compute in m.computes:
            compute(self, ids)
        table = self.table(model)
        for rid in ids:
            rec = table.get(rid)
            if rec is None:
                continue
            name = m.display(self, rec) if m.display else (rec.get(m.rec_name) if m.rec_name else False)
            rec["display_name"] = name or f"{model},{rid}"

    # -- public write methods --------------------------------------------------------
    def create(self, model, vals_list):
        m = self.model(model)
        single = isinstance(vals_list, dict)
        items = [vals_list] if single else vals_list
        if not isinstance(items, (list, tuple)):
            raise ValueError(f"Invalid values {vals_list!r} for model {model!r}: expected a dict or a list of dicts")
        table = self.table(model)
        ids = []
        for vals in items:
            plain, relational = self._split(m, vals)
            rec = {"id": 0}
            for fname, f in m.fields.items():
                if fname in MAGIC_FIELDS or not f.store or f.type == "one2many":
                    continue
                if fname in plain:
                    rec[fname] = plain[fname]
                elif f.type == "many2many":
                    rec[fname] = []
                elif f.default is not None:
                    default = f.default(self) if callable(f.default) else f.default
                    rec[fname] = default if f.type == "many2many" else self.convert(m, f, default)
                else:
                    rec[fname] = False
                if f.required and f.type != "boolean" and rec[fname] is False:
                    raise ValidationError(_not_null_message(m, f))
            rid = self.db.next_id(model, table)
            rec.update(id=rid, display_name=False, create_uid=self.uid, create_date=self.stamp,
                       write_uid=self.uid, write_date=self.stamp)  # models.py _prepare_create_values()
            self._remember(model, rid)
            table[rid] = rec
            for fname, value in relational.items():
                self.apply_commands(m, rid, fname, value)
            ids.append(rid)
        self.recompute(model, ids)
        self.notify("create", model, ids)
        return ids[0] if single else ids

    def name_create(self, model, name):
        m = self.model(model)
        if not m.rec_name:
            raise ValueError(f"Cannot execute name_create, no _rec_name defined on {model}")
        rid = self.create(model, {m.rec_name: name})
        return [rid, self.table(model)[rid]["display_name"]]

    def _existing(self, model: str, ids: Any) -> list[int]:
        ids = list(dict.fromkeys(self.ids(ids)))
        table = self.table(model)
        missing = [i for i in ids if i not in table]
        if missing:
            shown = f"{model}({', '.join(map(str, missing))},)"
            raise MissingError("Record does not exist or has been deleted.\n"
                               f"(Record: {shown}, User: {self.uid})")
        return ids

    def _writable(self, m: Model, ids: Any) -> list[int]:
        """odoo/models.py 17.0 `BaseModel._write`: the UPDATE touching fewer rows than ids raises this
        MissingError (a model with record rules fails earlier, in `check_access_rule`, with "One of the
        documents you are trying to access has been deleted, please try again after refreshing.")."""
        ids = list(dict.fromkeys(self.ids(ids)))
        table = self.table(m.name)
        if any(i not in table for i in ids):
            raise MissingError(f"One of the records you are trying to modify has already been deleted "
                               f"(Document type: {m.description}).\n\n(Records: {tuple(ids[:6])}, User: {self.uid})")
        return ids

    def write(self, model, ids, vals):
        m = self.model(model)
        ids = self._writable(m, ids)
        plain, relational = self._split(m, vals)
        for fname, value in plain.items():
            f = m.fields[fname]
            if f.required and f.type != "boolean" and value is False:
                raise ValidationError(_not_null_message(m, f))
        for rid in ids:
            self.set_values(model, rid, plain)
            for fname, value in relational.items():
                self.apply_commands(m, rid, fname, value)
        self.recompute(model, ids)
        self.notify("write", model, ids)
        return True

    def unlink(self, model, ids):
        self.model(model)
        # odoo/models.py 17.0 `BaseModel.unlink`: `check_access_rule('unlink')` lets ids that are already
        # gone through silently and the DELETE skips them; the call returns True (re-deleting is a no-op)
        table = self.table(model)
        ids = [i for i in dict.fromkeys(self.ids(ids)) if i in table]
        if not ids:
            return True
        self.notify("unlink", model, ids)
        doomed = set(ids)
        for other in self.registry.models.values():
            for f in other.fields.values():
                if f.relation != model or f.type == "one2many" or not f.store:
                    continue
                for rid, rec in list(self.table(other.name).items()):
                    if f.type == "many2many":
                        if doomed.intersection(rec.get(f.name) or ()):
                            self._remember(other.name, rid)
                            rec = self.table(other.name)[rid]  # the private copy
                            rec[f.name] = [i for i in rec[f.name] if i not in doomed]
                    elif rec.get(f.name) in doomed and not (other.name == model and rid in doomed):
                        if f.ondelete == "cascade":
                            if rid in self.table(other.name):
                                self.unlink(other.name, [rid])
                        elif f.ondelete == "restrict":
                            raise ValidationError(_fk_message(other, f))
                        else:  # SET NULL happens in SQL: write_date is not touched
                            self._remember(other.name, rid)
                            self.table(other.name)[rid][f.name] = False
        table = self.table(model)
        for rid in ids:
            if rid in table:
                self._remember(model, rid)
                del table[rid]
        return True

    def copy(self, model, ids, default=None):
        m = self.model(model)
        rid = self._existing(model, ids)[0]
        rec = self.table(model)[rid]
        vals = {k: v for k, v in rec.items() if k not in MAGIC_FIELDS and k in m.fields
                and m.fields[k].store and m.fields[k].type != "one2many"}
        vals = {k: ([(6, 0, v)] if m.fields[k].type == "many2many" else v) for k, v in vals.items()}
        if m.rec_name and isinstance(vals.get(m.rec_name), str):
            vals[m.rec_name] = f"{vals[m.rec_name]} (copy)"
        vals.update(default or {})
        return self.create(model, vals)
