"""Debug recording of Odoo calls (SPECGEN_ODOO_DEBUG): each sampled HTTP exchange, secrets out first and
then cut to a bound, as an ``odoo call`` event of the current run, else as a JSON log line."""
from __future__ import annotations

import logging
import time
from typing import Any

import orjson

from bridge.observe import context, jsonlog

log = jsonlog.get("odoo")


# Where the password / API key sits in the positional params of the external API's methods.
_SECRET_ARG = {("object", "execute_kw"): 2, ("object", "execute"): 2,
               ("common", "login"): 2, ("common", "authenticate"): 2}
_DB_WITHOUT_SECRET = {"list", "server_version", "db_exist", "list_lang", "list_countries"}


def redact_params(service: str, method: str, args: list) -> list:
    """The params with the password / API key (by position) and secret-looking keys replaced by ***."""
    args = list(args)
    pos = _SECRET_ARG.get((service, method))
    if pos is None and service == "db" and method not in _DB_WITHOUT_SECRET:
        pos = 0  # the other db.* methods take the master password first
    if pos is not None and len(args) > pos:
        args[pos] = "***"
    return jsonlog.redact(args)


def call_target(service: str, method: str, args: list) -> tuple[str | None, str]:
    """(model, method) of a call: the ORM model and method for execute_kw, else (None, method)."""
    if service == "object" and method in ("execute", "execute_kw") and len(args) >= 5:
        return args[3], args[4]
    return None, method


def bounded_json(value: Any, limit: int) -> tuple[str, int]:
    """``value`` (already redacted) as JSON text cut to ``limit`` UTF-8 bytes, and its full size."""
    text = jsonlog.redact(orjson.dumps(value, default=str).decode())
    raw = text.encode()
    if len(raw) > limit:
        text = raw[:limit].decode("utf-8", "ignore")
    return text, len(raw)


def record_call(max_bytes: int, protocol: str, service: str, method: str, args: list, model: str | None, request: Any,
                note: dict, started: float, trace_id: str, attempt: int, *, result: Any = None,
                error: Exception | None = None) -> None:
    """Secrets out first, then the size bound; to the current run's events, else to the log only."""
    try:
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        if protocol == "json2":
            request = jsonlog.redact(request)
        else:
            request = {"service": service, "method": method, "args": redact_params(service, method, args)}
            model, method = call_target(service, method, args)
        if error is None:
            response: Any = {"result": jsonlog.redact(result)}
        else:
            response = {"error": {"name": getattr(error, "name", type(error).__name__), "message": str(error),
                                  "transient": bool(getattr(error, "transient", False))}}
            if note.get("body") is not None:
                try:
                    response["body"] = jsonlog.redact(orjson.loads(note["body"]))
                except orjson.JSONDecodeError:
                    response["body"] = note["body"].decode("utf-8", "replace")
        request_text, request_bytes = bounded_json(request, max_bytes)
        response_text, response_bytes = bounded_json(response, max_bytes)
        data = {"protocol": protocol, "service": service, "model": model, "method": method, "attempt": attempt,
                "status": note.get("status"), "duration_ms": duration_ms,
                "error": None if error is None else response["error"]["name"],
                "request": request_text, "request_bytes": request_bytes,
                "request_truncated": request_bytes > max_bytes,
                "response": response_text, "response_bytes": response_bytes,
                "response_truncated": response_bytes > max_bytes}
        run = context.run_var.get()
        if run is not None:
            run.event("odoo call", level="debug", trace_id=trace_id, **data)
        else:
            jsonlog.log(log, logging.DEBUG, "odoo call", trace_id=trace_id, **data)
    except Exception:  # noqa: BLE001 - recording must never break the call it records
        pass
