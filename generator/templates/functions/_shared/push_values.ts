// The app -> Odoo direction of the values, as bridge/adapters.py (`to_odoo`, `comparable` of a row) and
// bridge/sync/htmltext.py (`to_html`, `values_to_html`): what the push sends to Odoo and what it stores as
// the values both sides last agreed (odoo.entity_mappings.synced_values / synced_hash, hashed by adapter.ts),
// every value as psycopg hands it to orjson (a uuid and a text as strings, a numeric as str(Decimal), a
// timestamptz as datetime.isoformat(), a date as YYYY-MM-DD). The Odoo -> app direction is convert.ts's.
import type { Json } from "./adapter.ts"
import type { Entity, FieldSpec } from "./convert.ts"
import { ident } from "./sqlnames.ts"
export type Row = Record<string, unknown>

export function columns(e: Entity): string[] {
  return e.fields.map((f) => f.column)
}

/** adapter.odoo_fields(): the mapped fields, the many2manys, then write_date. */
export function odooFields(e: Entity): string[] {
  const names = [...e.fields.map((f) => f.odoo_field), ...e.many2manys.map((r) => r.odoo_field)]
  return names.includes("write_date") ? names : [...names, "write_date"]
}

// -- rows as psycopg reads them --------------------------------------------------------------------------

// Columns whose JSON form differs from what postgres.js parses: they are also read as text, under this
// prefix (`rowSelect`), and turned into what psycopg + orjson make of them.
const TEXT_PREFIX = "_sg_text_"
const AS_TEXT = new Set(["numeric", "date", "timestamptz", "timestamp", "bigint"])

/** `select` list of a row: every column, plus the text of those postgres.js would parse differently. */
export function rowSelect(e: Entity, alias = "t"): string {
  const extra = e.fields.filter((f) => AS_TEXT.has(f.type) && !f.array)
    .map((f) => `, ${alias}.${ident(f.column)}::text as ${ident(TEXT_PREFIX + f.column)}`)
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

/** adapter.comparable of a row read with `rowSelect` (adapter.ts `comparable` is that of converted values). */
export function comparableRow(e: Entity, row: Row): Record<string, Json> {
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
