"""JSON-lines logs on stderr: one object per line, with the trace id, secrets redacted."""
from __future__ import annotations

import datetime as dt
import logging
import re
import sys

import orjson

from bridge.observe import context

SECRET_KEYS = re.compile(r"pass(word)?|secret|token|api[_-]?key|authorization|cookie", re.I)
# `Authorization: Bearer xyz` hides xyz, not the word Bearer
SECRET_IN_TEXT = re.compile(r"(?i)(password|secret|token|api[_-]?key|authorization)([\"']?\s*[:=]\s*[\"']?)"
                            r"((?:bearer|basic|token)\s+)?([^\s\"',}&]+)")


def register_secret(value: str | None) -> None:
    """A value that must never appear in a log line (e.g. an Odoo password read from the env)."""
    context.SECRETS.register(value)


def redact(value):
    if isinstance(value, dict):
        return {k: ("***" if SECRET_KEYS.search(str(k)) else redact(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    if isinstance(value, str):
        text = SECRET_IN_TEXT.sub(lambda m: m.group(1) + m.group(2) + (m.group(3) or "") + "***", value)
        pattern = context.SECRETS.pattern
        return pattern.sub("***", text) if pattern is not None else text
    return value


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = getattr(record, "data", None)
        obj = {"ts": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"),
               "level": record.levelname.lower(), "logger": record.name,
               "msg": record.getMessage(),
               "trace_id": (data or {}).get("trace_id") or getattr(record, "trace_id", None) or context.trace_var.get()}
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
