"""Runtime base of the generated sync adapters: field maps and Odoo <-> row conversions.

A generated adapter (generated/python/<pkg>/adapters.py) is a subclass of `EntityAdapter` that only sets
class attributes. Everything that turns an Odoo record into a row, and a row into Odoo values, lives here:

- ``False`` <-> NULL (except for booleans, where False is a value);
- many2one <-> foreign key: Odoo ids are translated to local uuids by a resolver the caller gives,
  which looks them up in the target mirror's ``(instance_id, odoo_id)`` key (`bridge.sync.upsert`), and
  back by reading the target row's ``odoo_id`` (`bridge.sync.push`);
- selection <-> enum (strings);
- Odoo ``'YYYY-MM-DD HH:MM:SS'`` naive-UTC strings <-> aware ``datetime`` (timestamptz), dates;
- numeric and monetary values as ``Decimal`` (through ``str`` so 0.1 stays 0.1);
- validation through the generated pydantic models.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any, Callable, ClassVar

import orjson
from pydantic import ConfigDict, TypeAdapter, ValidationError, create_model

ODOO_DATETIME = "%Y-%m-%d %H:%M:%S"
UTC = dt.timezone.utc



@dataclass(frozen=True)
class FieldMap:
    """One mapped column: ``column`` in the table, ``odoo_field`` in the model."""

    column: str
    odoo_field: str
    kind: str = "scalar"  # scalar | many2one | selection
    target: str | None = None  # target entity of a many2one
    type: str = "text"
    nullable: bool = True
    array: bool = False


@dataclass(frozen=True)
class Many2Many:
    """A mapped many2many: ``odoo_field`` (a list of ids in Odoo) mirrored as the rows of the join table
    ``schema.table`` (``source_column`` -> this entity's row, ``target_column`` -> the ``target`` entity's)."""

    relation: str
    odoo_field: str
    target: str
    schema: str
    table: str
    source_column: str
    target_column: str

    def qualified_table(self) -> str:
        return f'"{self.schema}"."{self.table}"'


class ConversionError(ValueError):
    """An Odoo value (or a row value) that cannot be converted; carries the field name."""

    def __init__(self, field: str, value: Any, message: str):
        super().__init__(f"{field}: {message} (value {value!r})")
        self.field = field


@lru_cache(maxsize=4096)
def _parse_dt(text: str) -> dt.datetime:
    # fromisoformat is ~20x faster than strptime; the cache helps because write_dates repeat a lot
    value = dt.datetime.fromisoformat(text[:19])
    if len(text) < 19 or text[10] != " ":
        raise ValueError(f"not an Odoo datetime: {text!r}")
    return value.replace(tzinfo=UTC)


def parse_odoo_datetime(value: Any) -> dt.datetime | None:
    if value is False or value is None:
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return _parse_dt(str(value))


def format_odoo_datetime(value: dt.datetime | None) -> str | bool:
    if value is None:
        return False
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime(ODOO_DATETIME)


def _scalar_from_odoo(fm: FieldMap, value: Any) -> Any:
    if fm.type == "boolean":
        return bool(value)
    if value is False or value is None:
        return None
    t = fm.type
    if t in ("text", "varchar", "enum"):
        return str(value)
    if t in ("smallint", "integer", "bigint"):
        return int(value)
    if t == "numeric":
        return Decimal(str(value))
    if t == "date":
        return dt.date.fromisoformat(str(value)[:10])
    if t == "timestamptz":
        return parse_odoo_datetime(value)
    if t == "uuid":
        return str(value)
    return value  # jsonb and anything else: as is


def _text(value: Any) -> str | None:
    return None if value is False or value is None else str(value)


def _scalar_to_odoo(fm: FieldMap, value: Any) -> Any:
    if value is None:
        return False
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return format_odoo_datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if fm.type == "timestamptz" and isinstance(value, str):
        return format_odoo_datetime(dt.datetime.fromisoformat(value))
    if fm.type == "numeric" and isinstance(value, str):
        return float(Decimal(value))
    return value


def m2o_id(value: Any) -> int | None:
    """An Odoo many2one as read ([id, name], a bare id, or False) -> the id or None."""
    if value is False or value is None:
        return None
    if isinstance(value, (list, tuple)):
        return int(value[0]) if value else None
    return int(value)


def json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    raise TypeError(type(value))


def canonical_json(values: dict) -> bytes:
    return orjson.dumps(values, default=json_default, option=orjson.OPT_SORT_KEYS)


def values_hash(values: dict) -> str:
    return hashlib.sha256(canonical_json(values)).hexdigest()


class EntityAdapter:
    """Declarative description of one synced entity; subclasses only set the attributes below."""

    entity: ClassVar[str]
    odoo_model: ClassVar[str]
    schema: ClassVar[str]
    table: ClassVar[str]
    primary_key: ClassVar[str] = "id"
    owner: ClassVar[str] = "odoo"
    tenant_column: ClassVar[str | None] = "org_id"
    domain: ClassVar[list] = []
    context: ClassVar[dict] = {}
    batch_size: ClassVar[int] = 500
    direction: ClassVar[str] = "pull"
    conflict: ClassVar[str | None] = None
    external_ref: ClassVar[str | None] = None  # odoo.external_ref of the spec
    fields: ClassVar[tuple[FieldMap, ...]] = ()
    many2manys: ClassVar[tuple[Many2Many, ...]] = ()
    row_model: ClassVar[type | None] = None
    insert_model: ClassVar[type | None] = None
    update_model: ClassVar[type | None] = None

    # -- derived ----------------------------------------------------------------------------
    @classmethod
    def qualified_table(cls) -> str:
        return f'"{cls.schema}"."{cls.table}"'

    @classmethod
    def columns(cls) -> list[str]:
        return [f.column for f in cls.fields]

    @classmethod
    def odoo_fields(cls) -> list[str]:
        """Fields to read from Odoo: the mapped ones plus write_date (id always comes)."""
        names = [f.odoo_field for f in cls.fields] + [r.odoo_field for r in cls.many2manys]
        return names + [n for n in ("write_date",) if n not in names]

    @classmethod
    def many2ones(cls) -> list[FieldMap]:
        return [f for f in cls.fields if f.kind == "many2one"]

    @classmethod
    def odoo_domain(cls) -> list:
        """The adapter's domain as JSON-RPC sends it: conditions as lists, operators ('|', '&', '!') as is."""
        return [list(t) if isinstance(t, (list, tuple)) else t for t in cls.domain]

    @classmethod
    def read_context(cls) -> dict:
        """Pulls always see archived records (active_test False), whatever the adapter says."""
        return {**cls.context, "active_test": False}

    @classmethod
    def pulls(cls) -> bool:
        return cls.direction in ("pull", "both")

    @classmethod
    def pushes(cls) -> bool:
        return cls.direction in ("push", "both")

    @classmethod
    def external_ref_field(cls) -> str | None:
        """The Odoo field the push marks its creates in ("specgen:<local uuid>"), so a create it may
        already have made (a crash between Odoo's answer and the commit) is found, not made twice: the
        spec's odoo.external_ref. Never a mapped field (`specgen check` refuses that)."""
        mapped = {f.odoo_field for f in cls.fields}
        return cls.external_ref if cls.external_ref and cls.external_ref not in mapped else None

    # -- Odoo -> row ------------------------------------------------------------------------
    @classmethod
    def _converters(cls) -> list:
        key = "_sg_converters"
        if key not in cls.__dict__:
            conv = []
            for fm in cls.fields:
                if fm.kind == "many2one":
                    conv.append((fm.column, fm.odoo_field, None, fm.target))
                elif fm.kind == "selection" or fm.type in ("text", "varchar", "enum"):
                    conv.append((fm.column, fm.odoo_field, _text, None))
                elif fm.type == "boolean":
                    conv.append((fm.column, fm.odoo_field, bool, None))
                else:
                    conv.append((fm.column, fm.odoo_field, lambda v, fm=fm: _scalar_from_odoo(fm, v), None))
            setattr(cls, key, conv)
        return cls.__dict__[key]

    @classmethod
    def from_odoo(cls, record: dict, resolve: Callable[[str, int], str | None] | None = None) -> dict:
        """Column values of one Odoo record. ``resolve(target_entity, odoo_id)`` gives a local uuid.

        A value that cannot be converted raises `ConversionError` naming its Odoo field."""
        out: dict[str, Any] = {}
        get = record.get
        for column, name, fn, target in cls._converters():
            value = get(name, False)
            try:
                if fn is not None:
                    out[column] = fn(value)
                else:
                    oid = m2o_id(value)
                    out[column] = None if oid is None or resolve is None else resolve(target, oid)
            except (TypeError, ValueError, ArithmeticError) as exc:
                raise ConversionError(name, value, str(exc)) from exc
        return out

    # -- row -> Odoo ------------------------------------------------------------------------
    @classmethod
    def to_odoo(cls, row: dict, unresolve: Callable[[str, str], int | None] | None = None,
                columns: list[str] | None = None) -> dict:
        """Odoo values of a row (only ``columns`` if given). ``unresolve(target, uuid)`` gives an Odoo id."""
        out: dict[str, Any] = {}
        for fm in cls.fields:
            if columns is not None and fm.column not in columns:
                continue
            value = row.get(fm.column)
            if fm.kind == "many2one":
                oid = None if value is None or unresolve is None else unresolve(fm.target, str(value))
                out[fm.odoo_field] = oid if oid is not None else False
            elif fm.kind == "selection":
                out[fm.odoo_field] = False if value is None else str(value)
            else:
                out[fm.odoo_field] = _scalar_to_odoo(fm, value)
        return out

    # -- validation -------------------------------------------------------------------------
    # Columns the sync fills itself, never from an Odoo value: valid by construction (fresh uuids,
    # the instance's own ids, many2one targets' ids read from the database).
    SYNC_SET: ClassVar[frozenset] = frozenset({"id", "org_id", "instance_id"})

    @classmethod
    def _list_adapter(cls) -> TypeAdapter:
        """A validator of the values that came from Odoo, built from the insert model's own fields.

        It keeps the model's definitions (types, lengths, ranges, validators) of every mapped scalar
        and selection column, ``odoo_id`` and ``odoo_write_date``, and leaves out the uuids the sync
        sets itself (`SYNC_SET` and resolved many2ones): parsing those was ~60% of a row's validation
        and cannot fail. Unknown keys are ignored here because those uuids are in the rows.
        """
        key = "_sg_list_adapter"
        if key not in cls.__dict__:
            model = cls.insert_model
            adapter = None
            if model is not None:
                skip = cls.SYNC_SET | {f.column for f in cls.many2ones()}
                kept = {name: (info.annotation, info) for name, info in model.model_fields.items() if name not in skip}
                derived = create_model(f"{model.__name__}FromOdoo", __config__=ConfigDict(extra="ignore"),
                                       __module__=model.__module__, **kept)
                adapter = TypeAdapter(list[derived])
            setattr(cls, key, adapter)
        return cls.__dict__[key]

    @classmethod
    def validate(cls, rows: list[dict]) -> list[str | None]:
        """Validate rows (with org_id/instance_id/odoo_id) against the insert model's definitions of
        the values that came from Odoo (see `_list_adapter`).

        Returns one error message (or None) per row, so one bad record never blocks a batch.
        """
        adapter = cls._list_adapter()
        if adapter is None or not rows:
            return [None] * len(rows)
        try:
            adapter.validate_python(rows)
            return [None] * len(rows)
        except ValidationError as exc:
            errors: list[str | None] = [None] * len(rows)
            for err in exc.errors():
                loc = err.get("loc", ())
                if loc and isinstance(loc[0], int):
                    where = ".".join(str(p) for p in loc[1:])
                    msg = f"{where}: {err.get('msg')}"
                    errors[loc[0]] = msg if errors[loc[0]] is None else f"{errors[loc[0]]}; {msg}"
            return errors

    @classmethod
    def comparable(cls, values: dict) -> dict:
        """JSON-safe copy of mapped column values, for synced_values and comparisons."""
        return orjson.loads(canonical_json({c: values.get(c) for c in cls.columns()}))
