"""The Odoo -> Supabase event schema (specgen/schemas/odoo_event.schema.json, which the compiler publishes)
and idempotency keys."""
from __future__ import annotations

import hashlib
import uuid
from functools import lru_cache

import fastjsonschema

from specgen import schemas

@lru_cache(maxsize=1)
def schema() -> dict:
    return schemas.load("odoo_event.schema.json")


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


def idempotency_key(event: dict, body: bytes, delivery: str | None = None) -> str:
    """Same notification, same key: a hash of model, id, write_date and the raw body.

    Only a body with a `write_date` names one change. Odoo 17's webhook action sends only the fields
    chosen on it (ir_actions.py `_run_action_webhook`), none by default: then the body, `_action`,
    `_id` and `_model`, is the same for every change of the record, and a body hash would file each
    later change as a duplicate of the first. Such a delivery is keyed by `delivery` (the signature's
    timestamp, so a replay of a signed delivery still matches), else it is never a duplicate: Odoo
    does not retry webhooks, and processing one twice costs a re-read."""
    if not event.get("write_date"):
        return "delivery:" + (hashlib.sha256(f"{delivery}\0".encode() + body).hexdigest() if delivery
                              else uuid.uuid4().hex)
    h = hashlib.sha256()
    for part in (str(event.get("_model")), str(event.get("_id")), str(event.get("write_date"))):
        h.update(part.encode())
        h.update(b"\0")
    h.update(body)
    return "sha256:" + h.hexdigest()
