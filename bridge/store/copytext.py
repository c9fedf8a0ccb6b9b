"""Rows as PostgreSQL COPY text, for the bulk write path (`bridge.store.mirrors.bulk_upsert`)."""
from __future__ import annotations

import datetime as dt
import re

from bridge.adapters import canonical_json


def bulk_columns(adapter) -> list[str]:
    """The columns a bulk write fills: the key, the tenant column (if any), the mapped ones, the link."""
    tenant = [adapter.tenant_column] if adapter.tenant_column else []
    return [adapter.primary_key, *tenant, *adapter.columns(), "instance_id", "odoo_id", "odoo_write_date"]


_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_cell(value) -> str:
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, str):
        text = value
    elif isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    elif isinstance(value, (dict, list)):  # jsonb
        text = canonical_json(value).decode()
    else:  # int, Decimal, float, UUID
        return str(value)
    return text.translate(_COPY_ESCAPES) if _COPY_SPECIAL.search(text) else text


def _text_cell(value) -> str:
    if value is None:
        return "\\N"
    return value.translate(_COPY_ESCAPES) if _COPY_SPECIAL.search(value) else value


def _plain_cell(value) -> str:  # uuid, integers, numeric: their str() needs no escaping
    return "\\N" if value is None else str(value)


def _bool_cell(value) -> str:
    return "\\N" if value is None else ("t" if value else "f")


def _iso_cell(value) -> str:
    return "\\N" if value is None else value.isoformat()


_CELL_BY_TYPE = {"uuid": _plain_cell, "smallint": _plain_cell, "integer": _plain_cell, "bigint": _plain_cell,
                 "numeric": _plain_cell, "text": _text_cell, "varchar": _text_cell, "enum": _text_cell,
                 "boolean": _bool_cell, "date": _iso_cell, "timestamptz": _iso_cell}


def _cell_encoders(adapter) -> list[tuple[str, object]]:
    """(column, encoder) for each bulk column, chosen once per adapter by the column's type, so a cell
    costs one call instead of `_copy_cell`'s chain of type tests (half the encoding time of a page)."""
    key = "_sg_copy_encoders"
    if key not in adapter.__dict__:
        types = {adapter.primary_key: "uuid", "instance_id": "uuid", "odoo_id": "integer",
                 "odoo_write_date": "timestamptz"}
        if adapter.tenant_column:
            types[adapter.tenant_column] = "uuid"
        types.update({f.column: ("uuid" if f.kind == "many2one" else "enum" if f.kind == "selection" else f.type)
                      for f in adapter.fields if not f.array})
        setattr(adapter, key, [(n, _CELL_BY_TYPE.get(types.get(n), _copy_cell)) for n in bulk_columns(adapter)])
    return adapter.__dict__[key]


def encode_copy(prepared) -> None:  # a bridge.sync.convert.Prepared
    """Encode the rows for COPY ahead of the write (a pull does this while the previous page is being
    written, so the connection that writes spends its time in PostgreSQL, not in Python)."""
    if prepared.adapter.owner == "shared" or not prepared.rows:
        return
    cells = _cell_encoders(prepared.adapter)
    try:
        text = "".join(["\t".join([cell(row[n]) for n, cell in cells]) + "\n" for row in prepared.rows])
    except (AttributeError, TypeError):  # a value of an unexpected Python type: the general encoder
        names = bulk_columns(prepared.adapter)
        text = "".join(["\t".join([_copy_cell(row[n]) for n in names]) + "\n" for row in prepared.rows])
    prepared.copy_data = text.encode()
