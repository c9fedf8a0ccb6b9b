// sync-to-odoo: the outbox drained into Odoo, as bridge/sync/push.py's Pusher does it, with the same SQL
// effects (odoo.outbox, odoo.entity_mappings, the rows' link, join rows, odoo.dead_letters, ops.runs and
// ops.run_events), so the Python worker and this function may drain one outbox at once:
// - rows are claimed with FOR UPDATE SKIP LOCKED under a lease, oldest first, only the oldest open row of
//   a record (_shared/push_store.ts), and each stretch of one (instance, entity) is a run of its own;
// - create is idempotent: the mapping first, then Odoo searched for the record's external ref
//   ("specgen:<uuid>"); a create whose answer was lost (AmbiguousCreate) is looked up again only after the
//   instance's request limit, when Odoo must have committed or dropped it;
// - a mapped record is re-read and the conflict policy decides field by field (and link set by link set)
//   against the base what goes to Odoo and what comes back (_shared/conflicts.ts);
// - no transaction is open while Odoo is called; the row's link, the mapping, the acknowledgement and the
//   "app change pushed" step are ONE transaction, as the sync (no echo into the outbox);
// - transient errors retry later with backoff; permanent ones, or the last attempt, are dead letters.
// Within a wall-clock budget (SPECGEN_FUNCTION_BUDGET_S, default 120 s; Supabase stops a function at
// 150 s on the free plan): no claim starts after it, and claimed rows not started by then are released.
// An invocation tries a row at most once (a row that failed waits for the next invocation, as it waits for
// the next cycle of the Python worker).
//
// Settings (environment; defaults are the Python worker's): SPECGEN_PUSH_BATCH_LIMIT (rows per claim,
// 200), SPECGEN_PUSH_MAX_ATTEMPTS (8), SPECGEN_PUSH_RETRY_BASE_S (backoff base, 1), SPECGEN_PUSH_LEASE_S
// (300), each falling back to the SPECGEN_FUNCTION_* setting sync-from-odoo's event queue reads;
// SPECGEN_FUNCTION_BUDGET_S (120), SPECGEN_ODOO_TIMEOUT_S (30), SPECGEN_ODOO_RETRY_ATTEMPTS (6),
// SPECGEN_ODOO_RETRY_BASE_S (0.1), SPECGEN_ODOO_RETRY_CAP_S (5). A JSON request body may override,
// for one invocation (tests, a manual drain): {"instance" (or "instance_id"): id or name, "batch_limit", "max_attempts",
// "retry_base_s", "lease_s", "budget_s", "odoo_timeout_s", "odoo_retry_attempts", "odoo_retry_base_s",
// "odoo_retry_cap_s"}. The answer: {"pushed", "failed" (retried later), "dead" (dead-lettered), "claimed",
// "released", "instances", "skipped_instances", "counts" (the runs' counts summed, as `sync push` prints)}.
import { db, type Sql } from "./db.ts"
import { failure, json, problem } from "./http.ts"
import { log } from "./log.ts"
import { OdooClient, type OdooRecord, RetryPolicy, type Value } from "./odoo.ts"
import { AccessDenied, AmbiguousOdooError, describe, MissingError, OdooError } from "./odoo_errors.ts"
import { Run, workerId } from "./runs.ts"
import { resolve, resolveLinks, type Links, type Values } from "./conflicts.ts"
import * as store from "./push_store.ts"
import type { Instance, OutboxRow } from "./push_store.ts"
import { ConversionError, type Entity, fromOdoo, htmlFields, m2oId, parseOdooDatetime, recordToText } from "./convert.ts"
import {
  canonicalJson, comparable, ENTITIES, externalRefField, type Json, LINKS_KEY, pushes, REF_PREFIX, tenantProblem,
  valuesHash,
} from "./adapter.ts"
import { comparableRow, linkCommands, odooFields, type Row, toOdoo, valuesToHtml } from "./push_values.ts"

// -- errors of the push (bridge/sync/push.py, bridge/sync/writer.py) --------------------------------------

/** A create that got no answer may still commit later: the retry waits the instance's request limit,
 * then finds the record by its ref instead of creating it twice. */
export class AmbiguousCreate extends AmbiguousOdooError {
  readonly wait: number
  constructor(inst: Instance, exc: OdooError) {
    super(`${exc.message}; looked up again after the request limit`, { name: exc.odooName || "Ambiguous" })
    this.wait = store.requestLimit(inst)
  }
  override get className(): string {
    return "AmbiguousCreate"
  }
}

/** A many2many links a record whose create has not reached Odoo yet: the row waits (retried). */
export class LinkTargetNotPushed extends OdooError {
  override readonly transient: boolean = true
  constructor(message: string) {
    super(message, { name: "LinkTargetNotPushed" })
  }
  override get className(): string {
    return "LinkTargetNotPushed"
  }
}

/** A row of another tenant was about to be written through this instance (permanent: a ValueError). */
export class TenantMismatch extends Error {
  override name = "TenantMismatch"
}

// -- settings --------------------------------------------------------------------------------------------

export interface Options {
  instance: string | null
  batchLimit: number
  maxAttempts: number
  retryBaseS: number
  leaseS: number
  budgetS: number
  odooTimeoutS: number
  odooRetry: RetryPolicy
}

/** The first of the variables that holds a number, else `fallback`. */
function envNumber(names: string | string[], fallback: number): number {
  for (const name of typeof names === "string" ? [names] : names) {
    const text = (Deno.env.get(name) ?? "").trim()
    const n = Number(text)
    if (text && Number.isFinite(n)) return n
  }
  return fallback
}

function bodyNumber(body: Record<string, unknown>, key: string, fallback: number, lo: number, hi: number): number {
  if (!Object.hasOwn(body, key)) return fallback
  const v = body[key]
  if (typeof v !== "number" || !Number.isFinite(v) || v < lo || v > hi) {
    throw new RangeError(`${key} must be a number from ${lo} to ${hi}`)
  }
  return v
}

const BODY_KEYS = ["instance", "instance_id", "batch_limit", "max_attempts", "retry_base_s", "lease_s", "budget_s",
  "odoo_timeout_s", "odoo_retry_attempts", "odoo_retry_base_s", "odoo_retry_cap_s"]

export async function options(req: Request): Promise<Options> {
  const text = req.body ? await req.text() : ""
  let body: Record<string, unknown> = {}
  if (text.trim()) {
    const parsed: unknown = JSON.parse(text)
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new RangeError("the body must be a JSON object")
    }
    body = parsed as Record<string, unknown>
  }
  // a typo must not be an invocation that silently runs with the defaults
  const unknown = Object.keys(body).filter((k) => !BODY_KEYS.includes(k)).sort()
  if (unknown.length) {
    throw new RangeError(`unknown key${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")}; known: ${BODY_KEYS.join(", ")}`)
  }
  const named = body.instance ?? body.instance_id // sync-from-odoo's name for it, too
  const instance = named === undefined || named === null ? null : String(named)
  const retry = new RetryPolicy()
  // SPECGEN_PUSH_* first, then the queue settings both sync functions share (SPECGEN_FUNCTION_*)
  return {
    instance,
    batchLimit: Math.trunc(bodyNumber(body, "batch_limit",
      envNumber(["SPECGEN_PUSH_BATCH_LIMIT", "SPECGEN_FUNCTION_BATCH_LIMIT"], 200), 1, 10000)),
    maxAttempts: Math.trunc(bodyNumber(body, "max_attempts",
      envNumber(["SPECGEN_PUSH_MAX_ATTEMPTS", "SPECGEN_FUNCTION_MAX_ATTEMPTS"], 8), 1, 1000)),
    retryBaseS: bodyNumber(body, "retry_base_s",
      envNumber(["SPECGEN_PUSH_RETRY_BASE_S", "SPECGEN_FUNCTION_RETRY_BASE_S"], 1.0), 0, 3600),
    leaseS: bodyNumber(body, "lease_s", envNumber(["SPECGEN_PUSH_LEASE_S", "SPECGEN_FUNCTION_LEASE_S"], 300), 0.1, 86400),
    budgetS: bodyNumber(body, "budget_s", envNumber("SPECGEN_FUNCTION_BUDGET_S", 120), 0, 3600),
    odooTimeoutS: bodyNumber(body, "odoo_timeout_s", envNumber("SPECGEN_ODOO_TIMEOUT_S", 30), 0.05, 600),
    odooRetry: new RetryPolicy(
      Math.trunc(bodyNumber(body, "odoo_retry_attempts", envNumber("SPECGEN_ODOO_RETRY_ATTEMPTS", retry.attempts), 1, 100)),
      bodyNumber(body, "odoo_retry_base_s", envNumber("SPECGEN_ODOO_RETRY_BASE_S", retry.base), 0, 60),
      bodyNumber(body, "odoo_retry_cap_s", envNumber("SPECGEN_ODOO_RETRY_CAP_S", retry.cap), 0, 600),
      bodyNumber(body, "odoo_retry_cap_s", retry.retryAfterCap, 0, 600),
    ),
  }
}

// -- the pusher ------------------------------------------------------------------------------------------

type Action = "created" | "found_by_ref" | "written" | "unchanged" | "skipped_deleted" | "unlinked" | "already_gone" |
  "never_in_odoo"

function sortedIds(ids: Iterable<number>): number[] {
  return [...new Set(ids)].sort((a, b) => a - b)
}

function add(total: Record<string, number>, counts: Record<string, number>): void {
  for (const [k, v] of Object.entries(counts)) total[k] = (total[k] ?? 0) + v
}

export class Pusher {
  readonly adapters = ENTITIES
  readonly worker = workerId()
  private instances = new Map<string, Instance>()
  private clients = new Map<string, OdooClient>()
  pushed = 0
  released = 0
  private tried = new Set<string>() // rows this invocation has worked: not claimed again by it

  constructor(readonly sql: Sql, readonly opts: Options, readonly deadline: number) {}

  private timeLeft(): boolean {
    return performance.now() < this.deadline
  }

  private async instance(id: string): Promise<Instance> {
    let inst = this.instances.get(id)
    if (inst === undefined) {
      const found = await store.instance(this.sql, id)
      if (found === null) throw new OdooError(`instance ${id} does not exist`, { name: "NoInstance" })
      inst = found
      this.instances.set(id, inst)
    }
    return inst
  }

  clientFor(inst: Instance): OdooClient {
    let client = this.clients.get(inst.id)
    if (client === undefined) {
      client = OdooClient.forInstance(inst as unknown as Parameters<typeof OdooClient.forInstance>[0],
        { timeoutS: this.opts.odooTimeoutS, retry: this.opts.odooRetry })
      this.clients.set(inst.id, client)
    }
    return client
  }

  /** Pusher.run_once: claim up to `limit` rows (of one instance) and push them; the runs' counts summed. */
  async runOnce(limit: number, instanceId: string | null): Promise<Record<string, number>> {
    const rows = await store.claim(this.sql, this.worker, this.opts.leaseS, limit, instanceId, this.tried)
    for (const r of rows) this.tried.add(r.id)
    if (!rows.length) {
      return await Run.track(this.sql, "push", instanceId, null, async (run) => {
        run.counts.claimed = 0
        return { ...run.counts }
      })
    }
    const totals: Record<string, number> = {}
    let i = 0
    while (i < rows.length) {
      let j = i
      while (j < rows.length && rows[j].instance_id === rows[i].instance_id && rows[j].entity === rows[i].entity) j++
      const group = rows.slice(i, j)
      const rest = rows.slice(j)
      let counts: Record<string, number> = {}
      const stop = await Run.track(this.sql, "push", group[0].instance_id, group[0].entity, async (run) => {
        counts = run.counts
        run.counts.claimed = group.length
        for (let k = 0; k < group.length; k++) {
          if (!this.timeLeft()) { // out of time: what is not started goes back as it was
            const back = await store.release(this.sql, [...group.slice(k), ...rest].map((r) => r.id), this.worker)
            this.released += back
            run.count("released", group.length - k)
            return true
          }
          await this.pushRow(run, group[k])
        }
        return false
      })
      add(totals, counts) // the run's own counts (finish() adds duration_s to a copy only)
      i = j
      if (stop) break
    }
    return totals
  }

  // -- one outbox row --------------------------------------------------------------------------------

  private async pushRow(run: Run, row: OutboxRow): Promise<void> {
    const adapter = this.adapters.get(row.entity)
    const trace = row.trace_id || run.traceId
    let inst: Instance | undefined
    try {
      inst = await this.instance(row.instance_id)
      if (adapter === undefined || !pushes(adapter)) {
        throw new OdooError(`entity '${row.entity}' has no push adapter`, { name: "NoAdapter" })
      }
      const client = this.clientFor(inst)
      const push = row.operation === "unlink"
        ? await this.unlink(run, adapter, inst, client, row, trace)
        : await this.upsert(run, adapter, inst, client, row, trace)
      // the acknowledgement's transaction: the step exists if and only if the push is done
      await this.sql.begin(async (tx) => {
        const outcome = await push(tx as unknown as Sql)
        await run.event("app change pushed", "info", {
          outbox_id: Number(row.id), entity: row.entity, local_id: row.local_id, operation: row.operation, ...outcome,
        }, { traceId: trace, tx })
      })
      this.pushed += 1
    } catch (e) {
      // as Python: a ValueError (ConversionError, TenantMismatch) or TypeError is permanent
      const valueError = e instanceof ConversionError || e instanceof TenantMismatch || e instanceof TypeError ||
        e instanceof RangeError
      const permanent = e instanceof OdooError ? !e.transient : valueError
      if (!(e instanceof OdooError || valueError || (e as { name?: string })?.name === "PostgresError")) {
        throw e // as Python: anything else fails the run (the rows come back after the lease)
      }
      await this.failed(run, row, adapter, e as Error, permanent)
    }
  }

  private async failed(run: Run, row: OutboxRow, adapter: Entity | undefined, exc: Error, permanent: boolean):
    Promise<void> {
    const reason = describe(exc)
    const className = exc instanceof OdooError ? exc.className : exc.name
    run.itemFailed(className, reason)
    const trace = row.trace_id || run.traceId
    if (store.givesUp(row, permanent, this.opts.maxAttempts)) {
      await this.sql.begin(async (tx) => {
        const t = tx as unknown as Sql
        await store.bury(t, row, reason, {
          entity: row.entity, odooModel: adapter ? adapter.odoo_model : null,
          errorClass: exc instanceof OdooError ? exc.odooName : exc.name, traceId: trace,
        })
        if (exc instanceof MissingError && adapter !== undefined) {
          // edited in the app, deleted in Odoo: the row becomes a tombstone (and the edit a dead letter)
          await store.asSync(t, row.trace_id)
          await store.tombstoneRow(t, adapter, row.local_id)
        }
      })
      run.count("dead_lettered")
      await run.event("push dead-lettered", "error", { outbox_id: Number(row.id), reason, attempts: row.attempts },
        { traceId: trace })
    } else {
      // the create may still commit: look it up by its ref only once Odoo must have finished it
      const wait = exc instanceof AmbiguousCreate ? exc.wait : 0
      if (exc instanceof AmbiguousCreate) {
        await run.event("create unanswered: waiting out the request limit before looking it up", "warning",
          { outbox_id: Number(row.id), wait_s: exc.wait }, { traceId: trace })
      }
      await store.retry(this.sql, row, reason, this.opts.retryBaseS, wait)
      run.count("retried")
    }
  }

  // -- lookups ---------------------------------------------------------------------------------------

  private unresolver(sql: Sql, instanceId: string) {
    return async (target: string, localId: string): Promise<number | null> => {
      const t = this.adapters.get(target)
      return t === undefined ? null : await store.odooIdOf(sql, t, localId, instanceId)
    }
  }

  /** adapter.comparable(adapter.from_odoo(htmltext.record_to_text(record), resolver)): the record's
   * values as the pull converts them, its many2one targets looked up first (from_odoo resolves at once). */
  private async remoteValues(e: Entity, instanceId: string, record: OdooRecord, html: string[]): Promise<Values> {
    const rec = recordToText(record, html)
    const ids = new Map<string, Set<number>>()
    for (const f of e.fields) {
      const oid = f.kind === "many2one" && Object.hasOwn(rec, f.odoo_field) ? m2oId(rec[f.odoo_field]) : null
      if (oid !== null) ids.set(f.target as string, (ids.get(f.target as string) ?? new Set()).add(oid))
    }
    const found = new Map<string, Map<number, string>>()
    for (const [target, oids] of ids) {
      const t = this.adapters.get(target)
      if (t !== undefined) found.set(target, await store.localIds(this.sql, t, instanceId, [...oids]))
    }
    const values = fromOdoo(e, rec, (target, oid) => found.get(target)?.get(oid) ?? null)
    return comparable<Json>(e, values)
  }

  private async findByRef(client: OdooClient, e: Entity, localId: string, traceId: string): Promise<number | null> {
    const ref = externalRefField(e)
    if (!ref) return null
    const ids = await client.search(e.odoo_model, [[ref, "=", `${REF_PREFIX}${localId}`]],
      { context: { active_test: false }, limit: 1, traceId })
    return ids.length ? ids[0] : null
  }

  private sameTenant(e: Entity, local: Row, inst: Instance): void {
    const problem = tenantProblem(e, local, inst)
    if (problem) {
      throw new TenantMismatch(`not sent to instance ${inst.id}: ${e.entity} ${local[e.primary_key] ?? "None"} ${problem}`)
    }
  }

  // -- create / write --------------------------------------------------------------------------------

  /** Pusher._upsert: the Odoo side now; returns the acknowledgement's writes (run in its transaction). */
  private async upsert(run: Run, e: Entity, inst: Instance, client: OdooClient, row: OutboxRow, trace: string):
    Promise<(tx: Sql) => Promise<Record<string, unknown>>> {
    const iid = inst.id, localId = row.local_id
    const local = await store.localRow(this.sql, e, localId)
    if (local === null) { // deleted since: the unlink row that follows does the work
      return async (tx) => {
        await store.done(tx, [row.id])
        run.count("skipped_deleted")
        return { action: "skipped_deleted", odoo_id: null }
      }
    }
    this.sameTenant(e, local, inst)
    const mapping = await store.mappingByLocalId(this.sql, iid, e.entity, localId)
    let odooId: number | null = mapping ? Number(mapping.odoo_id) : null
    const links = await this.localLinks(e, iid, localId)
    const html = htmlFields(e, await client.fieldTypes(e.odoo_model, { traceId: trace }))
    let action: Action, synced: Values, agreed: Links
    let linksToLocal: Links = {}, toLocal: Values = {}
    if (odooId === null) {
      ;[action, odooId] = await this.create(e, inst, client, localId, local, links, html, trace)
      synced = comparableRow(e, local)
      agreed = links
    } else {
      ;[action, synced, agreed, linksToLocal, toLocal] = await this.writeKnown(e, iid, client, local, mapping!, links,
        html, trace)
    }
    const oid = odooId
    return async (tx) => {
      await store.asSync(tx, row.trace_id)
      await store.link(tx, e, localId, toLocal, iid, oid)
      if (Object.keys(linksToLocal).length) agreed = { ...agreed, ...await this.storeLinks(tx, e, iid, local, linksToLocal) }
      const stored = e.many2manys.length ? { ...synced, [LINKS_KEY]: agreed as unknown as Json } : synced
      await store.savePushed(tx, iid, e, localId, oid, await valuesHash(synced), canonicalJson(stored))
      await store.done(tx, [row.id])
      run.count(action)
      return { action, odoo_id: oid, took_from_odoo: [...Object.keys(toLocal), ...Object.keys(linksToLocal)].sort() }
    }
  }

  private async create(e: Entity, inst: Instance, client: OdooClient, localId: string, local: Row, links: Links,
    html: string[], trace: string): Promise<[Action, number]> {
    const unresolve = this.unresolver(this.sql, inst.id)
    const found = await this.findByRef(client, e, localId, trace)
    if (found !== null) {
      await client.write(e.odoo_model, [found], {
        ...valuesToHtml(await toOdoo(e, local, unresolve), html), ...linkCommands(e, links),
      } as Record<string, Value>, { traceId: trace })
      return ["found_by_ref", found]
    }
    const values = valuesToHtml(await toOdoo(e, local, unresolve), html)
    const ref = externalRefField(e)
    if (ref) values[ref] = `${REF_PREFIX}${localId}`
    Object.assign(values, linkCommands(e, links))
    try {
      return ["created", await client.create(e.odoo_model, values as Record<string, Value>, { traceId: trace })]
    } catch (exc) {
      if (exc instanceof AmbiguousOdooError) throw new AmbiguousCreate(inst, exc)
      throw exc
    }
  }

  /** Pusher._write_known: re-read the record, let the policy decide, write what Odoo lacks. */
  private async writeKnown(e: Entity, iid: string, client: OdooClient, local: Row, mapping: store.Mapping, links: Links,
    html: string[], trace: string): Promise<[Action, Values, Links, Links, Values]> {
    const odooId = Number(mapping.odoo_id)
    const syncedValues = mapping.synced_values
    let base: Values | null = null
    if (syncedValues !== null && syncedValues !== undefined) {
      base = {}
      for (const [k, v] of Object.entries(syncedValues)) if (k !== LINKS_KEY) base[k] = v as Json
    }
    const baseLinks = ((syncedValues ?? {})[LINKS_KEY] ?? {}) as Links
    const remoteRecs = await client.read(e.odoo_model, [odooId], odooFields(e),
      { context: { active_test: false }, traceId: trace })
    if (!remoteRecs.length) {
      throw new MissingError(`${e.odoo_model} ${odooId} no longer exists in Odoo`, { name: "MissingError" })
    }
    const remoteRec: OdooRecord = remoteRecs[0]
    const remote = await this.remoteValues(e, iid, remoteRec, html)
    const current = comparableRow(e, local)
    const localTs = local.updated_at instanceof Date ? local.updated_at : null
    // last_write_wins compares the app's updated_at with the write_date of the record just re-read
    const written = parseOdooDatetime(remoteRec.write_date)
    const remoteTs = written === null ? null : new Date(written)
    const res = e.owner === "shared"
      ? resolve(e.conflict || "odoo_wins", base, current, remote, { localTs, remoteTs })
      : resolve("app_wins", base, current, remote)
    const [agreed, linksToPush, linksToLocal] = resolveLinks(e.owner, e.conflict, [...e.many2manys], links, baseLinks,
      remoteRec, localTs, remoteTs)
    let action: Action = "unchanged"
    if (Object.keys(res.toPush).length || Object.keys(linksToPush).length) {
      const values = Object.keys(res.toPush).length
        ? valuesToHtml(await toOdoo(e, local, this.unresolver(this.sql, iid), new Set(Object.keys(res.toPush))), html)
        : {}
      await client.write(e.odoo_model, [odooId], { ...values, ...linkCommands(e, linksToPush) } as Record<string, Value>,
        { traceId: trace })
      action = "written"
    }
    const toLocal: Values = {}
    for (const c of Object.keys(res.toLocal)) toLocal[c] = remote[c]
    return [action, res.values, agreed, linksToLocal, toLocal]
  }

  // -- many2many -------------------------------------------------------------------------------------

  private async localLinks(e: Entity, instanceId: string, localId: string): Promise<Links> {
    const out: Links = {}
    for (const rel of e.many2manys) {
      const target = this.adapters.get(rel.target)
      if (target === undefined) continue
      const rows = await store.targetsOf(this.sql, rel, target, instanceId, localId)
      const missing = rows.filter((r) => r.odoo_id === null).map((r) => r.local_id)
      if (missing.length) {
        throw new LinkTargetNotPushed(`${e.entity}.${rel.relation} links ${rel.target} ${missing.join(", ")} ` +
          "that is not in Odoo yet: waiting for its push")
      }
      out[rel.relation] = sortedIds(rows.map((r) => Number(r.odoo_id)))
    }
    return out
  }

  private async storeLinks(tx: Sql, e: Entity, instanceId: string, local: Row, links: Links): Promise<Links> {
    const stored: Links = {}
    for (const rel of e.many2manys) {
      if (!Object.hasOwn(links, rel.relation)) continue
      const target = this.adapters.get(rel.target)!
      const found = await store.localIds(tx, target, instanceId, links[rel.relation])
      const tenant = e.tenant_column
      await store.setLinks(tx, rel, tenant, tenant ? String(local[tenant]) : null, String(local[e.primary_key]),
        [...found.values()])
      stored[rel.relation] = sortedIds(found.keys())
    }
    return stored
  }

  // -- unlink ----------------------------------------------------------------------------------------

  private async unlink(run: Run, e: Entity, inst: Instance, client: OdooClient, row: OutboxRow, trace: string):
    Promise<(tx: Sql) => Promise<Record<string, unknown>>> {
    const iid = inst.id
    if (row.payload !== null && typeof row.payload === "object" && !Array.isArray(row.payload)) {
      this.sameTenant(e, row.payload as Row, inst)
    }
    const mapping = await store.mappingByLocalId(this.sql, iid, e.entity, row.local_id)
    const odooId = mapping ? Number(mapping.odoo_id) : await this.findByRef(client, e, row.local_id, trace)
    let action: Action = "never_in_odoo"
    if (odooId !== null) {
      try {
        await client.unlink(e.odoo_model, [odooId], { traceId: trace })
        action = "unlinked"
      } catch (exc) {
        if (!(exc instanceof MissingError)) throw exc
        action = "already_gone"
      }
    }
    return async (tx) => {
      await store.asSync(tx, row.trace_id)
      await store.deleteMapping(tx, iid, e.entity, row.local_id)
      await store.done(tx, [row.id])
      if (action !== "never_in_odoo") run.count(action)
      return { action, odoo_id: odooId }
    }
  }
}

// -- the function ----------------------------------------------------------------------------------------

/** The drain of one invocation: instance by instance (as `specgen sync push` and the worker), claims
 * until the outbox of the instance is empty or the budget is spent. */
export async function drain(sql: Sql, opts: Options): Promise<Record<string, unknown>> {
  const deadline = performance.now() + opts.budgetS * 1000
  const pusher = new Pusher(sql, opts, deadline)
  const totals: Record<string, number> = {}
  const skipped: { instance: string; reason: string }[] = []
  const insts = await store.activeInstances(sql, opts.instance)
  if (opts.instance !== null && !insts.length) throw new UnknownInstance(opts.instance)
  for (const inst of insts) {
    let client: OdooClient
    try {
      client = pusher.clientFor(inst)
    } catch (e) { // a broken configuration (its secret unset): that instance alone is skipped
      skipped.push({ instance: inst.name, reason: describe(e) })
      log("push", "error", "instance skipped: broken configuration", { instance_id: inst.id, reason: describe(e) })
      continue
    }
    // as the worker's _logged_in: a refused login skips the instance and leaves its rows pending (a
    // rotated key must not dead-letter the outbox); Odoo down is left to the rows, which retry
    try {
      await client.uid()
    } catch (e) {
      if (e instanceof AccessDenied) {
        const reason = "login refused: check the instance's secret or its configuration (AccessDenied)"
        skipped.push({ instance: inst.name, reason })
        log("push", "error", "instance skipped: broken configuration", { instance_id: inst.id, reason })
        continue
      }
      if (!(e instanceof OdooError)) throw e
    }
    while (performance.now() < deadline) {
      const before = pusher.released
      const counts = await pusher.runOnce(opts.batchLimit, inst.id)
      add(totals, counts)
      if (!counts.claimed || pusher.released > before) break
    }
  }
  return {
    pushed: pusher.pushed, failed: totals.retried ?? 0, dead: totals.dead_lettered ?? 0, claimed: totals.claimed ?? 0,
    released: pusher.released, instances: insts.length, skipped_instances: skipped, counts: totals,
  }
}

/** A request for an instance that is not there (or not active): a 400, not a run that did nothing. */
class UnknownInstance extends Error {
  constructor(named: string) {
    super(`no active instance has the id or name ${JSON.stringify(named)} (specgen sync instance list)`)
  }
}

export async function handle(req: Request): Promise<Response> {
  let opts: Options
  try {
    opts = await options(req)
  } catch (e) {
    return problem(400, e instanceof Error ? e.message : String(e))
  }
  try {
    return json(200, await drain(db(), opts))
  } catch (e) {
    if (e instanceof UnknownInstance) return problem(400, e.message)
    log("push", "error", "push failed", { error: describe(e) })
    return failure("push", e, describe(e))
  }
}
