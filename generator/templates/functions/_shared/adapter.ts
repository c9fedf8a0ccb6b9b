// What an entity knows and how its values are compared, for the pull and the push alike: bridge/adapters.py
// (EntityAdapter's derived facts, `canonical_json`, `values_hash`, `comparable`) and writer.tenant_problem.
//
// The hash is compared with the Python pusher's and puller's, so canonical JSON is orjson's with
// OPT_SORT_KEYS, byte for byte: keys sorted at every depth (by code point, as Python sorts str), no
// whitespace, UTF-8 (no \u escapes but for control characters).
import type { Entity } from "./convert.ts"
import { SPEC } from "./spec.ts"
import { qualified } from "./sqlnames.ts"
import { sha256Hex } from "./auth.ts"

export { qualified } // adapter.qualified_table, built on sqlnames.ident

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

export const REF_PREFIX = "specgen:"
export const LINKS_KEY = "_links"

/** The spec's entities by name (the Python `adapters` dict). */
export const ENTITIES: Map<string, Entity> = new Map((SPEC.entities as unknown as readonly Entity[]).map((e) => [e.entity, e]))

export const pulls = (e: Entity) => e.direction === "pull" || e.direction === "both"
export const pushes = (e: Entity) => e.direction === "push" || e.direction === "both"

/** adapter.external_ref_field(): the spec's odoo.external_ref unless it is a mapped field. */
export function externalRefField(e: Entity): string | null {
  const mapped = new Set(e.fields.map((f) => f.odoo_field))
  return e.external_ref && !mapped.has(e.external_ref) ? e.external_ref : null
}

/** writer.tenant_problem: why a row must not be written through this instance, or null. */
export function tenantProblem(e: Entity, local: Record<string, unknown>, inst: { id: string; org_id: string }):
  string | null {
  const tenant = e.tenant_column
  if (tenant && Object.hasOwn(local, tenant) && String(local[tenant]) !== String(inst.org_id)) {
    return "belongs to another org"
  }
  if (local.instance_id !== null && local.instance_id !== undefined && String(local.instance_id) !== String(inst.id)) {
    return "is linked to another instance"
  }
  return null
}

// -- canonical JSON (orjson OPT_SORT_KEYS) --------------------------------------------------------------

/** Python's sort of str keys: by code point (JavaScript's default sort is by UTF-16 unit). */
function byCodePoint(a: string, b: string): number {
  const x = [...a], y = [...b]
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0)! - y[i].codePointAt(0)!
    if (d !== 0) return d
  }
  return x.length - y.length
}

export function canonicalJson(value: unknown): string {
  // JSON.stringify of a string escapes what orjson escapes: " \ and U+0000..U+001F (\b \t \n \f \r short,
  // others \u00xx in lower case), and leaves the rest (U+2028, non-ASCII) as UTF-8
  if (value === null || value === undefined) return "null"
  if (typeof value === "string") return JSON.stringify(value)
  if (typeof value === "boolean") return value ? "true" : "false"
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError(`not JSON: ${value}`)
    return JSON.stringify(value)
  }
  if (typeof value === "bigint") return value.toString()
  if (Array.isArray(value)) return "[" + value.map(canonicalJson).join(",") + "]"
  if (typeof value === "object") {
    const o = value as Record<string, unknown>
    const keys = Object.keys(o).sort(byCodePoint)
    return "{" + keys.map((k) => JSON.stringify(k) + ":" + canonicalJson(o[k])).join(",") + "}"
  }
  throw new TypeError(`not JSON: ${typeof value}`)
}

export { sha256Hex } // the SHA-256 of the text's UTF-8, in lower-case hex (auth.ts, the receiver's)

/** values_hash: the SHA-256 of the canonical JSON. */
export async function valuesHash(values: unknown): Promise<string> {
  return await sha256Hex(canonicalJson(values))
}

/** Deep equality of JSON values (Python's == on what orjson.loads gives). */
export function same(a: unknown, b: unknown): boolean {
  return canonicalJson(a ?? null) === canonicalJson(b ?? null)
}

/** EntityAdapter.comparable of converted values (convert.fromOdoo's): the mapped columns', JSON-safe. A row
 * read from the database is made comparable by push_values.comparableRow. */
export function comparable<T = unknown>(e: Entity, values: Record<string, unknown>): Record<string, T> {
  return JSON.parse(canonicalJson(Object.fromEntries(e.fields.map((f) => [f.column, values[f.column] ?? null]))))
}
