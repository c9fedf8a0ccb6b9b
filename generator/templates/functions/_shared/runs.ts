// Run tracking, as bridge/store/runs.py: one ops.runs row per run (trace_id, kind, instance_id, entity,
// worker), ops.run_events along the way, and at the end status, finished_at, counts (with duration_s) and
// error, the same columns and values the Python runtime writes, so `sync status`, the dashboard and the
// reaper read both alike. Written outside the work's transactions (autocommit statements of the pool), so
// a failed page rolling back never hides the run; `event(..., { tx })` writes a step inside the work's
// transaction instead (under a savepoint), committed or rolled back with what it describes.
import type { Sql } from "./db.ts"
import { log, type Level, redact, redactText } from "./log.ts"
import { newTraceId } from "./odoo.ts"
import { describe } from "./odoo_errors.ts"

export const EVENT_SQL = "insert into ops.run_events (run_id, trace_id, level, event, data) " +
  "values ($1::text::uuid, $2::text, $3::text::ops.event_level, $4::text, $5::text::jsonb)"
const START_SQL = "insert into ops.runs (trace_id, kind, instance_id, entity, worker) " +
  "values ($1::text, $2::text::ops.run_kind, $3::text::uuid, $4::text, $5::text) returning id::text as id"
const FINISH_SQL = "update ops.runs set status=$1::text::ops.run_status, finished_at=now(), counts=$2::text::jsonb, error=$3::text " +
  "where id=$4::text::uuid"

/** A transaction (postgres.js TransactionSql) or the pool: what can run one statement. */
export interface Statements {
  unsafe: Sql["unsafe"]
}

/** Step or counts data as stored: JSON with secrets redacted (runs.event_data). */
export function eventData(data: Record<string, unknown>): string {
  return JSON.stringify(redact(data))
}

let workerName: string | undefined

/** Who this process is in ops.runs (context.worker_id: host and pid). */
export function workerId(): string {
  if (workerName === undefined) {
    let host = "edge-function"
    try {
      host = Deno.hostname()
    } catch {
      // no --allow-sys (or Supabase's runtime): a fixed name, the pid still tells processes apart
    }
    workerName = `${host}:${Deno.pid}`
  }
  return workerName
}

export type Status = "succeeded" | "failed" | "cancelled"

export class Run {
  readonly traceId: string
  readonly counts: Record<string, number> = {}
  /** what the run records beside its numbers (the pull's "resume" position), stored in counts too */
  readonly info: Record<string, unknown> = {}
  id: string | null = null
  private started = 0
  private lastFailure: [string, string] | null = null
  private finished = false

  constructor(private readonly sql: Sql, readonly kind: string, readonly instanceId: string | null = null,
    readonly entity: string | null = null, traceId?: string) {
    this.traceId = traceId ?? newTraceId()
  }

  count(key: string, n = 1): void {
    this.counts[key] = (this.counts[key] ?? 0) + n
  }

  /** Run.__enter__: the ops.runs row (status 'running', its default). */
  async start(): Promise<this> {
    this.started = performance.now()
    const rows = await this.sql.unsafe(START_SQL,
      [this.traceId, this.kind, this.instanceId, this.entity, workerId()]) as unknown as { id: string }[]
    this.id = rows[0].id
    log("runs", "info", `${this.kind} started`, {
      run_id: this.id, kind: this.kind, instance_id: this.instanceId, entity: this.entity, trace_id: this.traceId,
    })
    return this
  }

  /** One item of the run failed and will be retried or was dead-lettered: the run ends as failed. */
  itemFailed(errorClass: string, reason: string): void {
    this.count("failed")
    this.lastFailure = [errorClass, reason]
  }

  /** Record a step; `traceId` ties it to the trace it serves when that is not the run's own; with `tx` it
   * is written in that transaction (under a savepoint). Tracking never breaks the work it tracks. */
  async event(event: string, level: Level = "info", data: Record<string, unknown> = {},
    options: { traceId?: string; tx?: Statements & { savepoint?: unknown } } = {}): Promise<void> {
    const traceId = options.traceId ?? this.traceId
    log("runs", level, event, { run_id: this.id, kind: this.kind, trace_id: traceId, ...data })
    const params = [this.id, traceId, level, [...event].slice(0, 120).join(""), eventData(data)]
    try {
      if (options.tx === undefined) {
        await this.sql.unsafe(EVENT_SQL, params)
      } else {
        const tx = options.tx as unknown as { savepoint: (fn: (s: Statements) => Promise<unknown>) => Promise<unknown> }
        await tx.savepoint((s) => s.unsafe(EVENT_SQL, params))
      }
    } catch {
      // tracking must never break the work it tracks
    }
  }

  /** Run.__exit__: status, finished_at, counts (with duration_s) and error; `error` (what was thrown)
   * marks it failed. Returns the status. */
  async finish(error?: unknown): Promise<Status> {
    if (this.finished) return "failed"
    this.finished = true
    const duration = Math.round(performance.now() - this.started) / 1000
    let status: Status = "succeeded"
    let message: string | null = null
    if (error === undefined && this.lastFailure) {
      const n = this.counts.failed ?? 0
      const of = this.counts.claimed || n
      status = "failed"
      message = truncate(redactText(`${n} of ${of} failed, last: ${this.lastFailure[1]}`))
    } else if (error !== undefined) {
      status = "failed"
      message = truncate(redactText(describe(error)))
    }
    const counts = { ...this.counts, ...this.info, duration_s: duration }
    try {
      await this.sql.unsafe(FINISH_SQL, [status, eventData(counts), message, this.id])
      if (message) {
        await this.sql.unsafe(EVENT_SQL, [this.id, this.traceId, "error", `${this.kind} failed`, eventData({ error: message })])
      }
    } catch {
      // as Python: a run that cannot be closed is left to the reaper
    }
    log("runs", message ? "error" : "info", `${this.kind} ${status}`, {
      run_id: this.id, kind: this.kind, counts, error: message, trace_id: this.traceId,
    })
    return status
  }

  /** `with Run(...) as run:` — start, fn, finish (failed with the error, which is thrown again). */
  static async track<T>(sql: Sql, kind: string, instanceId: string | null, entity: string | null,
    fn: (run: Run) => Promise<T>, traceId?: string): Promise<T> {
    const run = await new Run(sql, kind, instanceId, entity, traceId).start()
    let result: T
    try {
      result = await fn(run)
    } catch (e) {
      await run.finish(e)
      throw e
    }
    await run.finish()
    return result
  }
}

function truncate(text: string): string {
  return [...text].slice(0, 2000).join("")
}
