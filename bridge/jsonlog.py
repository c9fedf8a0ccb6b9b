"""JSON-lines logs on stderr: one object per line, with the trace id, secrets redacted."""
from __future__ import annotations

import contextvars
import datetime as dt
import logging
import re
import sys
from typing import Any

import orjson

trace_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("specgen_trace_id", default=None)
# The current bridge.runs.Run (set by Run itself), so code below it, e.g. the Odoo client's debug
# recording, can add run events without importing bridge.runs.
run_var: contextvars.ContextVar[Any] = contextvars.ContextVar("specgen_run", default=None)
SECRET_KEYS = re.compile(r"pass(word)?|secret|token|api[_-]?key|authorization|cookie", re.I)
SECRET_IN_TEXT = re.compile(r"(?i)(password|secret|token|api[_-]?key|authorization)([\"']?\s*[:=]\s*[\"']?)([^\s\"',}&]+)")
_SECRETS: set[str] = set()


def register_secret(value: str | None) -> None:
    """A value that must never appear in a log line (e.g. an Odoo password read from the env)."""
    if value and len(value) >= 3:
        _SECRETS.add(value)


def redact(value):
    if isinstance(value, dict):
        return {k: ("***" if SECRET_KEYS.search(str(k)) else redact(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    if isinstance(value, str):
        text = SECRET_IN_TEXT.sub(lambda m: m.group(1) + m.group(2) + "***", value)
        for secret in _SECRETS:
            text = text.replace(secret, "***")
        return text
    return value


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = getattr(record, "data", None)
        obj = {"ts": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"),
               "level": record.levelname.lower(), "logger": record.name,
               "msg": record.getMessage(),
               "trace_id": (data or {}).get("trace_id") or getattr(record, "trace_id", None) or trace_var.get()}
        if data:
            obj.update({k: v for k, v in data.items() if k not in obj})
        if record.exc_info:
            obj["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return orjson.dumps(redact(obj), default=str).decode()


def setup(level: str = "info", stream=None) -> None:
    root = logging.getLogger("specgen")
    for h in list(root.handlers):
        root.removeHandler(h)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    root.propagate = False


def get(name: str) -> logging.Logger:
    return logging.getLogger(f"specgen.{name}")


def log(logger: logging.Logger, level: int, msg: str, **data) -> None:
    logger.log(level, msg, extra={"data": data})
