"""Run tracking: one ops.runs row per run, ops.run_events along the way, JSON log lines alike.

While a run is open it is ``context.run_var``: Odoo calls made under it (in this thread, or in
threads given a copy of its context) add their debug records to its events.
"""
from __future__ import annotations

import logging
import time
from collections import Counter

import orjson
import psycopg

from bridge.adapters import json_default
from bridge.observe import context, jsonlog, metrics, tracing
from bridge.observe.context import new_trace_id, worker_id
from bridge.store.db import connect

log = jsonlog.get("runs")
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


EVENT_SQL = "insert into ops.run_events (run_id, trace_id, level, event, data) values (%s,%s,%s,%s,%s)"


def event_data(data: dict) -> str:
    """Step or counts data as stored: JSON with secrets redacted."""
    return orjson.dumps(jsonlog.redact(data), default=json_default).decode()


class Run:
    """``with Run(url, 'pull', instance_id, entity) as run: run.counts['upserted'] += n``.

    Written on its own autocommit connection, so a failed batch rolling back never hides the run.
    An exception marks the run failed (and is re-raised); KeyboardInterrupt/SystemExit mark it cancelled.
    """

    def __init__(self, url: str, kind: str, instance_id=None, entity: str | None = None,
                 trace_id: str | None = None):
        self.url, self.kind, self.instance_id, self.entity = url, kind, instance_id, entity
        self.trace_id = trace_id or new_trace_id()
        self.counts: Counter = Counter()
        self.id = None
        self._conn: psycopg.Connection | None = None
        self._token = None
        self._run_token = None
        self.started = 0.0
        self._last_failure: tuple[str, str] | None = None
        self._span = None  # (span, context token) while open, when traces are exported

    @property
    def span(self):
        """The run's OpenTelemetry span (its trace id is ``trace_id``), or None when tracing is off."""
        return self._span[0] if self._span else None

    def item_failed(self, error_class: str, reason: str) -> None:
        """One item of the run (an outbox row, a group of webhook events) failed and will be retried
        or was dead-lettered. The run still ends, but as ``failed``: a push whose every row fails must
        not show green, and the per-entity error rate counts it."""
        self.counts["failed"] += 1
        self._last_failure = (error_class, reason)

    def __enter__(self) -> "Run":
        self._token = context.trace_var.set(self.trace_id)
        self.started = time.monotonic()
        self._span = tracing.start(f"{self.kind} {self.entity}" if self.entity else self.kind, self.trace_id,
                                   {"specgen.kind": self.kind, "specgen.entity": self.entity,
                                    "specgen.instance_id": str(self.instance_id) if self.instance_id else None,
                                    "specgen.trace_id": self.trace_id})
        try:
            self._conn = connect(self.url, autocommit=True)
            # tracking rows need not wait for the WAL flush: a crash may lose the last few, never sync data
            self._conn.execute("set synchronous_commit = off")
            self.id = self._conn.execute(
                "insert into ops.runs (trace_id, kind, instance_id, entity, worker) values (%s,%s,%s,%s,%s) returning id",
                (self.trace_id, self.kind, self.instance_id, self.entity, worker_id())).fetchone()["id"]
        except BaseException as exc:  # no run row, so no __exit__: end the span and restore the trace here
            tracing.finish(self._span, f"{type(exc).__name__}: {exc}", exc)
            context.trace_var.reset(self._token)
            if self._conn is not None:
                self._conn.close()
            raise
        if self._span:
            self._span[0].set_attribute("specgen.run_id", str(self.id))
        self._run_token = context.run_var.set(self)
        jsonlog.log(log, logging.INFO, f"{self.kind} started", run_id=str(self.id), kind=self.kind,
                    instance_id=str(self.instance_id) if self.instance_id else None, entity=self.entity)
        return self

    def event(self, event: str, level: str = "info", trace_id: str | None = None,
              conn: psycopg.Connection | None = None, **data) -> None:
        """Record a step; `trace_id` ties it to the trace it serves when that is not the run's own.

        With `conn`, the step is written in that connection's open transaction (under a savepoint), so
        it commits, or rolls back, with the work it describes, at no extra commit.
        """
        trace_id = trace_id or self.trace_id
        jsonlog.log(log, LEVELS[level], event, run_id=str(self.id), kind=self.kind, trace_id=trace_id, **data)
        params = (self.id, trace_id, level, event[:120], event_data(data))
        try:
            if conn is None:
                self._conn.execute(EVENT_SQL, params)
            else:
                with conn.transaction():
                    conn.execute(EVENT_SQL, params)
        except psycopg.Error:
            pass  # tracking must never break the work it tracks

    def __exit__(self, exc_type, exc, tb) -> bool:
        duration = round(time.monotonic() - self.started, 3)
        error_class = exc_type.__name__ if exc_type else None
        if exc_type is None and self._last_failure:
            error_class, reason = self._last_failure
            n, of = self.counts["failed"], self.counts.get("claimed") or self.counts["failed"]
            status, error = "failed", jsonlog.redact(f"{n} of {of} failed, last: {reason}")[:2000]
        elif exc_type is None:
            status, error = "succeeded", None
        elif issubclass(exc_type, (KeyboardInterrupt, SystemExit, GeneratorExit)):
            status, error = "cancelled", exc_type.__name__
        else:
            status, error = "failed", jsonlog.redact(f"{exc_type.__name__}: {exc}")[:2000]
        counts = {**self.counts, "duration_s": duration}
        try:
            self._conn.execute("update ops.runs set status=%s, finished_at=now(), counts=%s, error=%s where id=%s",
                               (status, event_data(counts), error, self.id))
            if error:
                self._conn.execute(EVENT_SQL, (self.id, self.trace_id, "error", f"{self.kind} failed", event_data({"error": error})))
        except psycopg.Error:
            pass
        finally:
            self._conn.close()
        jsonlog.log(log, logging.ERROR if error else logging.INFO, f"{self.kind} {status}", run_id=str(self.id),
                    kind=self.kind, counts=counts, error=error)
        metrics.record_run(self.kind, self.instance_id, self.entity, self.counts, status, error_class)
        if self._span:
            self._span[0].set_attribute("specgen.status", status)
            self._span[0].set_attributes({f"specgen.counts.{k}": v for k, v in self.counts.items() if isinstance(v, int)})
        tracing.finish(self._span, error if status == "failed" else None,
                       exc if status == "failed" and isinstance(exc, BaseException) else None)
        self._span = None
        if self._run_token is not None:
            context.run_var.reset(self._run_token)
        if self._token is not None:
            context.trace_var.reset(self._token)
        return False


# Runs whose worker died (`bridge.sync.reaper`): a pull/reconcile older than the grace period whose
# advisory lock nobody holds, or another run older than the queue lease.
LOST = """
with lost as (
  select r.id from ops.runs r
  where r.status = 'running'
    and ((r.kind in ('pull', 'reconcile') and r.started_at < now() - make_interval(secs => %(grace)s)
          and not exists (select 1 from pg_locks l
                          where l.locktype = 'advisory' and l.granted and l.objsubid = 2
                            and l.database = (select oid from pg_database where datname = current_database())
                            and l.classid = hashtext(%(lock_kind)s)::oid
                            -- the second half of db.lock_key, spelled in SQL
                            and l.objid = hashtext(r.instance_id::text || ':' || r.entity)::oid))
      or (r.kind not in ('pull', 'reconcile') and r.started_at < now() - make_interval(secs => %(lease)s)))
  for update skip locked
)
update ops.runs r set status = 'failed', finished_at = now(),
       error = 'WorkerLost: ' || coalesce(r.worker, 'a worker') || ' stopped without finishing this run'
from lost where r.id = lost.id
returning r.id, r.trace_id, r.kind, r.instance_id, r.entity, r.worker, r.started_at
"""


def close_lost(conn: psycopg.Connection, *, grace_s: float, lease_s: float, lock_kind: str) -> list[dict]:
    """Mark lost runs failed (``WorkerLost: ...``), each with an error step. Returns them; does not commit."""
    rows = [dict(r) for r in conn.execute(LOST, {"grace": grace_s, "lease": lease_s,
                                                 "lock_kind": lock_kind}).fetchall()]
    for r in rows:
        conn.execute(EVENT_SQL, (r["id"], r["trace_id"], "error", f"{r['kind']} lost: its worker stopped",
                                 event_data({"worker": r["worker"], "found_by": worker_id()})))
    return rows
