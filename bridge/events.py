"""The Odoo -> Supabase event schema (bridge/schemas/odoo_event.schema.json) and idempotency keys."""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

import fastjsonschema

SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "odoo_event.schema.json"


@lru_cache(maxsize=1)
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())


@lru_cache(maxsize=1)
def _validator():
    return fastjsonschema.compile(schema())


def validate(event) -> str | None:
    """None if the event is valid, else a short reason."""
    try:
        _validator()(event)
        return None
    except fastjsonschema.JsonSchemaException as exc:
        return exc.message


def idempotency_key(event: dict, body: bytes) -> str:
    """Same notification, same key: a hash of model, id, write_date and the raw body."""
    h = hashlib.sha256()
    for part in (str(event.get("_model")), str(event.get("_id")), str(event.get("write_date"))):
        h.update(part.encode())
        h.update(b"\0")
    h.update(body)
    return "sha256:" + h.hexdigest()
