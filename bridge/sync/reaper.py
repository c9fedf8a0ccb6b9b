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


from bridge.store import db
from bridge.store.runs import EVENT_SQL, WORKER, event_data

log = jsonlog.get("reaper")

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


def reap_lost_runs(url: str, *, lease_s: float = 300.0, grace_s: float = 60.0) -> list[dict]:
    """Mark lost runs failed (error ``WorkerLost: ...``), add an error step to each, count them in the
    metrics as errors of class WorkerLost. Returns the runs closed."""
    with db.connect(url) as conn:
        lock_kind = db.lock_key("pull", None, "")[0]  # pulls and reconciles hold the "pull" lock
        rows = [dict(r) for r in conn.execute(LOST, {"grace": grace_s, "lease": lease_s,
                                                     "lock_kind": lock_kind}).fetchall()]
        for r in rows:
            conn.execute(EVENT_SQL, (r["id"], r["trace_id"], "error", f"{r['kind']} lost: its worker stopped",
                                     event_data({"worker": r["worker"], "found_by": WORKER})))
        conn.commit()
    for r in rows:
        jsonlog.log(log, logging.WARNING, "run lost: its worker stopped", run_id=str(r["id"]), kind=r["kind"],
                    entity=r["entity"], worker=r["worker"], trace_id=r["trace_id"])
        metrics.record_run(r["kind"], r["instance_id"], r["entity"], {}, "failed", "WorkerLost")
    return rows
