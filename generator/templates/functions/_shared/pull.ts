// sync-from-odoo: first, per active instance (bridge/store/db.instances), one batch of its waiting webhook
// events (processor.py; before the pulls, so a backlog that takes every invocation's budget never keeps
// them waiting); then per instance and entity as many pages as the limits allow, each page committed with
// its cursor (bridge/sync/pull.py pull_entity, cursor.py). Before all that, the lost-run reaper
// (_shared/reaper.ts, bridge/sync/reaper.py) closes the runs whose worker died (an invocation Supabase
// stopped at its wall-clock limit, a killed worker) as failed WorkerLost, as the Python worker does at the
// start of its cycle; the answer counts them ("lost_runs"). The same advisory locks as the Python worker
// (db.try_lock, same keys), so a worker and a function never pull one entity at once: the one without the
// lock skips it.
//
// Limits, hard, lookback re-reads included: no page starts once less of the budget is left than the
// invocation's slowest page took, and no page reads past the records cap (the last one is cut to fit); only
// the invocation's first page always runs, so every invocation moves on. A pull starts by re-reading the
// lookback window (stored cursor - lookback), as the Python pull; stopped by a limit (or killed), it has
// left its keyset position in its run's counts ("resume", written with every page, with the stored cursor
// it belongs to), and the next invocation goes on from there while the stored cursor is still that one:
// a pull spread over invocations re-reads its window once, a window of any size is crossed, and
// odoo.sync_cursors keeps its meaning (the Python worker ignores "resume"). Entities go in pull order; once
// the limits bite (an entity's latest pull stopped early, or caught up with the limits spent: counts
// "limits_spent"), the unfinished pulls first, then the others, never pulled or caught up longest ago first.
//
// Settings (function secrets): SPECGEN_FUNCTION_BUDGET_S (default 120: Supabase stops a function at 150 s
// on the free plan), SPECGEN_FUNCTION_MAX_RECORDS (default 50000 records read in pages per invocation, over
// all instances and entities; Supabase allows 2 s of CPU per request, I/O waits excluded, and a pull costs
// about 14 ms of CPU per 1,000 records), SPECGEN_FUNCTION_LOOKBACK_S (default: the instance's request limit),
// SPECGEN_FUNCTION_BATCH_LIMIT (events per pass, default 200; a pass is not cut by the budget),
// SPECGEN_FUNCTION_LEASE_S (300; the reaper reads SPECGEN_PUSH_LEASE_S first, as sync-to-odoo does, and
// waits min(60, lease) s before it closes a pull whose lock nobody holds),
// SPECGEN_FUNCTION_MAX_ATTEMPTS (8), SPECGEN_FUNCTION_RETRY_BASE_S (1), SPECGEN_ODOO_TIMEOUT_S (30),
// SPECGEN_ODOO_RETRY_BASE_S (0.1), SPECGEN_ODOO_RETRY_CAP_S (5), SPECGEN_ODOO_RETRY_ATTEMPTS (6).
// A request body may lower what one invocation does (tests, a manual catch-up): {"budget_s": a smaller
// budget, "max_records": a smaller cap, "instance_id": one instance (id or name), "entity": one entity
// only, "batch_size": records per page, "pull": false to process the waiting webhook events only}; an
// unknown key, a wrong value or an entity the spec does not pull is a 400 that says which. An entity
// stopped before Odoo's newest record answers "more_to_do" (the next invocation goes on); "done" when
// caught up, or when only the re-read of its lookback window is left.
//
// Not ported: reconcile (ids gone from Odoo without a webhook are tombstoned by the Python worker's
// reconcile only), metrics, odoo.entity_mappings for Odoo-owned mirrors
// (SPECGEN_SYNC_MIRROR_MAPPINGS).
import { type Sql, db } from "./db.ts"
import { isoformat, parseOdooDatetime } from "./convert.ts"
import type { Entity } from "./convert.ts"
import { failure, json } from "./http.ts"
import { log } from "./log.ts"
import { OdooClient, RetryPolicy } from "./odoo.ts"
import { AccessDenied, describe, OdooError } from "./odoo_errors.ts"
import { advance, domain, order, type Position, start } from "./pull_cursor.ts"
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
  /** pages read from Odoo in this invocation: the first one always starts (so every invocation moves on,
   * whatever its budget and cap), the others only within the budget and the cap */
  pages: number
  /** the slowest page of the invocation so far: a page starts only if that much time is left */
  slowest: number
  /** records read from Odoo in this invocation (lookback re-reads included), and the cap on them */
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

/** No new page may start: out of time (the slowest page so far would not fit) or at the records cap; never
 * before the invocation's first page. */
function spent(o: Options): boolean {
  return o.pages > 0 && (timeLeft(o) < o.slowest || capped(o))
}

const sameCursor = (c: unknown, wd: number | null, id: number) => Array.isArray(c) && c.length === 2 &&
  (c[0] === null ? wd === null : typeof c[0] === "string" && wd !== null && Date.parse(c[0]) === wd) && c[1] === id

/** The position a pull stopped early by the entity's latest run recorded ("resume"), if the stored cursor is
 * still the one it recorded (a Python worker that moved the cursor since re-reads its window instead). */
function resumeOf(last: store.LatestPull | undefined, wd: number | null, id: number): Position | null {
  const r = last?.counts?.resume as store.Resume | undefined
  if (!r || typeof r !== "object" || !sameCursor(r.cursor, wd, id) || typeof r.id !== "number" ||
    typeof r.drain !== "boolean") return null
  const second = r.write_date === null ? null : Date.parse(r.write_date)
  if (second !== null && !Number.isFinite(second)) return null
  return { second, afterId: r.id, drain: r.drain }
}

/** Whether the entity's latest pull finished caught up (else it stopped early, failed, or never ran). */
function caughtUp(last: store.LatestPull | undefined): boolean {
  return last?.status === "succeeded" && !last.counts?.stopped_early
}

/** pull_entity: one entity of one instance, pages until caught up, out of time or at the cap. A pull
 * starts by re-reading the lookback window (stored cursor - lookback), as the Python pull; one stopped
 * early leaves its position in its run ("resume") and the next invocation goes on from there, so a pull
 * spread over invocations re-reads the window once, like one Python pull, and a window of any size is
 * crossed. */
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
      // the stored cursor as this run leaves it (forward only): what a resume position belongs to
      let cursor: [number | null, number] = [lastWd, lastId]
      const resumeAt = (p: Position): store.Resume => ({
        write_date: p.second === null ? null : isoformat(p.second), id: p.afterId, drain: p.drain,
        cursor: [cursor[0] === null ? null : isoformat(cursor[0]), cursor[1]],
      })
      // the latest run is read under the lock: no other pull of the entity runs now
      const last = (await store.latestPulls(conn, inst.id, [e.entity], run.id)).get(e.entity)
      let pos = resumeOf(last, lastWd, lastId)
      if (pos !== null) {
        run.count("resumed")
        if (run.id !== null) await store.saveResume(conn, run.id, resumeAt(pos)) // kept if this one is killed too
      } else {
        if (lastWd !== null) {
          lastWd = lastWd - (o.lookbackS ?? store.requestLimit(inst)) * 1000
          lastId = 0
        }
        pos = start(lastWd, lastId)
      }
      run.info.resume = resumeAt(pos) // a run that fails keeps where it was
      const batch = o.batchSize || e.batch_size
      const fields = await readFields(e, client)
      while (true) {
        if (spent(o)) {
          run.counts.stopped_early = 1
          run.info.resume = resumeAt(pos)
          // stopped with Odoo's newest record already mirrored (only the re-read of the lookback window, for
          // late commits, is left; the next invocations go on with it): nothing to catch up, "done"
          const headId = head.length ? Number(head[0].id) : 0
          const behind = headWd !== null && (cursor[0] === null || headWd > cursor[0] ||
            (headWd === cursor[0] && headId > cursor[1]))
          result.status = behind ? "more_to_do" : "done"
          break
        }
        // the cap is exact: the last page of an invocation is cut to what is left of it
        const limit = Math.max(1, Math.min(batch, Math.floor(o.maxRecords - o.records)))
        const began = performance.now()
        const page = await client.searchRead(e.odoo_model, domain(pos, odooDomain(e)), fields,
          { limit, order: order(pos), context: readContext(e) })
        o.pages++
        o.records += page.length
        // throws PaginationStuck (the run fails, loudly) when a full page would not move on
        const [save, next] = advance(pos, page, limit)
        if (page.length && save) {
          ;[lastWd, lastId] = save
          const [wd, id] = save
          if (cursor[0] === null || wd > cursor[0] || (wd === cursor[0] && id > cursor[1])) cursor = [wd, id]
          await conn.begin(async (tx) => {
            // page + cursor in one transaction, on the connection that holds the lock (checked: a
            // reconnected session would not hold it any more)
            const [{ now }] = await store.rows<{ now: number }>(tx, "select pg_backend_pid() as now")
            if (now !== pid) throw new Error("the pull lock's session was lost; stopping")
            await store.asSync(tx, run.traceId, true)
            await upsert(tx, ctx, e, page)
            await store.saveCursor(tx, inst.id, e, isoformat(wd), id, run.id)
            // where the next invocation goes on if this one stops (or is stopped) after this page
            if (next !== null && run.id !== null) await store.saveResume(tx, run.id, resumeAt(next))
          })
          if (next !== null) run.info.resume = resumeAt(next)
          result.batches++
          result.read += page.length
          run.count("read", page.length)
          run.counts.batches = result.batches
        }
        o.slowest = Math.max(o.slowest, performance.now() - began)
        if (next === null) {
          delete run.info.resume // caught up: the next pull starts with the lookback window again
          if (spent(o)) run.counts.limits_spent = 1 // the entities after it wait: the next invocation rotates
          break
        }
        pos = next
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
  try {
    return await pullAll(req)
  } catch (e) { // the database down, most likely: a clear answer, nothing lost (each page committed)
    log("worker", "error", "pull failed", { error: describe(e) })
    return failure("pull", e, describe(e))
  }
}

async function pullAll(req: Request): Promise<Response> {
  const started = performance.now()
  const b = await body(req)
  if (typeof b === "string") return json(400, { error: b })
  const insts = await store.instances(db(), b.instance_id ?? null)
  if (b.instance_id !== undefined && !insts.length) {
    return json(400, { error: `no active instance has the id or name ${JSON.stringify(b.instance_id)} (specgen sync instance list)` })
  }
  const budget = Math.min(setting("SPECGEN_FUNCTION_BUDGET_S", 120), Number(b.budget_s) > 0 ? Number(b.budget_s) : Infinity)
  const o: Options = {
    deadline: started + budget * 1000,
    pages: 0,
    slowest: 0,
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
  const batchLimit = setting("SPECGEN_FUNCTION_BATCH_LIMIT", 200)
  try {
    // as the worker's "reap" step: the queue lease, and a grace of at most a minute
    lostRuns = (await reapLostRuns(db(), lease, Math.min(60, lease))).length
  } catch (err) {
    log("worker", "error", "reap failed", { error: describe(err) })
  }
  const conn = session()
  try {
    // first every instance's waiting webhook events (a batch each), then the pulls: a backlog that takes
    // every invocation's budget must not keep the events waiting
    // (a batch is not cut by the budget: SPECGEN_FUNCTION_BATCH_LIMIT bounds it)
    const ready: [Instance, OdooClient | null, Record<string, unknown>][] = []
    for (const inst of insts) {
      const client = await loggedIn(inst)
      let events: Record<string, unknown> = {}
      if (client !== null) {
        try {
          const counts = await processEvents(db(), conn, inst, client, {
            limit: batchLimit, leaseS: setting("SPECGEN_FUNCTION_LEASE_S", 300),
            maxAttempts: setting("SPECGEN_FUNCTION_MAX_ATTEMPTS", 8), retryBaseS: setting("SPECGEN_FUNCTION_RETRY_BASE_S", 1),
          })
          events = { status: (counts.claimed ?? 0) >= batchLimit ? "more_to_do" : "done", counts }
        } catch (err) {
          log("worker", "error", "process failed", { error: describe(err), instance_id: inst.id })
          events = { status: "failed", error: describe(err) }
        }
      }
      ready.push([inst, client, events])
    }
    for (const [inst, client, events] of ready) {
      if (client === null) {
        answer.push({ instance_id: inst.id, name: inst.name, status: "skipped" })
        continue
      }
      const wanted = pullOrder().filter((x) => b.pull !== false && (!b.entity || x.entity === b.entity))
      // pull order, as the Python worker; but once the limits bite (a latest pull stopped early, or left
      // the invocation's limits spent when it caught up), the unfinished pulls (stopped early, failed) first,
      // then the others, never pulled first, then the one caught up longest ago: an entity whose lookback
      // window alone takes a whole invocation does not keep the others from their turn
      const last = wanted.length ? await store.latestPulls(db(), inst.id, wanted.map((x) => x.entity)) : new Map()
      const pressed = wanted.some((x) => {
        const c = last.get(x.entity)?.counts
        return Boolean(c?.stopped_early || c?.limits_spent)
      })
      const rank = (x: Entity): [number, number] => {
        const l = last.get(x.entity)
        if (!pressed) return [0, 0]
        if (!l || l.status === null) return [1, -Infinity]
        return caughtUp(l) ? [1, l.finished_ms ?? 0] : [0, 0]
      }
      const turn = wanted.map((x, i) => ({ x, i, r: rank(x) }))
        .sort((p, q) => p.r[0] - q.r[0] || p.r[1] - q.r[1] || p.i - q.i).map((t) => t.x)
      const results = new Map<string, EntityResult>()
      for (const e of turn) {
        if (spent(o)) {
          // not started: more to do unless its latest pull caught up (the next invocation re-reads it)
          const status = caughtUp(last.get(e.entity)) ? "done" : "more_to_do"
          results.set(e.entity, { entity: e.entity, status, read: 0, batches: 0, counts: {} })
          continue
        }
        try {
          results.set(e.entity, await pullEntity(conn, inst, e, client, o))
        } catch (err) {
          log("worker", "error", "pull failed", { error: describe(err), instance_id: inst.id, entity: e.entity })
          results.set(e.entity, { entity: e.entity, status: "failed", read: 0, batches: 0, counts: {}, error: describe(err) })
        }
      }
      const entities = wanted.map((x) => results.get(x.entity) as EntityResult) // answered in pull order
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
