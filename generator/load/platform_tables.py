"""The platform's own tables (bridge and ops), written in the spec language so one builder serves all.

Bridge tables live in `odoo`, run tracking in `ops`. Only the service role touches them until the
authorization layer grants org admins a view of their own rows.
"""
from __future__ import annotations

_TRACE = {"name": "trace_id", "type": "varchar(64)", "required": True,
          "description": "Trace id shared by logs, run events and Odoo calls (W3C trace-id format)."}
_INSTANCE = {"name": "instance_id", "references": "platform:instances", "on_delete": "cascade", "required": True}


def _identity() -> dict:
    return {"name": "id", "type": "bigint", "identity": True}


ENUMS = {
    ("odoo", "instance_protocol"): ["jsonrpc", "xmlrpc", "json2"],
    ("odoo", "queue_status"): ["pending", "processing", "done", "dead"],
    ("odoo", "outbox_operation"): ["create", "write", "unlink"],
    ("odoo", "dead_letter_source"): ["pull", "push", "webhook"],
    ("ops", "run_kind"): ["pull", "push", "reconcile", "process", "replay", "webhook"],
    ("ops", "run_status"): ["running", "succeeded", "failed", "cancelled"],
    ("ops", "event_level"): ["debug", "info", "warning", "error"],
    ("ops", "audit_operation"): ["insert", "update", "delete"],
}

ENTITIES: list[dict] = [
    {
        "name": "platform:instances", "schema": "odoo", "table": "instances", "tenant": True,
        "description": "Odoo instances an org syncs with. Credentials are referenced, never stored.",
        "fields": [
            {"name": "name", "type": "varchar(120)", "required": True},
            {"name": "base_url", "type": "text", "required": True, "check": {"pattern": "^https?://"}},
            {"name": "database", "type": "varchar(120)", "required": True},
            {"name": "login", "type": "varchar(120)", "required": True},
            {"name": "secret_ref", "type": "varchar(200)", "required": True,
             "description": "Name of the environment variable or vault secret holding the password or API key."},
            {"name": "protocol", "type": "enum", "enum": "instance_protocol", "default": "jsonrpc", "required": True},
            {"name": "webhook_token_hash", "type": "varchar(64)",
             "description": "SHA-256 of the secret webhook URL token; the token itself is never stored."},
            {"name": "webhook_hmac_secret_ref", "type": "varchar(200)",
             "description": "Name of the environment variable holding this instance's webhook HMAC key (its "
                            "signing proxy's); the key itself is never stored."},
            {"name": "active", "type": "boolean", "default": True, "required": True},
            {"name": "request_limit_seconds", "type": "integer", "default": 180, "required": True,
             "check": {"min": 1},
             "description": "Longest an Odoo call of this server may run before it commits (its limit_time_real, "
                            "120 s by default, plus a margin): the pull's lookback, and how long a create whose "
                            "answer was lost is waited for before it is looked up and tried again."},
        ],
        "unique_tenant": ["name"],
    },
    {
        "name": "platform:sync_cursors", "schema": "odoo", "table": "sync_cursors",
        "description": "Keyset pull cursor (write_date, id) per instance and entity.",
        "fields": [
            _INSTANCE,
            {"name": "entity", "type": "varchar(63)", "required": True},
            {"name": "odoo_model", "type": "varchar(128)", "required": True},
            {"name": "last_write_date", "type": "timestamptz"},
            {"name": "last_id", "type": "integer", "default": 0, "required": True},
            {"name": "last_run_id", "type": "uuid"},
            {"name": "odoo_head_write_date", "type": "timestamptz",
             "description": "Odoo's newest write_date in the entity's domain when a pull last asked; minus "
                            "last_write_date, how far the mirror is behind."},
            {"name": "odoo_checked_at", "type": "timestamptz", "description": "When a pull last asked Odoo."},
        ],
        "unique": [["instance_id", "entity"]],
    },
    {
        "name": "platform:entity_mappings", "schema": "odoo", "table": "entity_mappings",
        "description": "Which local row mirrors which Odoo record; resolves many2one and makes pushes idempotent.",
        "primary_key": _identity(),
        "fields": [
            _INSTANCE,
            {"name": "entity", "type": "varchar(63)", "required": True},
            {"name": "local_id", "type": "uuid", "required": True},
            {"name": "odoo_model", "type": "varchar(128)", "required": True},
            {"name": "odoo_id", "type": "integer", "required": True},
            {"name": "odoo_write_date", "type": "timestamptz"},
            {"name": "synced_hash", "type": "varchar(64)",
             "description": "Hash of the values last synced, for echo suppression."},
            {"name": "synced_values", "type": "jsonb",
             "description": "The values last synced, the base of a field_merge."},
        ],
        "unique": [["instance_id", "entity", "odoo_id"], ["instance_id", "entity", "local_id"]],
    },
    {
        "name": "platform:webhook_events", "schema": "odoo", "table": "webhook_events",
        "description": "Webhook deliveries, stored once per idempotency key before they are processed.",
        "primary_key": _identity(), "timestamps": False,
        "fields": [
            _INSTANCE,
            {"name": "idempotency_key", "type": "varchar(200)", "required": True},
            {"name": "odoo_model", "type": "varchar(128)", "required": True},
            {"name": "odoo_id", "type": "integer"},
            {"name": "payload", "type": "jsonb", "required": True},
            {"name": "status", "type": "enum", "enum": "queue_status", "default": "pending", "required": True},
            {"name": "attempts", "type": "integer", "default": 0, "required": True},
            {"name": "received_at", "type": "timestamptz", "default_sql": "now()", "required": True},
            {"name": "available_at", "type": "timestamptz", "default_sql": "now()", "required": True},
            {"name": "processed_at", "type": "timestamptz"},
            {"name": "recheck_at", "type": "timestamptz",
             "description": "When the processor reads the event's record once more: Odoo 17 posts a webhook inside "
                            "the call, before it commits, so a read made sooner than the instance's request limit "
                            "after receipt may see the record as it was (a delete not done yet)."},
            {"name": "last_error", "type": "text"},
            _TRACE,
        ],
        "unique": [["instance_id", "idempotency_key"]],
        "indexes": [{"columns": ["available_at"], "where": "status in ('pending', 'processing')"},
                    {"columns": ["recheck_at"], "where": "recheck_at is not null"}],
    },
    {
        "name": "platform:outbox", "schema": "odoo", "table": "outbox",
        "description": "App changes waiting to be pushed to Odoo, written by triggers in the app transaction.",
        "primary_key": _identity(),
        "fields": [
            _INSTANCE,
            {"name": "entity", "type": "varchar(63)", "required": True},
            {"name": "local_id", "type": "uuid", "required": True},
            {"name": "operation", "type": "enum", "enum": "outbox_operation", "required": True},
            {"name": "payload", "type": "jsonb", "required": True},
            {"name": "status", "type": "enum", "enum": "queue_status", "default": "pending", "required": True},
            {"name": "attempts", "type": "integer", "default": 0, "required": True},
            {"name": "available_at", "type": "timestamptz", "default_sql": "now()", "required": True},
            {"name": "claimed_by", "type": "text"},
            {"name": "claimed_at", "type": "timestamptz"},
            {"name": "last_error", "type": "text"},
            _TRACE,
        ],
        # Claims take the oldest pending row per record, so both the queue order and a record's own
        # changes are served by an index.
        "indexes": [{"columns": ["available_at"], "where": "status = 'pending'"},
                    {"columns": ["instance_id", "entity", "local_id"], "where": "status in ('pending', 'processing')"}],
    },
    {
        "name": "platform:dead_letters", "schema": "odoo", "table": "dead_letters",
        "description": "Work that failed for good, with its reason and payload, ready to be replayed.",
        "primary_key": _identity(),
        "fields": [
            {"name": "source", "type": "enum", "enum": "dead_letter_source", "required": True},
            {"name": "instance_id", "references": "platform:instances", "on_delete": "set null"},
            {"name": "entity", "type": "varchar(63)"},
            {"name": "odoo_model", "type": "varchar(128)"},
            {"name": "record_ref", "type": "text"},
            {"name": "payload", "type": "jsonb", "required": True},
            {"name": "reason", "type": "text", "required": True},
            {"name": "error_class", "type": "varchar(200)"},
            {"name": "attempts", "type": "integer", "default": 0, "required": True},
            {"name": "replayed_at", "type": "timestamptz"},
            _TRACE,
        ],
        "indexes": [{"columns": ["created_at"]}],  # replay by time window
    },
    {
        "name": "platform:runs", "schema": "ops", "table": "runs", "timestamps": False,
        "description": "One sync run (pull, push, replay, ...) with its counts and outcome.",
        "fields": [
            _TRACE,
            {"name": "kind", "type": "enum", "enum": "run_kind", "required": True},
            {"name": "instance_id", "references": "platform:instances", "on_delete": "set null"},
            {"name": "entity", "type": "varchar(63)"},
            {"name": "status", "type": "enum", "enum": "run_status", "default": "running", "required": True},
            {"name": "started_at", "type": "timestamptz", "default_sql": "now()", "required": True},
            {"name": "finished_at", "type": "timestamptz"},
            {"name": "counts", "type": "jsonb", "default": {}, "required": True},
            {"name": "error", "type": "text"},
            {"name": "worker", "type": "text"},
        ],
        "indexes": [{"columns": ["trace_id"]}, {"columns": ["started_at"]}, {"columns": ["finished_at"]},
                    # runs in progress: the lost-run sweep of every worker cycle, the dashboard's header
                    {"columns": ["started_at"], "where": "status = 'running'", "name": "runs_running_idx"},
                    # each entity's last success (ops.sync_health), found without reading its history
                    {"columns": ["instance_id", "entity", "finished_at"], "where": "status = 'succeeded'",
                     "name": "runs_last_success_idx"}],
    },
    {
        "name": "platform:run_events", "schema": "ops", "table": "run_events", "timestamps": False,
        "primary_key": _identity(),
        "description": "What happened during a run, in order; carries the same trace id as the logs.",
        "fields": [
            {"name": "run_id", "references": "platform:runs", "on_delete": "cascade", "required": True},
            _TRACE,
            {"name": "at", "type": "timestamptz", "default_sql": "now()", "required": True},
            {"name": "level", "type": "enum", "enum": "event_level", "default": "info", "required": True},
            {"name": "event", "type": "varchar(120)", "required": True},
            {"name": "data", "type": "jsonb", "default": {}, "required": True},
        ],
        "indexes": [{"columns": ["trace_id"]}],
    },
    {
        "name": "platform:artifacts", "schema": "ops", "table": "artifacts",
        "description": "Files a run produced (exports, reports), by path and checksum.",
        "fields": [
            {"name": "run_id", "references": "platform:runs", "on_delete": "set null"},
            {"name": "kind", "type": "varchar(63)", "required": True},
            {"name": "path", "type": "text", "required": True},
            {"name": "sha256", "type": "varchar(64)", "required": True, "check": {"pattern": "^[0-9a-f]{64}$"}},
            {"name": "size_bytes", "type": "bigint", "required": True, "check": {"min": 0}},
        ],
    },
    {
        "name": "platform:audit_log", "schema": "ops", "table": "audit_log", "timestamps": False,
        "primary_key": _identity(),
        "description": "Append-only record of changes to audited entities; pii columns are masked.",
        "fields": [
            {"name": "at", "type": "timestamptz", "default_sql": "now()", "required": True},
            {"name": "actor", "type": "uuid", "description": "auth.uid() of the caller; null for the service role."},
            {"name": "org_id", "type": "uuid"},
            {"name": "table_schema", "type": "varchar(63)", "required": True},
            {"name": "table_name", "type": "varchar(63)", "required": True},
            {"name": "operation", "type": "enum", "enum": "audit_operation", "required": True},
            {"name": "row_pk", "type": "text", "required": True},
            {"name": "old_values", "type": "jsonb"},
            {"name": "new_values", "type": "jsonb"},
            {"name": "changed_columns", "type": "text[]"},
            {"name": "trace_id", "type": "varchar(64)"},
        ],
        "indexes": [{"columns": ["table_schema", "table_name", "at"]}, {"columns": ["org_id", "at"]}],
    },
]

TABLE_NAMES = frozenset((e["schema"], e["table"]) for e in ENTITIES)
