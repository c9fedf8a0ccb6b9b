// The app -> Odoo direction of the values, as bridge/adapters.py (`to_odoo`, `comparable`, `canonical_json`,
// `values_hash`) and bridge/sync/htmltext.py (`to_html`, `values_to_html`): what the push sends to Odoo and
// what it stores as the values both sides last agreed (odoo.entity_mappings.synced_values / synced_hash).
//
// The hash is compared with the Python pusher's and puller's, so canonical JSON is orjson's with
// OPT_SORT_KEYS, byte for byte: keys sorted at every depth, no whitespace, UTF-8 (no \u escapes but
// for control characters), and every value as psycopg hands it to orjson (a uuid and a text as strings,
// a numeric as str(Decimal), a timestamptz as datetime.isoformat(), a date as YYYY-MM-DD).
import type { Entity, FieldSpec } from "./convert.ts"
import { SPEC } from "./spec.ts"

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
export type Row = Record<string, unknown>

export const REF_PREFIX = "specgen:"
export const LINKS_KEY = "_links"

/** The spec's entities by name (the Python `adapters` dict). */
export function entities(): Map<string, Entity> {
  const out = new Map<string, Entity>()
  for (const e of SPEC.entities as unknown as Entity[]) out.set(e.entity, e)
  return out
}

export function qualifiedTable(e: { schema: string; table: string }): string {
  return `"${e.schema}"."${e.table}"`
}

export function pushes(e: Entity): boolean {
  return e.direction === "push" || e.direction === "both"
}

export function columns(e: Entity): string[] {
  return e.fields.map((f) => f.column)
}

/** adapter.odoo_fields(): the mapped fields, the many2manys, then write_date. */
export function odooFields(e: Entity): string[] {
  const names = [...e.fields.map((f) => f.odoo_field), ...e.many2manys.map((r) => r.odoo_field)]
  return names.includes("write_date") ? names : [...names, "write_date"]
}

/** adapter.external_ref_field(): the spec's odoo.external_ref unless it is a mapped field. */
export function externalRefField(e: Entity): string | null {
  const mapped = new Set(e.fields.map((f) => f.odoo_field))
  return e.external_ref && !mapped.has(e.external_ref) ? e.external_ref : null
}

// -- canonical JSON (orjson OPT_SORT_KEYS) ----------------------------------------------------------------

function jsonString(s: string): string {
  // JSON.stringify escapes what orjson escapes: " \ and U+0000..U+001F (\b \t \n \f \r short, others
  // \u00xx in lower case), and leaves the rest (U+2028, non-ASCII) as UTF-8
  return JSON.stringify(s)
}

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
  if (value === null || value === undefined) return "null"
  if (typeof value === "string") return jsonString(value)
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
    return "{" + keys.map((k) => jsonString(k) + ":" + canonicalJson(o[k])).join(",") + "}"
  }
  throw new TypeError(`not JSON: ${typeof value}`)
}

export async function valuesHash(values: unknown): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonicalJson(values)))
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("")
}

/** Deep equality of JSON values (Python's == on what orjson.loads gives). */
export function same(a: unknown, b: unknown): boolean {
  return canonicalJson(a ?? null) === canonicalJson(b ?? null)
}

// -- rows as psycopg reads them --------------------------------------------------------------------------

// Columns whose JSON form differs from what postgres.js parses: they are also read as text, under this
// prefix (`rowSelect`), and turned into what psycopg + orjson make of them.
const TEXT_PREFIX = "_sg_text_"
const AS_TEXT = new Set(["numeric", "date", "timestamptz", "timestamp", "bigint"])

/** `select` list of a row: every column, plus the text of those postgres.js would parse differently. */
export function rowSelect(e: Entity, alias = "t"): string {
  const extra = e.fields.filter((f) => AS_TEXT.has(f.type) && !f.array)
    .map((f) => `, ${alias}."${f.column}"::text as "${TEXT_PREFIX}${f.column}"`)
  return `${alias}.*${extra.join("")}`
}

/** PostgreSQL's text of a timestamptz ("2024-01-02 03:04:05.123456+00") as Python's isoformat() of the
 * datetime psycopg makes of it ("2024-01-02T03:04:05.123456+00:00"). */
function isoTimestamp(text: string): string {
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)([+-]\d{2})(?::(\d{2}))?(?::(\d{2}))?$/.exec(text)
  if (!m) return text
  const frac = m[2].includes(".") ? m[2].replace(/\.(\d+)$/, (_s, d: string) => "." + d.padEnd(6, "0")) : m[2]
  return `${m[1]}T${frac}${m[3]}:${m[4] ?? "00"}${m[5] ? ":" + m[5] : ""}`
}

/** One column's value as JSON the way adapter.comparable makes it (orjson of psycopg's value). */
function jsonValue(f: FieldSpec, row: Row): Json {
  const text = row[`${TEXT_PREFIX}${f.column}`]
  const v = row[f.column]
  if (v === null || v === undefined) return null
  if (typeof text === "string") {
    if (f.type === "timestamptz") return isoTimestamp(text)
    if (f.type === "timestamp") return text.replace(" ", "T")
    if (f.type === "bigint") return Number(text)
    return text // numeric: str(Decimal(text)) is the text; date: isoformat
  }
  if (v instanceof Date) return v.toISOString().replace("Z", "+00:00")
  return v as Json
}

/** adapter.comparable: JSON-safe copy of the mapped column values of a row read with `rowSelect`. */
export function comparable(e: Entity, row: Row): Record<string, Json> {
  const out: Record<string, Json> = {}
  for (const f of e.fields) out[f.column] = jsonValue(f, row)
  return out
}

// -- row -> Odoo -----------------------------------------------------------------------------------------

/** Python's strftime("%Y-%m-%d %H:%M:%S") of the value in UTC. */
function odooDatetime(value: Date): string {
  return value.toISOString().slice(0, 19).replace("T", " ")
}

function scalarToOdoo(f: FieldSpec, row: Row): unknown {
  const v = row[f.column]
  if (v === null || v === undefined) return false
  const text = row[`${TEXT_PREFIX}${f.column}`]
  if (f.type === "numeric") return Number(typeof text === "string" ? text : v) // float(Decimal)
  if (f.type === "date") return typeof text === "string" ? text : (v as Date).toISOString().slice(0, 10)
  if (v instanceof Date) return odooDatetime(v)
  if (f.type === "bigint") return Number(typeof text === "string" ? text : v)
  return v
}

export type Unresolve = (target: string, localId: string) => Promise<number | null>

/** adapter.to_odoo: Odoo values of a row (only `only` columns if given); many2ones through `unresolve`. */
export async function toOdoo(e: Entity, row: Row, unresolve: Unresolve | null, only?: Set<string>):
  Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {}
  for (const f of e.fields) {
    if (only !== undefined && !only.has(f.column)) continue
    const value = row[f.column]
    if (f.kind === "many2one") {
      const oid = value === null || value === undefined || unresolve === null ? null
        : await unresolve(f.target as string, String(value))
      out[f.odoo_field] = oid ?? false
    } else if (f.kind === "selection") {
      out[f.odoo_field] = value === null || value === undefined ? false : String(value)
    } else {
      out[f.odoo_field] = scalarToOdoo(f, row)
    }
  }
  return out
}

// -- html (bridge/sync/htmltext.py, the push's half) ----------------------------------------------------

/** html.escape(value, quote=False): & < > only. */
function escapeHtml(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
}

/** htmltext.to_html: the app's text as markup Odoo's sanitizer keeps (None, False and "" stay). */
export function toHtml(value: unknown): unknown {
  if (typeof value !== "string" || value === "") return value
  return "<p>" + escapeHtml(value).replaceAll("\xa0", "&nbsp;").replaceAll("\n", "<br>") + "</p>"
}

/** htmltext.values_to_html: the html fields' text as markup, in place. */
export function valuesToHtml(values: Record<string, unknown>, html: string[]): Record<string, unknown> {
  for (const f of html) if (f in values) values[f] = toHtml(values[f])
  return values
}

/** The (6, 0, ids) command of each many2many: Odoo 17's Command.SET. */
export function linkCommands(e: Entity, links: Record<string, number[]>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [name, ids] of Object.entries(links)) {
    const rel = e.many2manys.find((r) => r.relation === name)
    if (rel) out[rel.odoo_field] = [[6, 0, ids]]
  }
  return out
}
