"""`openapi/runtime.json`: the sync runtime's own HTTP endpoints (webhook receiver, health), OpenAPI 3.1.

A document of its own: the runtime is served from its own host, not by Supabase's Data API.
"""
from __future__ import annotations

from generator.text import jsondoc
from generator.ir import IR
from specgen import schemas

RUNTIME_PATH = "openapi/runtime.json"

# The event Odoo 17+ posts (and the pull and replay queue): one schema, specgen/schemas/, which the
# runtime validates against and this document publishes.
ODOO_EVENT = schemas.load("odoo_event.schema.json")


def _problem(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {
        "$ref": "#/components/schemas/Problem"}}}}


def render_document(ir: IR) -> dict:
    models = sorted({t.odoo.model for t in ir.tables if t.odoo})
    event = {k: v for k, v in ODOO_EVENT.items() if k not in ("$schema", "$id")}
    common = {
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "$ref": "#/components/schemas/OdooEvent"}}}},
        "responses": {
            "202": {"description": "Stored once (a repeated idempotency key stores nothing and also answers 202).",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}}},
            "400": _problem("Not JSON, or not an event."),
            "401": _problem("Unknown instance, wrong token or signature."),
            "413": _problem("Body over the size limit."),
            "415": _problem("Content-Type is not application/json."),
            "503": _problem("The database is unavailable; nothing was stored, retry later."),
        },
    }
    instance = {"name": "instance_id", "in": "path", "required": True,
                "schema": {"type": "string", "format": "uuid"}, "description": "odoo.instances.id"}
    idempotency = {"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string",
                   "maxLength": 200}, "description": "Defaults to a hash of model, id, write_date and body."}
    return {
        "openapi": "3.1.0",
        "info": {"title": f"{ir.project.name} sync runtime", "version": ir.project.version,
                 "description": "Endpoints of the sync runtime (`specgen webhooks serve`). Odoo 17 signs nothing, "
                                "so its automation rule calls the URL with the instance's secret token; a signing "
                                "proxy can use the HMAC route instead. Mapped models: " + ", ".join(models) + "."},
        "servers": [{"url": "{runtime_url}", "variables": {"runtime_url": {"default": "http://127.0.0.1:8080"}}}],
        "paths": {
            "/webhooks/odoo/{instance_id}/{token}": {"post": {
                "operationId": "receive_webhook_with_token", "summary": "Receive an Odoo webhook (URL token)",
                "parameters": [instance, {"name": "token", "in": "path", "required": True,
                                          "schema": {"type": "string"},
                                          "description": "Secret token; its sha256 is odoo.instances.webhook_token_hash."},
                               idempotency, {"name": "X-Trace-Id", "in": "header", "required": False,
                                             "schema": {"type": "string"}}],
                "security": [], **common}},
            "/webhooks/odoo/{instance_id}": {"post": {
                "operationId": "receive_webhook_signed", "summary": "Receive an event from a signing proxy (HMAC)",
                "parameters": [instance, idempotency,
                               {"name": "X-Specgen-Timestamp", "in": "header", "required": True,
                                "schema": {"type": "string"}, "description": "Unix seconds; must be recent."},
                               {"name": "X-Specgen-Signature", "in": "header", "required": True,
                                "schema": {"type": "string", "pattern": "^sha256=[0-9a-f]{64}$"},
                                "description": "HMAC-SHA256 of `timestamp.body`."}],
                "security": [], **common}},
            "/health": {"get": {
                "operationId": "health", "summary": "Liveness and database reachability", "security": [],
                "responses": {"200": {"description": "Up.", "content": {"application/json": {"schema": {
                    "$ref": "#/components/schemas/Health"}}}},
                              "503": {"description": "Degraded: the database is down.", "content": {
                                  "application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}}}},
        },
        "components": {"schemas": {
            "OdooEvent": event,
            "Accepted": {"type": "object", "required": ["status"], "properties": {
                "status": {"enum": ["accepted", "duplicate"]}, "id": {"type": "integer"},
                "trace_id": {"type": "string"}, "idempotency_key": {"type": "string"}}},
            "Problem": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
            "Health": {"type": "object", "required": ["status", "database"], "properties": {
                "status": {"enum": ["ok", "degraded"]}, "database": {"enum": ["up", "down"]}},
                "additionalProperties": True},
        }},
    }


EVENT_SCHEMA_PATH = "schemas/odoo_event.schema.json"


def render(ir: IR) -> dict[str, str]:
    if not any(t.odoo for t in ir.tables):
        return {}
    return {RUNTIME_PATH: jsondoc.dump(render_document(ir)), EVENT_SCHEMA_PATH: jsondoc.dump(ODOO_EVENT)}
