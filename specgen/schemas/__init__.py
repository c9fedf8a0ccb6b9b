"""Schemas both sides of specgen use, as data: the compiler publishes them (generated/schemas/, the
runtime's OpenAPI document) and the runtime validates against them. A leaf: it imports nothing.

- odoo_event.schema.json: one change notification about one Odoo record, as Odoo 17+'s "Send Webhook
  Notification" posts it and as the pull and replay queue it.
"""
from __future__ import annotations

import json
from importlib import resources


def load(name: str) -> dict:
    """The schema `name` (a file of this package) as a dict."""
    return json.loads(resources.files(__name__).joinpath(name).read_text(encoding="utf-8"))
