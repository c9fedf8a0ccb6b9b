// Runs whose worker died (bridge/sync/reaper.py, bridge/store/runs.py close_lost): found and closed, so a
// function that Supabase stopped at its wall-clock limit (or a killed worker) shows up as a failure, not as
// a run that is "running" for ever. The same SQL as the Python worker, so either closes the other's runs:
// a pull or reconcile holds its advisory lock (pull_store.tryLock) for as long as it runs, and PostgreSQL
// drops the lock with the session of a dead process, so a pull/reconcile run marked running, older than a
// grace period, whose lock nobody holds, has lost its worker; other runs (process, push, replay) are
// bounded batches, and one still running after the queue lease has lost its worker too (its claimed rows
// are claimed again after the same lease). Not ported: the metrics (specgen_sync_errors_total).
import type { Sql } from "./db.ts"
import { log } from "./log.ts"
import { lockKey, rows } from "./pull_store.ts"
import { EVENT_SQL, eventData, workerId } from "./runs.ts"

// runs.LOST, with the statement's parameters numbered: $1 the grace, $2 the lease (seconds), $3 the lock kind
const LOST = `
with lost as (
  select r.id from ops.runs r
  where r.status = 'running'
    and ((r.kind in ('pull', 'reconcile') and r.started_at < now() - make_interval(secs => $1::text::float8)
          and not exists (select 1 from pg_locks l
                          where l.locktype = 'advisory' and l.granted and l.objsubid = 2
                            and l.database = (select oid from pg_database where datname = current_database())
                            and l.classid = hashtext($3::text)::oid
                            -- the second half of db.lock_key, spelled in SQL
                            and l.objid = hashtext(r.instance_id::text || ':' || r.entity)::oid))
      or (r.kind not in ('pull', 'reconcile') and r.started_at < now() - make_interval(secs => $2::text::float8)))
  for update skip locked
)
update ops.runs r set status = 'failed', finished_at = now(),
       error = 'WorkerLost: ' || coalesce(r.worker, 'a worker') || ' stopped without finishing this run'
from lost where r.id = lost.id
returning r.id::text as id, r.trace_id, r.kind::text as kind, r.instance_id::text as instance_id, r.entity, r.worker
`

export interface LostRun {
  id: string
  trace_id: string
  kind: string
  instance_id: string | null
  entity: string | null
  worker: string | null
}

/** reap_lost_runs: mark lost runs failed (error `WorkerLost: ...`), each with an error step, in one
 * transaction. Returns the runs closed. */
export async function reapLostRuns(sql: Sql, leaseS: number, graceS: number): Promise<LostRun[]> {
  const lockKind = lockKey("pull", "", "")[0] // pulls and reconciles hold the "pull" lock
  const closed = await sql.begin(async (tx) => {
    const found = await rows<LostRun>(tx, LOST, [graceS, leaseS, lockKind])
    for (const r of found) {
      await tx.unsafe(EVENT_SQL, [r.id, r.trace_id, "error", `${r.kind} lost: its worker stopped`,
        eventData({ worker: r.worker, found_by: workerId() })])
    }
    return found
  }) as unknown as LostRun[]
  for (const r of closed) {
    log("reaper", "warning", "run lost: its worker stopped", {
      run_id: r.id, kind: r.kind, entity: r.entity, worker: r.worker, trace_id: r.trace_id,
    })
  }
  return closed
}
