// Odoo records into rows, as bridge/sync/upsert.py, writer.py and conflicts.py: many2one targets looked
// up (missing ones fetched from Odoo and upserted first, up to MAX_DEPTH levels), conversion and
// validation (refusals dead-lettered), Odoo-owned mirrors written in bulk, shared entities record by
// record through their conflict policy, many2many join rows made the sets Odoo holds, orphans released.
// Runs inside the caller's transaction and never commits.
import {
  canonicalJson, comparable, ENTITIES, externalRefField, type Json, pulls, pushes, REF_PREFIX, same, sha256Hex,
  tenantProblem,
} from "./adapter.ts"
import { resolve } from "./conflicts.ts"
import {
  ConversionError, type Entity, fromOdoo, htmlFields, isoformat, latest, m2oId, parseOdooDatetime, recordToText,
  type Row, validate,
} from "./convert.ts"
import type { OdooClient, OdooRecord, Value } from "./odoo.ts"
import * as store from "./pull_store.ts"
import type { Instance, Link, Q } from "./pull_store.ts"

export const MAX_DEPTH = 3
export { ENTITIES, pulls } from "./adapter.ts" // pull_events.ts takes them from here

export interface Context {
  instance: Instance
  client: OdooClient
  traceId: string
  counts: Record<string, number>
  source: "pull" | "webhook"
}

export function bump(ctx: Context, key: string, n = 1): void {
  ctx.counts[key] = (ctx.counts[key] ?? 0) + n
}

// -- what an entity knows (EntityAdapter) ------------------------------------------------------
export const many2ones = (e: Entity) => e.fields.filter((f) => f.kind === "many2one")
export const links = (e: Entity): readonly Link[] => e.many2manys as readonly Link[]

export function odooDomain(e: Entity): Value[] {
  return JSON.parse(JSON.stringify(e.domain)) as Value[]
}

export function readContext(e: Entity): Record<string, Value> {
  return { ...(e.context as Record<string, Value>), active_test: false }
}

/** Fields to read; only those the Odoo model has (upsert.read_fields). */
export async function readFields(e: Entity, client: OdooClient): Promise<string[]> {
  const names: string[] = [...e.fields.map((f) => f.odoo_field as string), ...links(e).map((r) => r.odoo_field)]
  if (!names.includes("write_date")) names.push("write_date")
  const ref = externalRefField(e)
  if (e.owner === "shared" && ref) names.push(ref)
  const known = await client.modelFields(e.odoo_model)
  return names.filter((f) => known.has(f))
}

/** contracts.pull_order: pulling entities, targets of many2ones before those pointing at them. */
export function pullOrder(): Entity[] {
  const pulling = new Map([...ENTITIES].filter(([, e]) => pulls(e)))
  const done: Entity[] = []
  const seen = new Set<string>()
  const visit = (name: string, stack: string[]) => {
    if (seen.has(name) || !pulling.has(name) || stack.includes(name)) return
    const e = pulling.get(name) as Entity
    for (const f of many2ones(e)) if (f.target !== name) visit(f.target as string, [...stack, name])
    seen.add(name)
    done.push(e)
  }
  for (const name of [...pulling.keys()].sort()) visit(name, [])
  return done
}

function newIds(n: number): string[] {
  return Array.from({ length: n }, () => crypto.randomUUID())
}

// -- prepare (upsert.prepare, convert.convert) -------------------------------------------------
export interface Prepared {
  entity: Entity
  rows: Row[]
  records: OdooRecord[]
  refused: [OdooRecord, string, string][]
  depth: number
}

type Why = Map<string, string> // "target:odoo id" -> why it is not stored

async function fetchTargets(q: Q, ctx: Context, target: Entity, fetch: number[], missing: Set<number>,
  found: Map<number, string>, depth: number): Promise<OdooRecord[]> {
  const fetched = await ctx.client.read(target.odoo_model, fetch, await readFields(target, ctx.client),
    { context: readContext(target) }) ?? []
  if (fetched.length) {
    await upsert(q, { ...ctx, counts: {} }, target, fetched, depth + 1)
    bump(ctx, "dependencies_fetched", fetched.length)
    for (const [k, v] of await store.localIds(q, target, ctx.instance.id, missing)) found.set(k, v)
  }
  return fetched
}

async function fetchMissing(q: Q, ctx: Context, target: Entity, missing: Set<number>, found: Map<number, string>,
  depth: number): Promise<Map<number, string>> {
  const dead = await store.openFor(q, ctx.instance.id, target.odoo_model, missing)
  const fetch = [...missing].filter((i) => !dead.has(i)).sort((a, b) => a - b)
  let gone = new Set<number>()
  if (fetch.length && depth < MAX_DEPTH) {
    const fetched = await fetchTargets(q, ctx, target, fetch, missing, found, depth)
    const got = new Set(fetched.map((r) => r.id as number))
    gone = new Set(fetch.filter((i) => !got.has(i)))
    const more = await store.openFor(q, ctx.instance.id, target.odoo_model,
      fetch.filter((i) => !gone.has(i) && !found.has(i)))
    for (const [k, v] of more) dead.set(k, v)
  }
  const why = new Map<number, string>()
  for (const oid of missing) {
    if (found.has(oid)) continue
    const dl = dead.get(oid)
    why.set(oid, dl ? `dead letter #${dl.id} (${dl.error_class}: ${[...dl.reason].slice(0, 200).join("")})`
      : gone.has(oid) ? "not in Odoo (read with active_test False)"
      : depth >= MAX_DEPTH ? "not fetched (dependency depth limit)" : "not stored")
  }
  return why
}

async function resolveTargets(q: Q, ctx: Context, e: Entity, records: OdooRecord[], own: Map<number, string>,
  depth: number, unresolved: Why): Promise<Map<string, string>> {
  const wanted = new Map<string, Set<number>>()
  for (const rec of records) {
    for (const f of many2ones(e)) {
      const oid = m2oId(rec[f.odoo_field])
      if (oid) {
        if (!wanted.has(f.target as string)) wanted.set(f.target as string, new Set())
        wanted.get(f.target as string)?.add(oid)
      }
    }
  }
  const resolved = new Map<string, string>()
  for (const [target, ids] of wanted) {
    const te = ENTITIES.get(target)
    if (te === undefined) continue
    const found = await store.localIds(q, te, ctx.instance.id, ids)
    if (te === e) for (const oid of ids) if (!found.has(oid) && own.has(oid)) found.set(oid, own.get(oid) as string)
    const missing = new Set([...ids].filter((i) => !found.has(i)))
    if (missing.size) {
      for (const [oid, why] of await fetchMissing(q, ctx, te, missing, found, depth)) unresolved.set(`${target}:${oid}`, why)
    }
    for (const [oid, lid] of found) resolved.set(`${target}:${oid}`, lid)
  }
  return resolved
}

/** deadletters.orphan_refusal: a record whose required many2one has no stored target. */
function orphanRefusal(e: Entity, rec: OdooRecord, values: Row, unresolved: Why): [OdooRecord, string, string] | null {
  const problems: string[] = []
  const parents: Value[] = []
  for (const f of many2ones(e).filter((f) => !f.nullable)) {
    if (values[f.column] !== null && values[f.column] !== undefined) continue
    const oid = m2oId(rec[f.odoo_field])
    if (oid === null) {
      problems.push(`${f.odoo_field} is required but empty in Odoo`)
      continue
    }
    const te = ENTITIES.get(f.target as string)
    const why = unresolved.get(`${f.target}:${oid}`) ?? "not stored"
    problems.push(why.startsWith("not ") ? `${f.odoo_field}: parent ${f.target} ${oid} is ${why}`
      : `${f.odoo_field}: parent ${f.target} ${oid} is not stored: ${why}`)
    parents.push({ entity: f.target as string, odoo_model: te ? te.odoo_model : null, odoo_id: oid })
  }
  if (!problems.length) return null
  if (!parents.length) return [rec, problems.join("; "), "ValidationError"]
  return [{ ...rec, [store.PARENTS_KEY]: parents }, problems.join("; "), store.ORPHAN_CLASS]
}

export async function prepare(q: Q, ctx: Context, e: Entity, input: OdooRecord[], depth = 0): Promise<Prepared> {
  const byId = latest(input)
  const html = htmlFields(e, await ctx.client.fieldTypes(e.odoo_model))
  const records = [...byId.values()].map((r) => recordToText(r, html))
  const fresh = newIds(byId.size)
  const own = new Map([...byId.keys()].map((id, i) => [id, fresh[i]]))
  const unresolved: Why = new Map()
  const resolved = records.length ? await resolveTargets(q, ctx, e, records, own, depth, unresolved) : new Map()
  const rows: Row[] = []
  const good: OdooRecord[] = []
  const refused: [OdooRecord, string, string][] = []
  const required = many2ones(e).some((f) => !f.nullable)
  for (const rec of records) {
    let values: Row
    try {
      values = fromOdoo(e, rec, (target, oid) => resolved.get(`${target}:${oid}`) ?? null)
    } catch (err) {
      if (err instanceof ConversionError) {
        refused.push([rec, err.message, "ConversionError"])
        continue
      }
      throw err
    }
    const orphan = required ? orphanRefusal(e, rec, values, unresolved) : null
    if (orphan) {
      refused.push(orphan)
      continue
    }
    values[e.primary_key] = own.get(rec.id as number) as string
    if (e.tenant_column) values[e.tenant_column] = ctx.instance.org_id
    const wd = parseOdooDatetime(rec.write_date)
    Object.assign(values, { instance_id: ctx.instance.id, odoo_id: rec.id as number, odoo_write_date: wd === null ? null : isoformat(wd) })
    rows.push(values)
    good.push(rec)
  }
  const out: Prepared = { entity: e, rows: [], records: [], refused, depth }
  const errors = rows.length ? validate(e, rows) : []
  rows.forEach((row, i) => {
    if (errors[i]) refused.push([good[i], `validation failed: ${errors[i]}`, "ValidationError"])
    else {
      out.rows.push(row)
      out.records.push(good[i])
    }
  })
  return out
}

// -- write (writer.py) -------------------------------------------------------------------------
async function dead(q: Q, ctx: Context, e: Entity, record: OdooRecord, reason: string, errorClass: string): Promise<void> {
  const [, created] = await store.addDeadLetter(q, {
    source: ctx.source, instanceId: ctx.instance.id, entity: e.entity, odooModel: e.odoo_model, recordRef: record.id ?? null,
    payload: record, reason, errorClass, attempts: 1, traceId: ctx.traceId,
  })
  bump(ctx, created ? "dead_lettered" : "dead_letter_seen_again")
}

async function writeRows(q: Q, ctx: Context, p: Prepared): Promise<number> {
  const e = p.entity
  for (const [rec, reason, errorClass] of p.refused) {
    await dead(q, ctx, e, rec, reason, errorClass)
    if (errorClass === store.ORPHAN_CLASS) bump(ctx, "orphaned")
  }
  if (e.owner === "shared") {
    let n = 0
    for (let i = 0; i < p.rows.length; i++) n += await upsertShared(q, ctx, e, p.rows[i], p.records[i])
    return n
  }
  if (!p.rows.length) return 0
  const [inserted, updated] = await store.bulkUpsert(q, e, p.rows)
  bump(ctx, "inserted", inserted)
  bump(ctx, "updated", updated)
  bump(ctx, "unchanged", p.rows.length - inserted - updated)
  return inserted + updated
}

async function claimedRow(q: Q, ctx: Context, e: Entity, row: Row, refValue: Value | undefined): Promise<Row | null> {
  let local = await store.linkedRow(q, e, ctx.instance.id, row.odoo_id as number)
  if (local === null && typeof refValue === "string" && refValue.startsWith(REF_PREFIX)) {
    const claimed = await store.rowByTextKey(q, e, refValue.slice(REF_PREFIX.length))
    if (claimed !== null && (claimed.odoo_id === null || claimed.odoo_id === row.odoo_id || tenantProblem(e, claimed, ctx.instance))) {
      local = claimed
    }
  }
  return local
}

async function upsertShared(q: Q, ctx: Context, e: Entity, row: Row, rec: OdooRecord): Promise<number> {
  const instanceId = ctx.instance.id
  const ref = externalRefField(e)
  const refValue = ref ? rec[ref] : undefined
  const local = await claimedRow(q, ctx, e, row, refValue)
  const problem = local !== null ? tenantProblem(e, local, ctx.instance) : null
  if (problem) {
    await dead(q, ctx, e, rec, refValue ? `${ref}=${pyReprValue(refValue)} names a row that ${problem}; nothing was written`
      : `the row of this record ${problem}; nothing was written`, "TenantMismatch")
    bump(ctx, "refused_other_tenant")
    return 0
  }
  const mapping = await store.mappingByOdooId(q, instanceId, e.entity, row.odoo_id as number)
  if (local === null && (mapping !== null || (typeof refValue === "string" && refValue.startsWith(REF_PREFIX)))) {
    bump(ctx, "skipped_deleted_in_app")
    return 0
  }
  const remote = comparable<Json>(e, row)
  const base = mapping && mapping.synced_values
    ? Object.fromEntries(Object.entries(mapping.synced_values).filter(([k]) => k !== store.LINKS_KEY)) as Record<string, Json>
    : null
  const cols = e.fields.map((f) => f.column)
  let localId: string
  if (local === null) {
    await store.insertLinked(q, e, row, instanceId)
    localId = row[e.primary_key] as string
    bump(ctx, "inserted")
  } else {
    localId = String(local[e.primary_key])
    const current = comparable<Json>(e, local)
    const remoteMs = parseOdooDatetime(rec.write_date)
    const localMs = local.updated_at as number | null
    const res = resolve(e.conflict ?? "odoo_wins", base, current, remote,
      { localTs: localMs === null ? null : new Date(localMs), remoteTs: remoteMs === null ? null : new Date(remoteMs) })
    const fresh: Row = Object.fromEntries(cols.map((c) => [c, same(res.values[c], remote[c]) ? row[c] : local[c]]))
    const localWd = local.odoo_write_date === null ? null : Number(local.odoo_write_date)
    const changed = Object.keys(res.toLocal).length > 0 || local.odoo_id !== row.odoo_id || local.odoo_deleted_at !== null ||
      localWd !== remoteMs
    if (changed) {
      await store.updateLinked(q, e, localId, fresh, instanceId, row.odoo_id as number, row.odoo_write_date as string | null)
      bump(ctx, "updated")
    } else bump(ctx, "unchanged")
    if (Object.keys(res.toPush).length) {
      if (!await store.outboxHasOpen(q, instanceId, e.entity, localId)) {
        await store.enqueueWrite(q, e, instanceId, localId, ctx.traceId)
      }
      bump(ctx, "conflicts_to_push")
    }
  }
  const text = canonicalJson(remote)
  await store.savePulled(q, instanceId, e, localId, row.odoo_id as number, row.odoo_write_date as string | null,
    await sha256Hex(text), text)
  return 1
}

function pyReprValue(v: Value): string {
  return typeof v === "string" ? (v.includes("'") && !v.includes('"') ? `"${v}"` : `'${v}'`) : String(v)
}

// -- many2many ---------------------------------------------------------------------------------
interface LinkPlan {
  rel: Link
  target: Entity
  present: OdooRecord[]
  wanted: Set<number>
}

async function planLinks(q: Q, ctx: Context, e: Entity, records: OdooRecord[]): Promise<[Map<number, string>, LinkPlan[]]> {
  let own = await store.localIds(q, e, ctx.instance.id, records.map((r) => r.id as number))
  if (e.owner === "shared" && pushes(e) && own.size) {
    const waiting = await store.outboxWaiting(q, ctx.instance.id, e.entity, [...own.values()])
    own = new Map([...own].filter(([, v]) => !waiting.has(v)))
  }
  const plan: LinkPlan[] = []
  for (const rel of links(e)) {
    const target = ENTITIES.get(rel.target)
    if (target === undefined) continue
    const present = records.filter((r) => Object.hasOwn(r, rel.odoo_field) && own.has(r.id as number))
    if (present.length) {
      const wanted = new Set<number>()
      for (const r of present) for (const oid of (r[rel.odoo_field] || []) as number[]) wanted.add(Math.trunc(Number(oid)))
      plan.push({ rel, target, present, wanted })
    }
  }
  return [own, plan]
}

async function linkTargets(q: Q, ctx: Context, target: Entity, ids: Set<number>, depth: number): Promise<Map<number, string>> {
  const found = ids.size ? await store.localIds(q, target, ctx.instance.id, ids) : new Map<number, string>()
  const missing = new Set([...ids].filter((i) => !found.has(i)))
  if (missing.size && depth < MAX_DEPTH) {
    const dead = await store.openFor(q, ctx.instance.id, target.odoo_model, missing)
    const fetch = [...missing].filter((i) => !dead.has(i)).sort((a, b) => a - b)
    if (fetch.length) await fetchTargets(q, ctx, target, fetch, missing, found, depth)
  }
  return found
}

async function replaceAllLinks(q: Q, ctx: Context, e: Entity, own: Map<number, string>, plan: LinkPlan[],
  found: Map<number, string>[]): Promise<number> {
  const shared = e.owner === "shared" && pushes(e)
  const agreed = new Map<string, Record<string, number[]>>()
  let changed = 0
  for (let i = 0; i < plan.length; i++) {
    const { rel, present } = plan[i]
    const sources: string[] = []
    const targets: string[] = []
    for (const r of present) {
      const src = own.get(r.id as number) as string
      for (const oid of [...new Set((r[rel.odoo_field] || []) as number[])]) {
        const t = found[i].get(oid)
        if (t !== undefined) {
          sources.push(src)
          targets.push(t)
          const a = agreed.get(src) ?? {}
          ;(a[rel.relation] ??= []).push(Math.trunc(oid))
          agreed.set(src, a)
        } else bump(ctx, "links_skipped")
      }
    }
    changed += await store.replaceLinks(q, rel, e.tenant_column, ctx.instance.org_id,
      present.map((r) => own.get(r.id as number) as string), sources, targets)
    if (shared) {
      for (const r of present) {
        const src = own.get(r.id as number) as string
        const a = agreed.get(src) ?? {}
        a[rel.relation] ??= []
        agreed.set(src, a)
      }
    }
  }
  if (shared && agreed.size) {
    await store.mergeLinks(q, ctx.instance.id, e.entity, [...agreed.keys()], [...agreed.values()].map((l) =>
      canonicalJson(Object.fromEntries(Object.entries(l).map(([k, v]) => [k, [...v].sort((a, b) => a - b)])))))
  }
  if (changed) bump(ctx, "links_changed", changed)
  return changed
}

function isRequiredParent(e: Entity): boolean {
  return [...ENTITIES.values()].some((a) => many2ones(a).some((f) => f.target === e.entity && !f.nullable))
}

export async function write(q: Q, ctx: Context, p: Prepared): Promise<number> {
  const e = p.entity
  const n = await writeRows(q, ctx, p)
  if (links(e).length && p.records.length) {
    const [own, plan] = await planLinks(q, ctx, e, p.records)
    const found: Map<number, string>[] = []
    for (const step of plan) found.push(await linkTargets(q, ctx, step.target, step.wanted, p.depth))
    await replaceAllLinks(q, ctx, e, own, plan, found)
  }
  if (p.records.length && isRequiredParent(e)) {
    const ids = await store.orphansOf(q, ctx.instance.id, e.odoo_model, p.records.map((r) => r.id as number))
    const released = ids.length ? await store.replayIds(q, ids, ctx.traceId) : 0
    if (released) bump(ctx, "orphans_released", released)
  }
  return n
}

export async function upsert(q: Q, ctx: Context, e: Entity, records: OdooRecord[], depth = 0): Promise<number> {
  if (!records.length) return 0
  return await write(q, ctx, await prepare(q, ctx, e, records, depth))
}

export async function tombstoneIds(q: Q, ctx: Context, e: Entity, ids: Iterable<number>): Promise<number> {
  const list = [...ids]
  if (!list.length) return 0
  const n = await store.tombstone(q, e, ctx.instance.id, list)
  bump(ctx, "tombstoned", n)
  return n
}
