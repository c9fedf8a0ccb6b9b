// The receiver's database side (bridge/store/inbox.py and bridge/http/receiver/instances.py): the instance
// lookup behind a short cache, the insert into odoo.webhook_events and the health probe.
import { db } from "./db.ts"
import type { Instance } from "./auth.ts"

// Instance rows are cached this long: a revoked token or a deactivated instance stops working within it.
export const CACHE_TTL_MS = 500
export const CACHE_MAX = 10_000 // random ids from strangers must not grow the cache without bound

const INSTANCE_SQL = "select id::text, org_id::text, webhook_token_hash, webhook_hmac_secret_ref, active " +
  "from odoo.instances where id = $1::text::uuid"

// inbox.py's INSERT_SQL for one event: the same columns, values and ON CONFLICT. Every parameter is
// sent as text and cast by PostgreSQL, as psycopg's are: postgres.js would serialize a string bound to a
// jsonb parameter as a JSON string (the body quoted), not as the body.
const INSERT_SQL = `
insert into odoo.webhook_events (instance_id, idempotency_key, odoo_model, odoo_id, payload, trace_id)
values ($1::text::uuid, $2::text, $3::text, $4::text::int, $5::text::jsonb, $6::text)
on conflict (instance_id, idempotency_key) do nothing
returning id`

/** What went wrong storing or reading: "lost" (the connection, retry on a new one), "down" (the
 * database does not answer), "data" (PostgreSQL refused the value: the sender's fault), "other". */
export type Failure = "lost" | "down" | "data" | "other"

const LOST = new Set(["CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED", "ECONNRESET", "EPIPE",
  "57P01", "57P02", "57P03"])

export function failure(e: unknown): Failure {
  const err = e as { name?: string; code?: unknown }
  const code = typeof err?.code === "string" ? err.code : ""
  if (LOST.has(code)) return "lost"
  if (err?.name !== "PostgresError") return "down" // a socket, DNS or timeout error (psycopg: OperationalError/OSError)
  if (code.startsWith("22")) return "data" // data exception (psycopg.DataError)
  if (/^(08|53|57|58)/.test(code)) return "down"
  return "other"
}

/** One statement; a lost connection (the server restarted while it sat idle) is replaced and the
 * statement tried once more, as inbox.Pool does. Safe here: a SELECT and an INSERT ... DO NOTHING. */
async function run<T>(sql: string, params: unknown[]): Promise<T[]> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await db().unsafe(sql, params as never[]) as unknown as T[]
    } catch (e) {
      if (attempt > 0 || failure(e) !== "lost") throw e
    }
  }
}

const cache = new Map<string, { expiry: number; row: Instance | null }>()

/** The instance's webhook credentials and whether it is active (null: no such instance), from the cache
 * while its entry is fresh. */
export async function findInstance(id: string): Promise<Instance | null> {
  const hit = cache.get(id)
  if (hit && hit.expiry > performance.now()) return hit.row
  const rows = await run<Instance>(INSTANCE_SQL, [id])
  const now = performance.now()
  if (cache.size >= CACHE_MAX) {
    for (const [k, v] of cache) if (v.expiry <= now) cache.delete(k)
    if (cache.size >= CACHE_MAX) cache.clear()
  }
  const row = rows[0] ?? null
  cache.set(id, { expiry: now + CACHE_TTL_MS, row })
  return row
}

export interface Stored {
  instanceId: string
  key: string
  model: string
  odooId: number
  payload: string
  traceId: string
}

/** The stored event's id once committed, or null for a duplicate key. */
export async function insertEvent(e: Stored): Promise<number | null> {
  const rows = await run<{ id: string | number }>(INSERT_SQL,
    [e.instanceId, e.key, e.model, String(e.odooId), e.payload, e.traceId])
  return rows.length ? Number(rows[0].id) : null
}

/** Throws when the database does not answer. */
export async function ping(): Promise<void> {
  await run("select 1", [])
}
