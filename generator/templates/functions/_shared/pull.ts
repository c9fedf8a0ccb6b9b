// sync-from-odoo: per active instance (bridge/store/db.instances), per entity in pull order
// (bridge/sync/contracts.pull_order), as many pages as fit in the wall-clock budget, each page committed
// with its cursor (bridge/sync/pull.py pull_entity, cursor.py), then the waiting webhook events
// (processor.py). Before the pulls, the lost-run reaper (_shared/reaper.ts, bridge/sync/reaper.py) closes
// the runs whose worker died (an invocation Supabase stopped at its wall-clock limit, a killed worker) as
// failed WorkerLost, as the Python worker does at the start of its cycle; the answer counts them
// ("lost_runs"). The same advisory locks as the Python worker (db.try_lock, same keys), so a worker and
// a function never pull one entity at once: the one without the lock skips it.
//
// Settings (function secrets): SPECGEN_FUNCTION_BUDGET_S (default 120: Supabase stops a function at 150 s
// on the free plan), SPECGEN_FUNCTION_MAX_RECORDS (default 50000: no new page starts once the records read
// in the invocation, over all instances and entities, reach it; Supabase allows 2 s of CPU per request,
// I/O waits excluded, and a pull costs about 19 ms of CPU per 1,000 records), SPECGEN_FUNCTION_LOOKBACK_S
// (default: the instance's request limit),
// SPECGEN_FUNCTION_BATCH_LIMIT (events per pass, default 200), SPECGEN_FUNCTION_LEASE_S (300; the reaper
// reads SPECGEN_PUSH_LEASE_S first, as sync-to-odoo does, and waits min(60, lease) s before it closes a
// pull whose lock nobody holds),
// SPECGEN_FUNCTION_MAX_ATTEMPTS (8), SPECGEN_FUNCTION_RETRY_BASE_S (1), SPECGEN_ODOO_TIMEOUT_S (30),
// SPECGEN_ODOO_RETRY_BASE_S (0.1), SPECGEN_ODOO_RETRY_CAP_S (5), SPECGEN_ODOO_RETRY_ATTEMPTS (6).
// A request body may lower what one invocation does (tests, a manual catch-up): {"budget_s": a smaller
// budget, "max_records": a smaller cap, "instance_id": one instance (id or name), "entity": one entity
// only, "batch_size": records per page, "pull": false to process the waiting webhook events only}; an
// unknown key, a wrong value or an entity the spec does not pull is a 400 that says which. Out of budget
// or at the cap, the answer is "more_to_do": the next invocation goes on from the cursors.
//
// Not ported: reconcile (ids gone from Odoo without a webhook are tombstoned by the Python worker's
// reconcile only), metrics, odoo.entity_mappings for Odoo-owned mirrors
// (SPECGEN_SYNC_MIRROR_MAPPINGS).
import { type Sql, db } from "./db.ts"
import { isoformat, parseOdooDatetime } from "./convert.ts"
import type { Entity } from "./convert.ts"
import { json } from "./http.ts"
import { log } from "./log.ts"
import { OdooClient, RetryPolicy } from "./odoo.ts"
import { AccessDenied, describe, OdooError } from "./odoo_errors.ts"
import { advance, domain, order, start } from "./pull_cursor.ts"
import { processEvents } from "./pull_events.ts"
import * as store from "./pull_store.ts"
import type { Instance } from "./pull_store.ts"
import { type Context, odooDomain, pullOrder, readContext, readFields, upsert } from "./pull_write.ts"
import { reapLostRuns } from "./reaper.ts"
import { Run } from "./runs.ts"
import { session } from "./session.ts"

export type Status = "done" | "more_to_do" | "locked" | "failed" | "skipped"

export interface EntityResult {
  entity: string
  status: Status
  read: number
  batches: number
  counts: Record<string, number>
  error?: string
}

function setting(name: string, fallback: number): number {
  const raw = Deno.env.get(name)
  const n = raw === undefined || raw === "" ? NaN : Number(raw)
  return Number.isFinite(n) ? n : fallback
}

interface Options {
  deadline: number
  /** a page was committed in this invocation: from then on, running out of time (or reaching the records
   * cap) stops it (so every invocation moves on by one page at least, whatever its budget and cap) */
  progressed: boolean
  /** records read from Odoo in this invocation (pages, lookback re-reads included), and the cap on them */
  records: number
  maxRecords: number
  batchSize: number | null
  lookbackS: number | null
}

const HEAD_ORDER = "write_date desc, id desc"
const skipped = new Map<string, string>() // instance id -> the reason recorded (once per reason, as the worker)

function timeLeft(o: Options): number {
  return o.deadline - performance.now()
}

/** SPECGEN_FUNCTION_MAX_RECORDS reached: no new page starts in this invocation. */
function capped(o: Options): boolean {
  return o.records >= o.maxRecords
}

/** pull_entity: one entity of one instance, pages until caught up or out of time. */
async function pullEntity(conn: Sql, inst: Instance, e: Entity, client: OdooClient, o: Options): Promise<EntityResult> {
  const sql = db()
  const result: EntityResult = { entity: e.entity, status: "done", read: 0, batches: 0, counts: {} }
  await Run.track(sql, "pull", inst.id, e.entity, async (run) => {
    result.counts = run.counts
    if (!await store.tryLock(conn, "pull", inst.id, e.entity)) {
      run.count("locked")
      result.status = "locked"
      await run.event("skipped: another worker holds the pull lock", "info", { entity: e.entity })
      return
    }
    try {
      const [{ pid }] = await store.rows<{ pid: number }>(conn, "select pg_backend_pid() as pid")
      client.traceId = run.traceId // every Odoo call of the run carries its trace
      const ctx: Context = { instance: inst, client, traceId: run.traceId, counts: run.counts, source: "pull" }
      // before the pages: a pull that fails shows its lag
      const head = await client.searchRead(e.odoo_model, odooDomain(e), ["write_date"],
        { limit: 1, order: HEAD_ORDER, context: readContext(e) })
      const headWd = head.length && head[0].write_date ? parseOdooDatetime(head[0].write_date) : null
      await store.saveHead(conn, inst.id, e, headWd === null ? null : isoformat(headWd))
      let [lastWd, lastId] = await store.readCursor(conn, inst.id, e.entity)
      // re-reading the lookback window is not progress: out of time, a pull stops only once its cursor
      // moved past the stored one (or it caught up), else a budget smaller than the window would read the
      // same pages on every invocation
      const stored: [number, number] | null = lastWd === null ? null : [lastWd, lastId]
      let moved = stored === null
      if (lastWd !== null) {
        lastWd = lastWd - (o.lookbackS ?? store.requestLimit(inst)) * 1000
        lastId = 0
      }
      const limit = o.batchSize || e.batch_size
      const fields = await readFields(e, client)
      let pos = start(lastWd, lastId)
      let slowest = 0
      while (true) {
        const began = performance.now()
        const page = await client.searchRead(e.odoo_model, domain(pos, odooDomain(e)), fields,
          { limit, order: order(pos), context: readContext(e) })
        o.records += page.length
        // throws PaginationStuck (the run fails, loudly) when a full page would not move on
        const [save, next] = advance(pos, page, limit)
        if (page.length && save) {
          ;[lastWd, lastId] = save
          const [wd, id] = save
          await conn.begin(async (tx) => {
            // page + cursor in one transaction, on the connection that holds the lock (checked: a
            // reconnected session would not hold it any more)
            const [{ now }] = await store.rows<{ now: number }>(tx, "select pg_backend_pid() as now")
            if (now !== pid) throw new Error("the pull lock's session was lost; stopping")
            await store.asSync(tx, run.traceId, true)
            await upsert(tx, ctx, e, page)
            await store.saveCursor(tx, inst.id, e, isoformat(wd), id, run.id)
          })
          if (!moved && stored !== null && (wd > stored[0] || (wd === stored[0] && id > stored[1]))) moved = true
          if (moved) o.progressed = true
          result.batches++
          result.read += page.length
          run.count("read", page.length)
          run.counts.batches = result.batches
        }
        if (next === null) break
        pos = next
        slowest = Math.max(slowest, performance.now() - began)
        // as with the budget, a cap is obeyed once the cursor moved past the stored one
        if (moved && (timeLeft(o) < slowest || capped(o))) {
          run.counts.stopped_early = 1
          result.status = "more_to_do"
          break
        }
      }
      await run.event("pull finished", "info", {
        entity: e.entity, read: run.counts.read ?? 0, batches: result.batches,
        cursor: [lastWd === null ? null : isoformat(lastWd), lastId],
      })
    } finally {
      await store.unlock(conn, "pull", inst.id, e.entity).catch(() => {})
    }
  })
  return result
}

/** record_skip: a failed pull run of the instance with entity null, once per reason. */
async function recordSkip(inst: Instance, reason: string): Promise<void> {
  if (skipped.get(inst.id) === reason) return
  skipped.set(inst.id, reason)
  log("worker", "error", "instance skipped: broken configuration", { instance_id: inst.id, instance: inst.name, reason })
  try {
    const run = await new Run(db(), "pull", inst.id, null).start()
    run.count("instance_skipped")
    const skip = new Error(reason)
    skip.name = "InstanceSkipped"
    await run.finish(skip)
  } catch {
    // reporting must not stop the others
  }
}

function clientFor(inst: Instance): OdooClient {
  const retry = new RetryPolicy(setting("SPECGEN_ODOO_RETRY_ATTEMPTS", 6), setting("SPECGEN_ODOO_RETRY_BASE_S", 0.1),
    setting("SPECGEN_ODOO_RETRY_CAP_S", 5))
  return OdooClient.forInstance(inst, { timeoutS: setting("SPECGEN_ODOO_TIMEOUT_S", 30), retry })
}

/** The instance's client once logged in, or null (skipped and recorded) when its configuration is broken. */
async function loggedIn(inst: Instance): Promise<OdooClient | null> {
  let client: OdooClient
  try {
    client = clientFor(inst)
  } catch (e) {
    // the class goes last, as the worker writes it (client_or_reason)
    await recordSkip(inst, `${e instanceof Error ? e.message : e} (${e instanceof OdooError ? e.odooName : "Error"})`)
    return null
  }
  try {
    await client.uid()
  } catch (e) {
    if (e instanceof AccessDenied) {
      await recordSkip(inst, "login refused: check the instance's secret or its configuration (AccessDenied)")
      return null
    }
    if (!(e instanceof OdooError)) throw e
    return client // Odoo down: the steps report and retry it
  }
  skipped.delete(inst.id)
  return client
}

interface Body {
  budget_s?: number
  instance_id?: string
  entity?: string
  batch_size?: number
  max_records?: number
  pull?: boolean
}

const POSITIVE = ["budget_s", "batch_size", "max_records"] as const

/** The request's overrides, or what is wrong with them: an unknown key, a value of the wrong type, an
 * entity the spec does not pull (a typo must not make an invocation that silently pulls nothing). */
async function body(req: Request): Promise<Body | string> {
  const text = await req.text()
  if (!text.trim()) return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return "the body is not JSON"
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return "the body must be a JSON object"
  const b = parsed as Record<string, unknown>
  const known = ["instance_id", "entity", "pull", ...POSITIVE]
  const unknown = Object.keys(b).filter((k) => !known.includes(k)).sort()
  if (unknown.length) return `unknown key${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")}; known: ${known.join(", ")}`
  for (const k of POSITIVE) {
    if (b[k] !== undefined && !(typeof b[k] === "number" && Number.isFinite(b[k]) && (b[k] as number) > 0)) {
      return `${k} must be a positive number`
    }
  }
  for (const k of ["instance_id", "entity"]) {
    if (b[k] !== undefined && typeof b[k] !== "string") return `${k} must be a string`
  }
  if (b.pull !== undefined && typeof b.pull !== "boolean") return "pull must be true or false"
  const pulled = pullOrder().map((x) => x.entity)
  if (b.entity !== undefined && !pulled.includes(b.entity as string)) {
    return `entity ${JSON.stringify(b.entity)} is not pulled from Odoo; pulled: ${pulled.join(", ")}`
  }
  return b as Body
}

export async function handle(req: Request): Promise<Response> {
  const started = performance.now()
  const b = await body(req)
  if (typeof b === "string") return json(400, { error: b })
  const budget = Math.min(setting("SPECGEN_FUNCTION_BUDGET_S", 120), Number(b.budget_s) > 0 ? Number(b.budget_s) : Infinity)
  const o: Options = {
    deadline: started + budget * 1000,
    progressed: false,
    records: 0,
    maxRecords: Math.min(setting("SPECGEN_FUNCTION_MAX_RECORDS", 50000),
      Number(b.max_records) > 0 ? Math.trunc(Number(b.max_records)) : Infinity),
    batchSize: Number(b.batch_size) > 0 ? Math.trunc(Number(b.batch_size)) : null,
    lookbackS: Deno.env.get("SPECGEN_FUNCTION_LOOKBACK_S") ? setting("SPECGEN_FUNCTION_LOOKBACK_S", 0) : null,
  }
  const answer: Record<string, unknown>[] = []
  let more = false
  let lostRuns: number | null = null
  const lease = setting("SPECGEN_PUSH_LEASE_S", setting("SPECGEN_FUNCTION_LEASE_S", 300))
  try {
    // as the worker's "reap" step: the queue lease, and a grace of at most a minute
    lostRuns = (await reapLostRuns(db(), lease, Math.min(60, lease))).length
  } catch (err) {
    log("worker", "error", "reap failed", { error: describe(err) })
  }
  const conn = session()
  try {
    for (const inst of await store.instances(db(), b.instance_id ?? null)) {
      const client = await loggedIn(inst)
      if (client === null) {
        answer.push({ instance_id: inst.id, name: inst.name, status: "skipped" })
        continue
      }
      const entities: EntityResult[] = []
      for (const e of pullOrder().filter((x) => b.pull !== false && (!b.entity || x.entity === b.entity))) {
        if ((timeLeft(o) <= 0 || capped(o)) && o.progressed) {
          entities.push({ entity: e.entity, status: "more_to_do", read: 0, batches: 0, counts: {} })
          continue
        }
        try {
          entities.push(await pullEntity(conn, inst, e, client, o))
        } catch (err) {
          log("worker", "error", "pull failed", { error: describe(err), instance_id: inst.id, entity: e.entity })
          entities.push({ entity: e.entity, status: "failed", read: 0, batches: 0, counts: {}, error: describe(err) })
        }
      }
      let events: Record<string, unknown> = { status: "more_to_do" }
      if (timeLeft(o) > 0 || !o.progressed) {
        try {
          const counts = await processEvents(db(), conn, inst, client, {
            limit: setting("SPECGEN_FUNCTION_BATCH_LIMIT", 200), leaseS: setting("SPECGEN_FUNCTION_LEASE_S", 300),
            maxAttempts: setting("SPECGEN_FUNCTION_MAX_ATTEMPTS", 8), retryBaseS: setting("SPECGEN_FUNCTION_RETRY_BASE_S", 1),
          })
          const full = (counts.claimed ?? 0) >= setting("SPECGEN_FUNCTION_BATCH_LIMIT", 200)
          events = { status: full ? "more_to_do" : "done", counts }
        } catch (err) {
          log("worker", "error", "process failed", { error: describe(err), instance_id: inst.id })
          events = { status: "failed", error: describe(err) }
        }
      }
      more ||= entities.some((x) => x.status === "more_to_do") || events.status === "more_to_do"
      answer.push({
        instance_id: inst.id, name: inst.name,
        entities: entities.map((x) => ({ entity: x.entity, status: x.status, read: x.read, batches: x.batches,
          ...(x.error ? { error: x.error } : {}) })),
        events,
      })
    }
  } finally {
    await conn.end({ timeout: 5 }).catch(() => {})
  }
  return json(200, { status: more ? "more_to_do" : "done", lost_runs: lostRuns, instances: answer })
}
