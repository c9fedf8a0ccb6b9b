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
# The current bridge.store.runs.Run (set by Run itself), so code below it, e.g. the Odoo client's debug
# recording, can add run events without importing bridge.store.runs.
run_var: contextvars.ContextVar[Any] = contextvars.ContextVar("specgen_run", default=None)
SECRET_KEYS = re.compile(r"pass(word)?|secret|token|api[_-]?key|authorization|cookie", re.I)
# `Authorization: Bearer xyz` hides xyz, not the word Bearer
SECRET_IN_TEXT = re.compile(r"(?i)(password|secret|token|api[_-]?key|authorization)([\"']?\s*[:=]\s*[\"']?)"
                            r"((?:bearer|basic|token)\s+)?([^\s\"',}&]+)")
_SECRETS: set[str] = set()
_secrets_re: re.Pattern | None = None


def register_secret(value: str | None) -> None:
    """A value that must never appear in a log line (e.g. an Odoo password read from the env)."""
    global _secrets_re
    if value and len(value) >= 3 and value not in _SECRETS:
        _SECRETS.add(value)
        _secrets_re = _whole_values(_SECRETS)


def _whole_values(secrets: set[str]) -> re.Pattern:
    """A secret matches only as a whole value: where it starts or ends with a word character, the
    text around it must not continue the word. Replacing `admin` inside `administrator` would print
    `***istrator` and so reveal the secret; `administrator` alone reveals nothing."""
    parts = []
    for secret in sorted(secrets, key=len, reverse=True):  # the longest first: one secret may contain another
        before = r"(?<!\w)" if re.match(r"\w", secret[0]) else ""
        after = r"(?!\w)" if re.match(r"\w", secret[-1]) else ""
        parts.append(before + re.escape(secret) + after)
    return re.compile("|".join(parts))


def redact(value):
    if isinstance(value, dict):
        return {k: ("***" if SECRET_KEYS.search(str(k)) else redact(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    if isinstance(value, str):
        text = SECRET_IN_TEXT.sub(lambda m: m.group(1) + m.group(2) + (m.group(3) or "") + "***", value)
        return _secrets_re.sub("***", text) if _secrets_re is not None else text
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
