// The push's SQL, statement for statement the Python pusher's: the outbox as a work queue
// (bridge/store/queue.py OUTBOX: claim with FOR UPDATE SKIP LOCKED under a lease, done, retry with
// backoff, dead), its dead letters (bridge/store/deadletters.py `add`, source 'push'), the mappings
// (bridge/store/mappings.py), the rows' link to Odoo (bridge/store/mirrors.py) and the many2many join rows
// (bridge/store/links.py). Every parameter is sent as text and cast by PostgreSQL, as psycopg's are.
// Nothing here commits: the caller's transaction (postgres.js `begin`) does.
import type { Sql } from "./db.ts"
import { canonicalJson, qualified } from "./adapter.ts"
import { ident } from "./sqlnames.ts"
import type { Entity, LinkSpec } from "./convert.ts"
import { type Row, rowSelect } from "./push_values.ts"
// the same statements as the pull's: db.request_limit, db.as_sync, mirrors.local_ids
export { asSync, DEFAULT_REQUEST_LIMIT, localIds, requestLimit } from "./pull_store.ts"

export type Q = Sql // a pool or a transaction (postgres.js TransactionSql is a Sql)

export interface OutboxRow {
  id: string // bigint, as postgres.js reads it
  instance_id: string
  entity: string
  local_id: string
  operation: "create" | "write" | "unlink"
  payload: unknown
  status: string
  attempts: number
  available_at: Date
  claimed_by: string | null
  claimed_at: Date | null
  last_error: string | null
  trace_id: string
}

async function q<T = Row>(sql: Q, text: string, params: unknown[]): Promise<T[]> {
  return await sql.unsafe(text, params as never[]) as unknown as T[]
}

/** Python's s[:n] (code points, not UTF-16 units). */
export function cut(s: string, n: number): string {
  const cps = [...s]
  return cps.length <= n ? s : cps.slice(0, n).join("")
}

// -- the outbox as a queue (queue.py OUTBOX) --------------------------------------------------------------

// The claim, oldest first and only the oldest open row of a record (a record's changes reach Odoo in
// order); a row left 'processing' longer than the lease (a killed worker) is claimed again. Ordered by id
// afterwards: RETURNING's order is not the claim's. One addition to Python's: rows this invocation has
// already tried ($5) are left for the next one (with a short backoff, a failing row would otherwise use
// up its attempts within one invocation).
const CLAIM = `
with claimed as (
update odoo.outbox o set status = 'processing', claimed_by = $1::text, claimed_at = now(), attempts = o.attempts + 1
 where o.id in (
   select c.id from odoo.outbox c
    where ((c.status = 'pending' and c.available_at <= now())
           or (c.status = 'processing' and c.claimed_at < now() - make_interval(secs => $2::text::float8)))
      and ($4::text::uuid is null or c.instance_id = $4::text::uuid)
      and not (c.id = any(coalesce(string_to_array(nullif($5::text, ''), ','), '{}')::bigint[]))
      and not exists (select 1 from odoo.outbox p
                       where p.instance_id = c.instance_id and p.entity = c.entity and p.local_id = c.local_id
                         and p.id < c.id and p.status in ('pending', 'processing'))
    order by c.id limit $3::text::int
    for update skip locked)
returning o.*)
select id::text as id, instance_id::text as instance_id, entity, local_id::text as local_id,
       operation::text as operation, payload, status::text as status, attempts, available_at, claimed_by,
       claimed_at, last_error, trace_id
  from claimed order by id::bigint`

export async function claim(sql: Q, worker: string, leaseS: number, limit: number, instanceId: string | null,
  tried: Iterable<string> = []): Promise<OutboxRow[]> {
  return await q<OutboxRow>(sql, CLAIM, [worker, String(leaseS), String(limit), instanceId, [...tried].join(",")])
}

export async function done(sql: Q, ids: string[]): Promise<void> {
  await q(sql, "update odoo.outbox set status='done', claimed_by=null, last_error=null " +
    "where id = any(string_to_array($1::text, ',')::bigint[])", [ids.join(",")])
}

/** Claimed rows this invocation will not get to (its time is up): back as they were before the claim,
 * an attempt not made is not counted. Only rows still ours. */
export async function release(sql: Q, ids: string[], worker: string): Promise<number> {
  if (!ids.length) return 0
  const rows = await q(sql, "update odoo.outbox set status='pending', claimed_by=null, claimed_at=null, " +
    "attempts = greatest(attempts - 1, 0) where id = any(string_to_array($1::text, ',')::bigint[]) " +
    "and status = 'processing' and claimed_by = $2::text returning id", [ids.join(","), worker])
  return rows.length
}

/** bridge/backoff.py: exponential backoff with full jitter, uniform(0, min(cap, base * 2**attempt)). */
export function backoff(attempt: number, base = 1.0, cap = 300.0): number {
  return Math.random() * Math.min(cap, base * 2 ** attempt)
}

/** WorkQueue.retry: back to the queue after the backoff (at least `atLeast` s). Returns the delay. */
export async function retry(sql: Q, row: OutboxRow, error: string, retryBase: number, atLeast = 0): Promise<number> {
  const delay = Math.max(backoff(row.attempts, retryBase), atLeast)
  await q(sql, "update odoo.outbox set status='pending', claimed_by=null, last_error=$1::text, " +
    "available_at = now() + make_interval(secs => $2::text::float8) where id=$3::text::bigint",
  [cut(error, 4000), String(delay), row.id])
  return delay
}

/** WorkQueue.gives_up */
export function givesUp(row: OutboxRow, permanent: boolean, maxAttempts: number): boolean {
  return permanent || row.attempts >= maxAttempts
}

/** WorkQueue.bury for the outbox: a dead letter of its own (pushes are never merged), the row dead. */
export async function bury(sql: Q, row: OutboxRow, reason: string, d: {
  entity: string | null
  odooModel: string | null
  errorClass: string | null
  traceId: string
}): Promise<void> {
  const payload = { outbox_id: Number(row.id), local_id: row.local_id, operation: row.operation, row: row.payload }
  const errorClass = d.errorClass ? cut(d.errorClass, 200) : ""
  await q(sql, `insert into odoo.dead_letters (source, instance_id, entity, odoo_model, record_ref, payload, reason,
                                          error_class, attempts, trace_id)
     values ('push', $1::text::uuid, $2::text, $3::text, $4::text, $5::text::jsonb, $6::text, $7::text,
             $8::text::int, $9::text)`,
  [row.instance_id, d.entity, d.odooModel, row.local_id, canonicalJson(payload), cut(reason, 4000),
    errorClass || null, String(row.attempts), d.traceId])
  await q(sql, "update odoo.outbox set status='dead', last_error=$1::text, claimed_by=null where id=$2::text::bigint",
    [cut(reason, 4000), row.id])
}

// -- instances, echo suppression (db.py) ------------------------------------------------------------------

export interface Instance extends Row {
  id: string
  org_id: string
  name: string
  request_limit_seconds: number | null
}

const INSTANCE_COLUMNS = "i.*, i.id::text as id, i.org_id::text as org_id"

export async function instance(sql: Q, id: string): Promise<Instance | null> {
  return (await q<Instance>(sql, `select ${INSTANCE_COLUMNS} from odoo.instances i where i.id = $1::text::uuid`,
    [id]))[0] ?? null
}

/** db.instances: the active ones (or the one named/identified by `only`), oldest first. */
export async function activeInstances(sql: Q, only: string | null): Promise<Instance[]> {
  return await q<Instance>(sql, `select ${INSTANCE_COLUMNS} from odoo.instances i where i.active ` +
    "and ($1::text is null or i.id::text = $1::text or i.name = $1::text) order by i.created_at, i.id", [only])
}


// -- rows (mirrors.py) ------------------------------------------------------------------------------------

export async function localRow(sql: Q, e: Entity, localId: string): Promise<Row | null> {
  return (await q(sql, `select ${rowSelect(e)}, t.${ident(e.primary_key)}::text as ${ident(e.primary_key)} ` +
    `from ${qualified(e)} t where t.${ident(e.primary_key)} = $1::text::uuid`, [localId]))[0] ?? null
}

/** mirrors.odoo_id_of */
export async function odooIdOf(sql: Q, e: Entity, localId: string, instanceId: string): Promise<number | null> {
  const r = await q<{ odoo_id: number | null }>(sql, `select odoo_id from ${qualified(e)} ` +
    `where ${ident(e.primary_key)} = $1::text::uuid and instance_id = $2::text::uuid`, [localId, instanceId])
  return r[0]?.odoo_id ?? null
}


/** mirrors.link: a pushed row linked to its Odoo record, with the fields Odoo won. The values are
 * given as JSON (comparable form) and set through jsonb_populate_record, so each column gets its type. */
export async function link(sql: Q, e: Entity, localId: string, values: Record<string, unknown>, instanceId: string,
  odooId: number): Promise<void> {
  const cols = Object.keys(values)
  const sets = [...cols.map((c) => `${ident(c)} = v.${ident(c)}`), "instance_id = $3::text::uuid", "odoo_id = $4::text::int",
    "synced_at = now()"]
  await q(sql, `update ${qualified(e)} t set ${sets.join(", ")} ` +
    `from (select * from jsonb_populate_record(null::${qualified(e)}, $1::text::jsonb)) v ` +
    `where t.${ident(e.primary_key)} = $2::text::uuid`, [canonicalJson(values), localId, instanceId, String(odooId)])
}

/** mirrors.tombstone_row: edited in the app, deleted in Odoo. */
export async function tombstoneRow(sql: Q, e: Entity, localId: string): Promise<void> {
  await q(sql, `update ${qualified(e)} set odoo_deleted_at = now() ` +
    `where ${ident(e.primary_key)} = $1::text::uuid and odoo_deleted_at is null`, [localId])
}

// -- mappings (mappings.py) -------------------------------------------------------------------------------

export interface Mapping extends Row {
  odoo_id: number
  synced_values: Record<string, unknown> | null
}

export async function mappingByLocalId(sql: Q, instanceId: string, entity: string, localId: string):
  Promise<Mapping | null> {
  return (await q<Mapping>(sql, "select * from odoo.entity_mappings where instance_id=$1::text::uuid " +
    "and entity=$2::text and local_id=$3::text::uuid", [instanceId, entity, localId]))[0] ?? null
}

export async function savePushed(sql: Q, instanceId: string, e: Entity, localId: string, odooId: number,
  syncedHash: string, syncedValues: string): Promise<void> {
  await q(sql, `insert into odoo.entity_mappings (instance_id, entity, local_id, odoo_model, odoo_id, synced_hash, synced_values)
           values ($1::text::uuid, $2::text, $3::text::uuid, $4::text, $5::text::int, $6::text, $7::text::jsonb)
           on conflict (instance_id, entity, local_id) do update set odoo_id = excluded.odoo_id,
             synced_hash = excluded.synced_hash, synced_values = excluded.synced_values`,
  [instanceId, e.entity, localId, e.odoo_model, String(odooId), syncedHash, syncedValues])
}

export async function deleteMapping(sql: Q, instanceId: string, entity: string, localId: string): Promise<void> {
  await q(sql, "delete from odoo.entity_mappings where instance_id=$1::text::uuid and entity=$2::text " +
    "and local_id=$3::text::uuid", [instanceId, entity, localId])
}

// -- many2many join rows (links.py) -----------------------------------------------------------------------

/** links.targets_of: (local id, Odoo id or null) of every record one row links through `rel`. */
export async function targetsOf(sql: Q, rel: LinkSpec, target: Entity, instanceId: string, localId: string):
  Promise<{ local_id: string; odoo_id: number | null }[]> {
  return await q(sql, `select j.${ident(rel.target_column)}::text as local_id, t.odoo_id from ${qualified(rel)} j ` +
    `left join ${qualified(target)} t on t.${ident(target.primary_key)} = j.${ident(rel.target_column)} ` +
    `and t.instance_id = $1::text::uuid where j.${ident(rel.source_column)} = $2::text::uuid`, [instanceId, localId])
}

/** links.set_for: one row's links through `rel` made exactly `targetIds`. */
export async function setLinks(sql: Q, rel: LinkSpec, tenantColumn: string | null, tenantValue: string | null,
  sourceId: string, targetIds: string[]): Promise<void> {
  const table = qualified(rel), src = ident(rel.source_column), dst = ident(rel.target_column)
  await q(sql, `delete from ${table} where ${src} = $1::text::uuid and not (${dst} = any(` +
    "coalesce(string_to_array(nullif($2::text, ''), ','), '{}')::uuid[]))", [sourceId, targetIds.join(",")])
  for (const targetId of targetIds) {
    if (tenantColumn) {
      await q(sql, `insert into ${table} (${ident(tenantColumn)}, ${src}, ${dst}) values ($1::text::uuid, $2::text::uuid, ` +
        `$3::text::uuid) on conflict (${src}, ${dst}) do nothing`, [tenantValue, sourceId, targetId])
    } else {
      await q(sql, `insert into ${table} (${src}, ${dst}) values ($1::text::uuid, $2::text::uuid) ` +
        `on conflict (${src}, ${dst}) do nothing`, [sourceId, targetId])
    }
  }
}
