// The SQL the pull and the event processor run, as bridge/store (db.py locks and as_sync, cursors.py,
// mirrors.py, links.py, deadletters.py, mappings.py, outbox.py, queue.py): the same statements and
// values, so a Python worker and a function share one database. Rows travel as JSON and are typed by
// PostgreSQL (jsonb_populate_record[set] of the table's own row type), as psycopg's adaptation types them.
// Every function runs in the caller's transaction and never commits.
import { LINKS_KEY, qualified } from "./adapter.ts"
import { ident, idents, literal } from "./sqlnames.ts"
import type { Entity, LinkSpec, Row } from "./convert.ts"

export { LINKS_KEY, qualified } // pull_write.ts takes them from here

/** What runs a statement: a dedicated connection (postgres.js) or a transaction on it. */
export interface Q {
  unsafe(query: string, params?: never[]): Promise<unknown>
}

export async function rows<T>(q: Q, sql: string, params: unknown[] = []): Promise<T[]> {
  return await q.unsafe(sql, params.map((p) => p === null || p === undefined ? null : String(p)) as never[]) as T[]
}

function quoteElement(text: string): string {
  return '"' + text.replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"'
}

/** A PostgreSQL array literal of the values (as text, cast by the statement). */
export function pgArray(values: Iterable<string | number>): string {
  return "{" + [...values].map((v) => typeof v === "number" ? String(v) : quoteElement(v)).join(",") + "}"
}

// -- locks (bridge/store/db.py) ----------------------------------------------------------------
/** db.lock_key: the two texts hashed into an advisory lock's key (the reaper matches them too). */
export function lockKey(kind: string, instanceId: string, entity: string): [string, string] {
  return [`specgen.${kind}`, `${instanceId}:${entity}`]
}

export async function tryLock(q: Q, kind: string, instanceId: string, entity: string): Promise<boolean> {
  const [a, b] = lockKey(kind, instanceId, entity)
  const r = await rows<{ ok: boolean }>(q, "select pg_try_advisory_lock(hashtext($1::text), hashtext($2::text)) as ok", [a, b])
  return r[0].ok
}

export async function unlock(q: Q, kind: string, instanceId: string, entity: string): Promise<void> {
  const [a, b] = lockKey(kind, instanceId, entity)
  await rows(q, "select pg_advisory_unlock(hashtext($1::text), hashtext($2::text))", [a, b])
}

/** db.as_sync + db.lazy_commit: this transaction is the sync's (no outbox echo) and need not wait for the WAL. */
export async function asSync(q: Q, traceId: string | null, lazy = false): Promise<void> {
  await rows(q, "select set_config('specgen.sync_origin', 'odoo', true), set_config('specgen.trace_id', $1::text, true)",
    [traceId ?? ""])
  if (lazy) await rows(q, "set local synchronous_commit = off")
}

// -- instances ---------------------------------------------------------------------------------
export interface Instance {
  id: string
  org_id: string
  name: string
  base_url: string
  database: string
  login: string
  secret_ref: string
  protocol: string | null
  active: boolean
  request_limit_seconds: number | null
}

const INSTANCE_COLUMNS = "id::text, org_id::text, name, base_url, database, login, secret_ref, protocol::text, active, " +
  "request_limit_seconds::float8 as request_limit_seconds"

/** db.instances: the active ones (or the one named by id or name), oldest first. */
export function instances(q: Q, only: string | null): Promise<Instance[]> {
  return rows<Instance>(q, `select ${INSTANCE_COLUMNS} from odoo.instances where active ` +
    "and ($1::text is null or id::text = $1::text or name = $1::text) order by created_at, id", [only])
}

export async function instance(q: Q, id: string): Promise<Instance | null> {
  return (await rows<Instance>(q, `select ${INSTANCE_COLUMNS} from odoo.instances where id = $1::text::uuid`, [id]))[0] ?? null
}

export const DEFAULT_REQUEST_LIMIT = 180

/** db.request_limit: seconds an Odoo call may run before it commits (the pull's lookback). */
export function requestLimit(inst: { request_limit_seconds?: unknown }): number {
  return Number(inst.request_limit_seconds) || DEFAULT_REQUEST_LIMIT
}

// -- cursors -----------------------------------------------------------------------------------
/** (last write_date in epoch ms, last id), or (null, 0). */
export async function readCursor(q: Q, instanceId: string, entity: string): Promise<[number | null, number]> {
  const r = await rows<{ us: string | null; last_id: number | null }>(q,
    "select (extract(epoch from last_write_date) * 1000000)::bigint::text as us, last_id from odoo.sync_cursors " +
    "where instance_id = $1::text::uuid and entity = $2::text", [instanceId, entity])
  if (!r.length || r[0].us === null) return [null, r.length ? Number(r[0].last_id ?? 0) : 0]
  return [Math.floor(Number(r[0].us) / 1000), Number(r[0].last_id ?? 0)]
}

/** cursors.save: forward only (a lookback page never moves it back). */
export async function saveCursor(q: Q, instanceId: string, e: Entity, writeDateIso: string, lastId: number,
  runId: string | null): Promise<void> {
  await rows(q, `insert into odoo.sync_cursors as c (instance_id, entity, odoo_model, last_write_date, last_id, last_run_id)
    values ($1::text::uuid, $2::text, $3::text, $4::text::timestamptz, $5::text::int, $6::text::uuid)
    on conflict (instance_id, entity) do update
      set last_write_date = excluded.last_write_date, last_id = excluded.last_id, last_run_id = excluded.last_run_id
    where c.last_write_date is null
       or (excluded.last_write_date, excluded.last_id) > (c.last_write_date, c.last_id)`,
    [instanceId, e.entity, e.odoo_model, writeDateIso, lastId, runId])
}

export async function saveHead(q: Q, instanceId: string, e: Entity, writeDateIso: string | null): Promise<void> {
  await rows(q, `insert into odoo.sync_cursors (instance_id, entity, odoo_model, odoo_head_write_date, odoo_checked_at)
    values ($1::text::uuid, $2::text, $3::text, $4::text::timestamptz, now())
    on conflict (instance_id, entity) do update
      set odoo_head_write_date = excluded.odoo_head_write_date, odoo_checked_at = excluded.odoo_checked_at`,
    [instanceId, e.entity, e.odoo_model, writeDateIso])
}

// -- mirrors -----------------------------------------------------------------------------------
/** {odoo id: local key} of the instance's rows for these Odoo ids. */
export async function localIds(q: Q, e: Entity, instanceId: string, odooIds: Iterable<number>): Promise<Map<number, string>> {
  const ids = [...odooIds]
  if (!ids.length) return new Map()
  const r = await rows<{ odoo_id: number; key: string }>(q, `select odoo_id, ${ident(e.primary_key)}::text as key from ` +
    `${qualified(e)} where instance_id = $1::text::uuid and odoo_id = any($2::text::int[])`, [instanceId, pgArray(ids)])
  return new Map(r.map((x) => [Number(x.odoo_id), x.key]))
}

export function bulkColumns(e: Entity): string[] {
  return [e.primary_key, ...(e.tenant_column ? [e.tenant_column] : []), ...e.fields.map((f) => f.column),
    "instance_id", "odoo_id", "odoo_write_date"]
}

/** mirrors.bulk_upsert: one INSERT ... ON CONFLICT (instance_id, odoo_id) that changes only rows that
 * differ (or were tombstoned). Returns [inserted, updated]. */
export async function bulkUpsert(q: Q, e: Entity, data: Row[]): Promise<[number, number]> {
  const names = bulkColumns(e)
  const mapped = e.fields.map((f) => f.column)
  const tenant = e.tenant_column ? [e.tenant_column] : []
  const sets = [...tenant, ...mapped, "odoo_write_date"].map((c) => `${ident(c)} = excluded.${ident(c)}`).join(", ")
  const old = idents([...mapped, "odoo_write_date"], "t")
  const fresh = idents([...mapped, "odoo_write_date"], "excluded")
  const list = idents(names)
  const r = await rows<{ inserted: number; updated: number }>(q, `
    with up as (
      insert into ${qualified(e)} as t (${list}, synced_at)
      select ${list}, now() from jsonb_populate_recordset(null::${qualified(e)}, $1::text::jsonb) order by odoo_id
      on conflict (instance_id, odoo_id) do update set ${sets}, synced_at = now(), odoo_deleted_at = null
      where (${old}) is distinct from (${fresh}) or t.odoo_deleted_at is not null
      returning t.${ident(e.primary_key)}, t.odoo_id, (xmax = 0) as inserted)
    select (count(*) filter (where inserted))::int as inserted, (count(*) filter (where not inserted))::int as updated
    from up`, [JSON.stringify(data.map((row) => Object.fromEntries(names.map((n) => [n, row[n] ?? null]))))])
  return [Number(r[0].inserted), Number(r[0].updated)]
}

export async function tombstone(q: Q, e: Entity, instanceId: string, odooIds: Iterable<number>): Promise<number> {
  const r = await q.unsafe(`update ${qualified(e)} set odoo_deleted_at = now(), synced_at = now() ` +
    "where instance_id = $1::text::uuid and odoo_id = any($2::text::int[]) and odoo_deleted_at is null",
    [instanceId, pgArray([...odooIds])] as never[]) as { count: number }
  return Number(r.count)
}

/** Python's isoformat() of a timestamp(tz) as psycopg reads it (UTC for timestamptz): microseconds only
 * when there are some, as orjson writes a datetime. */
function isoText(column: string, tz: boolean): string {
  const c = "t." + ident(column)
  if (tz) {
    return `to_char(${c} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') || case when extract(microseconds ` +
      `from ${c})::bigint % 1000000 <> 0 then to_char(${c} at time zone 'UTC', '.US') else '' end || '+00:00'`
  }
  return `to_char(${c}, 'YYYY-MM-DD"T"HH24:MI:SS') || case when extract(microseconds from ${c})::bigint ` +
    `% 1000000 <> 0 then to_char(${c}, '.US') else '' end`
}

/** A row as the comparisons read it: each mapped column as Python's psycopg value would print in JSON
 * (adapter.comparable: text, numbers, booleans and arrays as such, numeric and dates as text, timestamps
 * in isoformat with their microseconds), plus the link columns. */
export function rowSelect(e: Entity): string {
  const cells = e.fields.map((f) => {
    const c = "t." + ident(f.column), key = literal(f.column)
    if (f.kind === "many2one") return `${key}, ${c}::text`
    if (f.array || ["boolean", "smallint", "integer", "bigint", "jsonb"].includes(f.type)) return `${key}, to_jsonb(${c})`
    if (f.type === "timestamptz" || f.type === "timestamp") return `${key}, ${isoText(f.column, f.type === "timestamptz")}`
    return `${key}, ${c}::text`
  })
  const tenant = e.tenant_column ? [`${literal(e.tenant_column)}, t.${ident(e.tenant_column)}::text`] : []
  return `jsonb_build_object(${literal(e.primary_key)}, t.${ident(e.primary_key)}::text, ${[...tenant, ...cells].join(", ")}, ` +
    "'instance_id', t.instance_id::text, 'odoo_id', t.odoo_id, " +
    "'odoo_write_date', (extract(epoch from t.odoo_write_date) * 1000)::float8, " +
    "'odoo_deleted_at', t.odoo_deleted_at::text, " +
    "'updated_at', (extract(epoch from t.updated_at) * 1000)::float8) as row"
}

export async function linkedRow(q: Q, e: Entity, instanceId: string, odooId: number): Promise<Row | null> {
  const r = await rows<{ row: Row }>(q, `select ${rowSelect(e)} from ${qualified(e)} t where instance_id = $1::text::uuid ` +
    "and odoo_id = $2::text::int for update", [instanceId, odooId])
  return r[0]?.row ?? null
}

export async function rowByTextKey(q: Q, e: Entity, key: string): Promise<Row | null> {
  const r = await rows<{ row: Row }>(q, `select ${rowSelect(e)} from ${qualified(e)} t where ${ident(e.primary_key)}::text = $1::text ` +
    "for update", [key])
  return r[0]?.row ?? null
}

/** mirrors.insert_linked: a new row of a shared entity, linked to its Odoo record. */
export async function insertLinked(q: Q, e: Entity, row: Row, instanceId: string): Promise<void> {
  const lead = [e.primary_key, ...(e.tenant_column ? [e.tenant_column] : [])]
  const cols = [...lead, ...e.fields.map((f) => f.column)]
  const list = idents(cols)
  await rows(q, `insert into ${qualified(e)} (${list}, instance_id, odoo_id, odoo_write_date, synced_at)
    select ${list}, $2::text::uuid, $3::text::int, $4::text::timestamptz, now()
    from jsonb_populate_record(null::${qualified(e)}, $1::text::jsonb)`,
    [JSON.stringify(Object.fromEntries(cols.map((c) => [c, row[c] ?? null]))), instanceId, row.odoo_id, row.odoo_write_date])
}

/** mirrors.update_linked: a shared row's mapped columns and its link (its tombstone cleared). */
export async function updateLinked(q: Q, e: Entity, localId: string, values: Row, instanceId: string, odooId: number,
  odooWriteDate: string | null): Promise<void> {
  const cols = Object.keys(values)
  const sets = cols.map((c) => `${ident(c)} = v.${ident(c)}`).join(", ")
  await rows(q, `update ${qualified(e)} t set ${sets}${cols.length ? ", " : ""}instance_id = $2::text::uuid, ` +
    "odoo_id = $3::text::int, odoo_write_date = $4::text::timestamptz, synced_at = now(), odoo_deleted_at = null " +
    `from jsonb_populate_record(null::${qualified(e)}, $1::text::jsonb) v where t.${ident(e.primary_key)} = $5::text::uuid`,
    [JSON.stringify(values), instanceId, odooId, odooWriteDate, localId])
}

// -- many2many links (links.py) ----------------------------------------------------------------
export type Link = LinkSpec

/** links.replace: the links of `sourcesOf` become exactly the pairs (sources[i], targets[i]). */
export async function replaceLinks(q: Q, rel: Link, tenantColumn: string | null, tenantValue: string,
  sourcesOf: string[], sources: string[], targets: string[]): Promise<number> {
  const table = qualified(rel)
  const src = ident(rel.source_column)
  const dst = ident(rel.target_column)
  const del = await q.unsafe(`delete from ${table} j where j.${src} = any($1::text::uuid[]) and (j.${src}, j.${dst}) not in ` +
    "(select * from unnest($2::text::uuid[], $3::text::uuid[]))",
    [pgArray(sourcesOf), pgArray(sources), pgArray(targets)] as never[]) as { count: number }
  const ins = tenantColumn
    ? await q.unsafe(`insert into ${table} (${ident(tenantColumn)}, ${src}, ${dst}) select $1::text::uuid, s, t ` +
      `from unnest($2::text::uuid[], $3::text::uuid[]) u(s, t) on conflict (${src}, ${dst}) do nothing`,
      [tenantValue, pgArray(sources), pgArray(targets)] as never[]) as { count: number }
    : await q.unsafe(`insert into ${table} (${src}, ${dst}) select s, t from unnest($1::text::uuid[], $2::text::uuid[]) ` +
      `u(s, t) on conflict (${src}, ${dst}) do nothing`, [pgArray(sources), pgArray(targets)] as never[]) as { count: number }
  return Number(del.count) + Number(ins.count)
}

// -- dead letters (deadletters.py) -------------------------------------------------------------
export const MERGED_SOURCES = ["pull", "webhook"]
export const ORPHAN_CLASS = "MissingParent"
export const PARENTS_KEY = "_missing_parents"

export interface OpenDeadLetter {
  id: number
  record_ref: string
  reason: string
  error_class: string | null
}

export async function openFor(q: Q, instanceId: string, odooModel: string, odooIds: Iterable<number>):
  Promise<Map<number, OpenDeadLetter>> {
  const ids = [...odooIds]
  if (!ids.length) return new Map()
  const r = await rows<OpenDeadLetter>(q, `select distinct on (record_ref) id::int8::float8 as id, record_ref, reason, error_class
    from odoo.dead_letters
    where instance_id = $1::text::uuid and odoo_model = $2::text and record_ref = any($3::text::text[]) and replayed_at is null
      and source = any($4::text::odoo.dead_letter_source[])
    order by record_ref, id desc`, [instanceId, odooModel, pgArray(ids.map(String)), pgArray(MERGED_SOURCES)])
  return new Map(r.map((x) => [Number(x.record_ref), { ...x, id: Number(x.id) }]))
}

export async function orphansOf(q: Q, instanceId: string, odooModel: string, odooIds: number[]): Promise<number[]> {
  if (!odooIds.length) return []
  const r = await rows<{ id: number }>(q, `select id::float8 as id from odoo.dead_letters d
    where instance_id = $1::text::uuid and error_class = $2::text and replayed_at is null
      and exists (select 1 from jsonb_array_elements(coalesce(d.payload -> ${literal(PARENTS_KEY)}, '[]')) p
                  where p ->> 'odoo_model' = $3::text and (p ->> 'odoo_id')::bigint = any($4::text::bigint[]))
    order by id`, [instanceId, ORPHAN_CLASS, odooModel, pgArray(odooIds)])
  return r.map((x) => Number(x.id))
}

/** deadletters.add. Returns [id, created]. */
export async function addDeadLetter(q: Q, d: {
  source: string; instanceId: string | null; entity: string | null; odooModel: string | null; recordRef: unknown
  payload: unknown; reason: string; errorClass: string | null; attempts: number; traceId: string
}): Promise<[number, boolean]> {
  const body = JSON.stringify(d.payload)
  const ref = d.recordRef === null || d.recordRef === undefined ? null : String(d.recordRef)
  const reason = [...d.reason].slice(0, 4000).join("")
  const errorClass = [...(d.errorClass ?? "")].slice(0, 200).join("") || null
  if (MERGED_SOURCES.includes(d.source) && ref !== null) {
    const r = await rows<{ id: number }>(q, `update odoo.dead_letters set attempts = attempts + 1, reason = $1::text,
        error_class = $2::text, payload = $3::text::jsonb
      where id = (select id from odoo.dead_letters
                  where source = $4::text::odoo.dead_letter_source and instance_id is not distinct from $5::text::uuid
                    and odoo_model is not distinct from $6::text and record_ref = $7::text and replayed_at is null
                  order by id desc limit 1 for update)
      returning id::float8 as id`, [reason, errorClass, body, d.source, d.instanceId, d.odooModel, ref])
    if (r.length) return [Number(r[0].id), false]
  }
  const r = await rows<{ id: number }>(q, `insert into odoo.dead_letters (source, instance_id, entity, odoo_model, record_ref,
      payload, reason, error_class, attempts, trace_id)
    values ($1::text::odoo.dead_letter_source, $2::text::uuid, $3::text, $4::text, $5::text, $6::text::jsonb, $7::text,
      $8::text, $9::text::int, $10::text) returning id::float8 as id`,
    [d.source, d.instanceId, d.entity, d.odooModel, ref, body, reason, errorClass, d.attempts, d.traceId])
  return [Number(r[0].id), true]
}

/** deadletters.replay for ids (what release_orphans needs): pull/webhook ones become events again,
 * with their orphans. Returns the events queued. */
export async function replayIds(q: Q, ids: number[], traceId: string): Promise<number> {
  interface Dl { id: number; source: string; instance_id: string | null; odoo_model: string | null; record_ref: string | null }
  const dlColumns = "id::float8 as id, source::text, instance_id::text, odoo_model, record_ref"
  const picked = await rows<Dl>(q, `select ${dlColumns} from odoo.dead_letters where id = any($1::text::bigint[]) ` +
    "and replayed_at is null order by id for update skip locked", [pgArray(ids)])
  const taken = new Set(picked.map((d) => Number(d.id)))
  for (const dl of [...picked]) {
    if (MERGED_SOURCES.includes(dl.source) && dl.odoo_model && /^\d+$/.test(dl.record_ref ?? "") && dl.instance_id) {
      const extra = (await orphansOf(q, dl.instance_id, dl.odoo_model, [Number(dl.record_ref)])).filter((i) => !taken.has(i))
      if (extra.length) {
        extra.forEach((i) => taken.add(i))
        picked.push(...await rows<Dl>(q, `select ${dlColumns} from odoo.dead_letters where id = any($1::text::bigint[]) ` +
          "order by id for update skip locked", [pgArray(extra)]))
      }
    }
  }
  let events = 0
  for (const dl of picked) {
    if (dl.source === "push" || !dl.instance_id || !dl.odoo_model || !/^\d+$/.test(dl.record_ref ?? "")) continue
    const event = { _model: dl.odoo_model, _id: Number(dl.record_ref), _replay_of: Number(dl.id) }
    const stamp = (Date.now() / 1000).toFixed(6)
    await rows(q, `insert into odoo.webhook_events (instance_id, idempotency_key, odoo_model, odoo_id, payload, trace_id)
      values ($1::text::uuid, $2::text, $3::text, $4::text::int, $5::text::jsonb, $6::text)
      on conflict (instance_id, idempotency_key) do nothing`,
      [dl.instance_id, `replay:${dl.id}:${stamp}`, dl.odoo_model, Number(dl.record_ref), JSON.stringify(event), traceId])
    await rows(q, "update odoo.dead_letters set replayed_at = now() where id = $1::text::bigint", [dl.id])
    events++
  }
  return events
}

// -- mappings and outbox (mappings.py, outbox.py) ----------------------------------------------

export async function mappingByOdooId(q: Q, instanceId: string, entity: string, odooId: number):
  Promise<{ synced_values: Record<string, unknown> | null } | null> {
  const r = await rows<{ synced_values: Record<string, unknown> | null }>(q, "select synced_values from odoo.entity_mappings " +
    "where instance_id = $1::text::uuid and entity = $2::text and odoo_id = $3::text::int", [instanceId, entity, odooId])
  return r[0] ?? null
}

export async function savePulled(q: Q, instanceId: string, e: Entity, localId: string, odooId: number,
  odooWriteDate: string | null, syncedHash: string, syncedValues: string): Promise<void> {
  await rows(q, `insert into odoo.entity_mappings (instance_id, entity, local_id, odoo_model, odoo_id, odoo_write_date,
      synced_hash, synced_values)
    values ($1::text::uuid, $2::text, $3::text::uuid, $4::text, $5::text::int, $6::text::timestamptz, $7::text, $8::text::jsonb)
    on conflict (instance_id, entity, odoo_id) do update set local_id = excluded.local_id,
      odoo_write_date = excluded.odoo_write_date, synced_hash = excluded.synced_hash,
      synced_values = excluded.synced_values || case when odoo.entity_mappings.synced_values ? ${literal(LINKS_KEY)}
        then jsonb_build_object(${literal(LINKS_KEY)}, odoo.entity_mappings.synced_values -> ${literal(LINKS_KEY)}) else '{}' end`,
    [instanceId, e.entity, localId, e.odoo_model, odooId, odooWriteDate, syncedHash, syncedValues])
}

export async function mergeLinks(q: Q, instanceId: string, entity: string, localIds: string[], links: string[]): Promise<void> {
  await rows(q, "update odoo.entity_mappings m set synced_values = coalesce(m.synced_values, '{}'::jsonb) || " +
    `jsonb_build_object(${literal(LINKS_KEY)}::text, coalesce(m.synced_values -> ${literal(LINKS_KEY)}, '{}'::jsonb) || u.links) ` +
    "from (select * from unnest($1::text::uuid[], $2::text::jsonb[]) u(local_id, links)) u " +
    "where m.instance_id = $3::text::uuid and m.entity = $4::text and m.local_id = u.local_id",
    [pgArray(localIds), pgArray(links), instanceId, entity])
}

export async function outboxWaiting(q: Q, instanceId: string, entity: string, localIds: string[]): Promise<Set<string>> {
  const r = await rows<{ local_id: string }>(q, "select distinct local_id::text from odoo.outbox where instance_id = $1::text::uuid " +
    "and entity = $2::text and local_id = any($3::text::uuid[]) and status in ('pending', 'processing')",
    [instanceId, entity, pgArray(localIds)])
  return new Set(r.map((x) => x.local_id))
}

export async function outboxHasOpen(q: Q, instanceId: string, entity: string, localId: string): Promise<boolean> {
  return (await rows(q, "select 1 from odoo.outbox where instance_id = $1::text::uuid and entity = $2::text and " +
    "local_id = $3::text::uuid and status in ('pending','processing')", [instanceId, entity, localId])).length > 0
}

export async function enqueueWrite(q: Q, e: Entity, instanceId: string, localId: string, traceId: string): Promise<void> {
  await rows(q, "insert into odoo.outbox (instance_id, entity, local_id, operation, payload, trace_id) " +
    `select $1::text::uuid, $2::text, ${ident(e.primary_key)}, 'write', to_jsonb(t), $3::text from ${qualified(e)} t ` +
    `where ${ident(e.primary_key)} = $4::text::uuid`, [instanceId, e.entity, traceId, localId])
}

// -- the webhook events queue (queue.py WEBHOOK_EVENTS) ----------------------------------------
export interface StoredEvent {
  id: number
  instance_id: string
  odoo_model: string
  odoo_id: number | null
  payload: Record<string, unknown>
  trace_id: string | null
  attempts: number
  recheck_at: string | null
  received_ms: number
}

export async function claimEvents(q: Q, limit: number, leaseS: number, instanceId: string | null): Promise<StoredEvent[]> {
  const r = await rows<StoredEvent>(q, `
with due as (select c.id from odoo.webhook_events c
              where c.status in ('pending', 'processing') and c.available_at <= now()
                and ($3::text::uuid is null or c.instance_id = $3::text::uuid)
              order by c.available_at, c.id limit $1::text::int for update skip locked),
     recheck as (select c.id from odoo.webhook_events c
                  where c.recheck_at <= now() and c.status = 'done'
                    and ($3::text::uuid is null or c.instance_id = $3::text::uuid)
                  order by c.recheck_at, c.id limit $1::text::int for update skip locked)
update odoo.webhook_events e set status = 'processing', attempts = e.attempts + 1,
       available_at = now() + make_interval(secs => $2::text::float8)
 where e.id in (select id from due union all select id from recheck)
returning e.id::float8 as id, e.instance_id::text, e.odoo_model, e.odoo_id, e.payload, e.trace_id, e.attempts,
          e.recheck_at::text, (extract(epoch from e.received_at) * 1000)::float8 as received_ms`,
    [limit, leaseS, instanceId])
  return r.map((x) => ({ ...x, id: Number(x.id), received_ms: Number(x.received_ms) }))
}

export async function eventsDone(q: Q, ids: number[], limitS: number): Promise<void> {
  await rows(q, `update odoo.webhook_events set status = 'done', processed_at = clock_timestamp(), last_error = null,
       recheck_at = case when clock_timestamp() < received_at + make_interval(secs => $2::text::float8)
                         then received_at + make_interval(secs => $2::text::float8) end
 where id = any($1::text::bigint[])`, [pgArray(ids), limitS])
}

export async function eventRetry(q: Q, id: number, error: string, delayS: number): Promise<void> {
  await rows(q, "update odoo.webhook_events set status='pending', last_error=$1::text, " +
    "available_at = now() + make_interval(secs => $2::text::float8) where id=$3::text::bigint",
    [[...error].slice(0, 4000).join(""), delayS, id])
}

export async function eventDead(q: Q, id: number, error: string): Promise<void> {
  await rows(q, "update odoo.webhook_events set status='dead', last_error=$1::text, processed_at=now() where id=$2::text::bigint",
    [[...error].slice(0, 4000).join(""), id])
}

// -- a pull continued across invocations (sync-from-odoo only; the Python worker ignores it) ------
/** Where the next invocation goes on with a pull stopped early (budget, records cap, or killed), kept in
 * the pull run's counts as "resume": the keyset position, and the stored cursor it belongs to. */
export interface Resume {
  write_date: string | null
  id: number
  drain: boolean
  cursor: [string | null, number]
}

export interface LatestPull {
  entity: string
  status: string | null
  counts: Record<string, unknown> | null
  finished_ms: number | null
}

/** The latest pull run of each entity of the instance (runs that only found the lock taken left out),
 * `exclude` (the caller's own run) left out too; entities never pulled come back with a null status. */
export async function latestPulls(q: Q, instanceId: string, entities: string[], exclude: string | null = null):
  Promise<Map<string, LatestPull>> {
  const r = await rows<LatestPull>(q, `select e.entity, r.status, r.counts, r.finished_ms
    from unnest($2::text::text[]) e(entity)
    left join lateral (select r.status::text as status, r.counts,
                              (extract(epoch from r.finished_at) * 1000)::float8 as finished_ms
                         from ops.runs r
                        where r.kind = 'pull' and r.instance_id = $1::text::uuid and r.entity = e.entity
                          and not coalesce(r.counts ? 'locked', false)
                          and ($3::text is null or r.id <> $3::text::uuid)
                        order by r.started_at desc, r.id desc limit 1) r on true`,
    [instanceId, pgArray(entities), exclude])
  return new Map(r.map((x) => [x.entity, { ...x, finished_ms: x.finished_ms === null ? null : Number(x.finished_ms) }]))
}

/** The run's resume position, written with the page it follows (so a killed invocation leaves it too). */
export async function saveResume(q: Q, runId: string, resume: Resume): Promise<void> {
  await rows(q, "update ops.runs set counts = coalesce(counts, '{}'::jsonb) || jsonb_build_object('resume', $2::text::jsonb) " +
    "where id = $1::text::uuid", [runId, JSON.stringify(resume)])
}
