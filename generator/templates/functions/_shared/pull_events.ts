// Waiting webhook events into rows, as bridge/sync/processor.py: events claimed with FOR UPDATE SKIP
// LOCKED under a lease, checked against the event schema, grouped by (instance, model), the records
// re-read by id through every pulling entity of the model (with its domain), upserted like a pull page,
// records gone from Odoo tombstoned, the events marked done (and read once more when the instance's
// request limit has passed since they arrived) in the same transaction. Transient failures retry with
// backoff; a permanent error, too many attempts or an event off the schema is dead-lettered.
import type { Sql } from "./db.ts"
import { validate as validEvent, type Json } from "./events.ts"
import { type OdooClient } from "./odoo.ts"
import { describe, OdooError } from "./odoo_errors.ts"
import * as store from "./pull_store.ts"
import type { Instance, StoredEvent } from "./pull_store.ts"
import { type Context, ENTITIES, odooDomain, pulls, readContext, readFields, tombstoneIds, upsert } from "./pull_write.ts"
import type { Entity } from "./convert.ts"
import { Run } from "./runs.ts"

export interface ProcessOptions {
  limit: number
  leaseS: number
  maxAttempts: number
  retryBaseS: number
}

// PostgreSQL errors worth another attempt (processor.RACES): an outage, or a lost race with another writer
const RACE_CODES = new Set(["40001", "40P01", "23505", "23503"])

function transient(e: unknown): boolean {
  if (e instanceof OdooError) return e.transient
  const code = (e as { code?: unknown })?.code
  if (typeof code === "string") return RACE_CODES.has(code) || /^(08|53|57)/.test(code) || code.startsWith("CONNECT")
  return false
}

function isDatabaseError(e: unknown): boolean {
  const err = e as { name?: string; code?: unknown }
  return err?.name === "PostgresError" || typeof err?.code === "string"
}

function sum(into: Record<string, number>, counts: Record<string, number>): void {
  for (const [k, v] of Object.entries(counts)) into[k] = (into[k] ?? 0) + v
}

/** Processor.run_once for one instance: claim up to `limit` events and apply them. Returns counts. */
export async function processEvents(sql: Sql, conn: Sql, inst: Instance, client: OdooClient, o: ProcessOptions):
  Promise<Record<string, number>> {
  const claimed = await store.claimEvents(conn, o.limit, o.leaseS, inst.id)
  if (!claimed.length) {
    return await Run.track(sql, "process", inst.id, null, (run) => {
      run.counts.claimed = 0
      return Promise.resolve({ ...run.counts })
    })
  }
  const totals: Record<string, number> = {}
  const groups = new Map<string, StoredEvent[]>()
  const invalid: [StoredEvent, string][] = []
  for (const ev of claimed) {
    const problem = validEvent(ev.payload as Json)
    if (problem) invalid.push([ev, problem])
    else {
      const key = `${ev.instance_id}\u0000${ev.odoo_model}`
      groups.set(key, [...(groups.get(key) ?? []), ev])
    }
  }
  if (invalid.length) {
    await Run.track(sql, "process", inst.id, null, async (run) => {
      run.counts.claimed = invalid.length
      for (const [ev, problem] of invalid) {
        const reason = `event does not match the schema: ${problem}`
        run.itemFailed("SchemaError", reason)
        await bury(conn, run, ev, reason, "SchemaError")
      }
      sum(totals, run.counts)
    })
  }
  for (const evs of groups.values()) {
    const model = evs[0].odoo_model
    const entities = [...ENTITIES.values()].filter((e) => e.odoo_model === model && pulls(e))
    const runs: [Entity | null, Run][] = []
    try {
      for (const e of entities) runs.push([e, await new Run(sql, "process", evs[0].instance_id, e.entity).start()])
      if (!runs.length) runs.push([null, await new Run(sql, "process", evs[0].instance_id, null).start()])
      runs[0][1].counts.claimed = evs.length
      await apply(conn, runs, evs, client, o)
    } finally {
      for (const [, run] of runs) {
        await run.finish()
        sum(totals, run.counts)
      }
    }
  }
  return totals
}

async function apply(conn: Sql, runs: [Entity | null, Run][], evs: StoredEvent[], client: OdooClient,
  o: ProcessOptions): Promise<void> {
  const run = runs[0][1]
  const model = evs[0].odoo_model
  const entities = runs.map(([e]) => e).filter((e): e is Entity => e !== null)
  const instance = await store.instance(conn, evs[0].instance_id)
  const ids = [...new Set(evs.map((ev) => ev.odoo_id ?? Number((ev.payload as { _id?: unknown })._id)))].sort((a, b) => a - b)
  const traceId = evs[0].trace_id || run.traceId
  try {
    if (instance === null || !instance.active) {
      throw new OdooError(`instance ${evs[0].instance_id} is unknown or inactive`, { name: "InactiveInstance" })
    }
    const fetched: [Entity, Run, Awaited<ReturnType<OdooClient["searchRead"]>>][] = []
    for (const [e, arun] of runs) {
      if (e === null) continue
      const records = await client.searchRead(e.odoo_model, [["id", "in", ids], ...odooDomain(e)], await readFields(e, client),
        { context: readContext(e), traceId })
      fetched.push([e, arun, records])
    }
    const seen = new Set(fetched.flatMap(([, , recs]) => recs.map((r) => r.id as number)))
    const absent = ids.filter((i) => !seen.has(i))
    let gone = new Set<number>()
    if (absent.length && entities.length) {
      const still = await client.existingIds(model, absent, 1000, { traceId })
      gone = new Set(absent.filter((i) => !still.has(i)))
    }
    const savedTrace = client.traceId
    client.traceId = traceId // missing targets fetched on the way carry the event's trace too
    try {
      await conn.begin(async (tx) => {
        await store.asSync(tx, run.traceId)
        for (const [e, arun, records] of fetched) {
          const ctx: Context = { instance: instance as Instance, client, traceId: arun.traceId, counts: arun.counts, source: "webhook" }
          await upsert(tx, ctx, e, records)
          await tombstoneIds(tx, ctx, e, gone)
        }
        await store.eventsDone(tx, evs.map((ev) => ev.id), store.requestLimit(instance as Instance))
      })
    } finally {
      client.traceId = savedTrace
    }
    const written = Date.now()
    const rechecks = evs.filter((ev) => ev.recheck_at !== null)
    run.count("rechecked", rechecks.length)
    for (const ev of evs) {
      const again = ev.recheck_at !== null
      const age = Math.round(written - ev.received_ms) / 1000
      await run.event(again ? "webhook event rechecked" : "webhook event applied", "info", {
        event_id: ev.id, odoo_model: model, odoo_id: ev.odoo_id, entities: entities.map((e) => e.entity),
        gone: ev.odoo_id !== null && gone.has(ev.odoo_id), ...(again ? {} : { event_to_row_s: age }),
      }, { traceId: ev.trace_id || run.traceId })
    }
    run.count("processed", evs.length - rechecks.length)
    if (!entities.length) run.count("ignored_no_adapter", evs.length)
  } catch (e) {
    if (!(e instanceof OdooError) && !isDatabaseError(e)) throw e
    const reason = describe(e)
    for (const [, arun] of runs) arun.itemFailed(e instanceof OdooError ? e.className : "PostgresError", reason)
    const retryable = transient(e)
    for (const ev of evs) {
      if (!retryable || ev.attempts >= o.maxAttempts) {
        await bury(conn, run, ev, reason, e instanceof OdooError ? e.odooName : String((e as { name?: string }).name))
      } else {
        const delay = Math.max(Math.random() * Math.min(300, o.retryBaseS * 2 ** ev.attempts), 0)
        await store.eventRetry(conn, ev.id, e instanceof Error ? e.message : String(e), delay)
        run.count("retried")
      }
    }
  }
}

async function bury(conn: Sql, run: Run, ev: StoredEvent, reason: string, errorClass: string): Promise<void> {
  let created = false
  await conn.begin(async (tx) => {
    ;[, created] = await store.addDeadLetter(tx, {
      source: "webhook", instanceId: ev.instance_id, entity: null, odooModel: ev.odoo_model, recordRef: ev.odoo_id,
      payload: ev.payload, reason, errorClass, attempts: ev.attempts, traceId: ev.trace_id || run.traceId,
    })
    await store.eventDead(tx, ev.id, reason)
  })
  run.count(created ? "dead_lettered" : "dead_letter_seen_again")
  await run.event("event dead-lettered", "error", { event_id: ev.id, reason }, { traceId: ev.trace_id || run.traceId })
}
