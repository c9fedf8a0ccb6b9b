"""The context the runtime carries through a call without passing it by hand, owned here in one place:
the trace a log line, a run and an Odoo call belong to, the run under way, and the secrets no log line
may show. Each is a context variable (per thread and task) or, for the secrets, one registry per process.
"""
from __future__ import annotations

import contextvars
import os
import re
import secrets
import socket
from typing import Any

# The current trace (set by a run, a webhook request, a CLI --traceparent): log lines carry it.
trace_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("specgen_trace_id", default=None)
# The current bridge.store.runs.Run (set by Run itself), so code below it, e.g. the Odoo client's debug
# recording, can add run events without importing bridge.store.runs.
run_var: contextvars.ContextVar[Any] = contextvars.ContextVar("specgen_run", default=None)
# The trace a call serves when it is not the run's own (a webhook event's, an outbox row's): set with
# `OdooClient.traced`. Otherwise calls carry the current run's trace (trace_var), else the client's.
CALL_TRACE: contextvars.ContextVar[str | None] = contextvars.ContextVar("specgen_odoo_call_trace", default=None)


def new_trace_id() -> str:
    return secrets.token_hex(16)


_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


def parse_traceparent(value: str | None) -> str | None:
    """A W3C traceparent ('00-<32 hex trace id>-<16 hex span id>-<2 hex flags>') -> its trace id, or
    None if it is not one (the all-zero trace id is invalid)."""
    m = _TRACEPARENT.match((value or "").strip().lower())
    return m.group(1) if m and m.group(1) != "0" * 32 else None


def trace_id_from(headers) -> str:
    """The caller's trace id: W3C `traceparent` first, then `X-Trace-Id`, else a new one."""
    parent = parse_traceparent(headers.get("traceparent"))
    if parent:
        return parent
    given = (headers.get("x-trace-id") or "").strip()
    return given[:64] if given else new_trace_id()


class SecretRegistry:
    """Values that must never appear in a log line (an Odoo password read from its variable, say),
    matched only as whole values (see `_whole_values`)."""

    def __init__(self):
        self._values: set[str] = set()
        self.pattern: re.Pattern | None = None

    def register(self, value: str | None) -> None:
        if value and len(value) >= 3 and value not in self._values:
            self._values.add(value)
            self.pattern = _whole_values(self._values)


def _whole_values(values: set[str]) -> re.Pattern:
    """A secret matches only as a whole value: where it starts or ends with a word character, the
    text around it must not continue the word. Replacing `admin` inside `administrator` would print
    `***istrator` and so reveal the secret; `administrator` alone reveals nothing."""
    parts = []
    for secret in sorted(values, key=len, reverse=True):  # the longest first: one secret may contain another
        before = r"(?<!\w)" if re.match(r"\w", secret[0]) else ""
        after = r"(?!\w)" if re.match(r"\w", secret[-1]) else ""
        parts.append(before + re.escape(secret) + after)
    return re.compile("|".join(parts))


def worker_id() -> str:
    """Who this process is in ops.runs and in the queues' leases: host and pid, read when asked (a
    forked process is another worker)."""
    return f"{socket.gethostname()}:{os.getpid()}"


SECRETS = SecretRegistry()  # the process's one registry: the log formatter and the run store read it
