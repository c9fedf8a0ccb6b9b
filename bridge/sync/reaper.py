"""Runs whose worker died: found and closed, so a killed worker shows up as a failure, not as a run
that is "running" for ever.

A pull or reconcile holds its advisory lock (`bridge.store.db.try_lock`) for as long as it runs, and
PostgreSQL drops the lock with the connection of a dead process. So a pull/reconcile run marked
running, older than a grace period, whose lock nobody holds, has lost its worker: on any machine.
Other runs (process, push, replay) are bounded batches; one still running after the queue lease has
lost its worker too (its claimed rows are re-claimed after the same lease).
"""
from __future__ import annotations

import logging

from bridge.observe import jsonlog, metrics
from bridge.store import db, runs

log = jsonlog.get("reaper")


def reap_lost_runs(url: str, *, lease_s: float = 300.0, grace_s: float = 60.0) -> list[dict]:
    """Mark lost runs failed (error ``WorkerLost: ...``), add an error step to each, count them in the
    metrics as errors of class WorkerLost. Returns the runs closed."""
    with db.connect(url) as conn:
        lock_kind = db.lock_key("pull", None, "")[0]  # pulls and reconciles hold the "pull" lock
        rows = runs.close_lost(conn, grace_s=grace_s, lease_s=lease_s, lock_kind=lock_kind)
        conn.commit()
    for r in rows:
        jsonlog.log(log, logging.WARNING, "run lost: its worker stopped", run_id=str(r["id"]), kind=r["kind"],
                    entity=r["entity"], worker=r["worker"], trace_id=r["trace_id"])
        metrics.record_run(r["kind"], r["instance_id"], r["entity"], {}, "failed", "WorkerLost")
    return rows
