// Odoo values -> column values, as bridge/adapters.py (EntityAdapter.from_odoo, _scalar_from_odoo),
// bridge/sync/htmltext.py (html fields as text) and bridge/sync/convert.py (one version per id, rows,
// refusals): the same rows the Python pull writes. Values are held as Python would print them: a numeric
// as the text of Decimal(str(value)), a date as YYYY-MM-DD, a timestamptz as Python's isoformat()
// (YYYY-MM-DDTHH:MM:SS+00:00), a uuid as text, jsonb as JSON.
import type { OdooRecord, Value } from "./odoo.ts"

/** One mapped column of an entity (spec.ts, functions.entity_data: the Python adapter's FieldMap). */
export interface FieldSpec {
  readonly column: string
  readonly odoo_field: string
  readonly kind: string // scalar | many2one | selection
  readonly target: string | null
  readonly type: string
  readonly nullable: boolean
  readonly array: boolean
}

/** What the Python pull validates of one column (functions.validation: the insert model's bounds). */
export interface CheckSpec {
  readonly column: string
  readonly kind: string // str | int | decimal | bool | date | timestamp | uuid | json | literal
  readonly nullable: boolean
  readonly array: boolean
  readonly literals?: readonly string[]
  readonly min_length?: number
  readonly max_length?: number
  readonly pattern?: string
  readonly pattern_js?: string
  readonly ge?: string
  readonly le?: string
  readonly max_digits?: number
  readonly decimal_places?: number
}

export interface LinkSpec {
  readonly relation: string
  readonly odoo_field: string
  readonly target: string
  readonly schema: string
  readonly table: string
  readonly source_column: string
  readonly target_column: string
}

/** One Odoo-mapped entity as spec.ts gives it (the Python adapter's facts). */
export interface Entity {
  readonly entity: string
  readonly odoo_model: string
  readonly schema: string
  readonly table: string
  readonly primary_key: string
  readonly owner: string
  readonly tenant_column: string | null
  readonly domain: readonly unknown[]
  readonly context: Readonly<Record<string, unknown>>
  readonly batch_size: number
  readonly direction: string
  readonly conflict: string | null
  readonly external_ref: string | null
  readonly fields: readonly FieldSpec[]
  readonly many2manys: readonly LinkSpec[]
  readonly validate: readonly CheckSpec[]
}
export type Cell = null | boolean | number | string | Value[] | { [key: string]: Value }
export type Row = Record<string, Cell>

export class ConversionError extends Error {
  constructor(readonly field: string, value: unknown, message: string) {
    super(`${field}: ${message} (value ${pyRepr(value)})`)
    this.name = "ConversionError"
  }
}

// -- Python's text of values -------------------------------------------------------------------
/** Python's repr() of a JSON value (what an error message quotes). */
export function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return "None"
  if (value === true) return "True"
  if (value === false) return "False"
  if (typeof value === "number") return pyFloatStr(value)
  if (typeof value === "string") {
    const quote = value.includes("'") && !value.includes('"') ? '"' : "'"
    let out = ""
    for (const ch of value) {
      const code = ch.codePointAt(0) as number
      if (ch === "\\") out += "\\\\"
      else if (ch === quote) out += "\\" + quote
      else if (ch === "\n") out += "\\n"
      else if (ch === "\r") out += "\\r"
      else if (ch === "\t") out += "\\t"
      else if (code < 0x20 || code === 0x7f) out += "\\x" + code.toString(16).padStart(2, "0")
      else out += ch
    }
    return quote + out + quote
  }
  if (Array.isArray(value)) return "[" + value.map(pyRepr).join(", ") + "]"
  if (typeof value === "object") {
    return "{" + Object.entries(value as Record<string, unknown>).map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`).join(", ") + "}"
  }
  return String(value)
}

/** Python's str() of a number as JSON decoding gives it. JSON.parse does not keep whether 5.0 had a
 * fraction, so an integral float prints as an int ("5" where Python prints "5.0"): the same numeric in
 * PostgreSQL, a different text only in a text column fed by a float field. */
export function pyFloatStr(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e16) return String(n)
  if (!Number.isFinite(n)) return Number.isNaN(n) ? "nan" : n > 0 ? "inf" : "-inf"
  // repr(float): the shortest round-trip digits (as JavaScript's), exponent form when exp < -4 or >= 16
  const [mant, expPart] = n.toExponential().split("e")
  const exp = Number(expPart)
  const digits = mant.replace("-", "").replace(".", "")
  const sign = n < 0 ? "-" : ""
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits
    return `${sign}${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`
  }
  if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`
  const whole = digits.slice(0, exp + 1).padEnd(exp + 1, "0")
  const frac = digits.slice(exp + 1)
  return `${sign}${whole}.${frac || "0"}`
}

/** str() of what Odoo sent, for a text column (Python's str of a JSON-decoded value). */
function pyStr(value: Value): string {
  if (typeof value === "string") return value
  if (typeof value === "number") return pyFloatStr(value)
  return pyRepr(value)
}

// -- datetimes ---------------------------------------------------------------------------------
const ISO_PREFIX = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})$/

/** parse_odoo_datetime: Odoo's 'YYYY-MM-DD HH:MM:SS' (naive UTC) -> epoch milliseconds, or null. */
export function parseOdooDatetime(value: Value | undefined): number | null {
  if (value === false || value === null || value === undefined) return null
  const text = pyStr(value)
  const head = [...text].slice(0, 19).join("")
  const m = ISO_PREFIX.exec(head)
  if (!m) throw new RangeError(`Invalid isoformat string: ${pyRepr(head)}`)
  if (text.length < 19 || text[10] !== " ") throw new RangeError(`not an Odoo datetime: ${pyRepr(text)}`)
  const ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])
  const d = new Date(ms)
  if (d.getUTCDate() !== +m[3] || d.getUTCMonth() !== +m[2] - 1 || +m[4] > 23 || +m[5] > 59 || +m[6] > 59) {
    throw new RangeError(`Invalid isoformat string: ${pyRepr(head)}`)
  }
  return ms
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0")
}

/** format_odoo_datetime: epoch milliseconds -> 'YYYY-MM-DD HH:MM:SS' (UTC). */
export function formatOdooDatetime(ms: number): string {
  const d = new Date(ms)
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
}

/** Python's datetime.isoformat() of an aware UTC datetime with whole seconds. */
export function isoformat(ms: number): string {
  return formatOdooDatetime(ms).replace(" ", "T") + "+00:00"
}

// -- html as text (htmltext.to_text) -----------------------------------------------------------
const BLOCK = new Set(["address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "fieldset", "figure",
  "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre",
  "section", "table", "tr", "ul"])
const DROP = new Set(["script", "style", "head", "title"])
const VOID = new Set(["br", "hr", "img", "wbr", "input", "meta", "link"])
const ENTITIES: Record<string, string> = {
  amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0", copy: "\u00a9", reg: "\u00ae",
  euro: "\u20ac", hellip: "\u2026", mdash: "\u2014", ndash: "\u2013", laquo: "\u00ab", raquo: "\u00bb",
  lsquo: "\u2018", rsquo: "\u2019", ldquo: "\u201c", rdquo: "\u201d", bull: "\u2022", middot: "\u00b7",
  deg: "\u00b0", times: "\u00d7", eacute: "\u00e9", egrave: "\u00e8", agrave: "\u00e0", ccedil: "\u00e7",
  uuml: "\u00fc", ouml: "\u00f6", auml: "\u00e4", szlig: "\u00df",
}

/** html.unescape for the character references Odoo's sanitizer writes (named ones of the table above,
 * decimal and hex ones). */
export function unescapeHtml(text: string): string {
  return text.replace(/&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[A-Za-z][A-Za-z0-9]*;?)/g, (whole, ref: string) => {
    if (ref.startsWith("#")) {
      const hex = ref[1] === "x" || ref[1] === "X"
      const code = parseInt(ref.slice(hex ? 2 : 1).replace(";", ""), hex ? 16 : 10)
      if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return "\ufffd"
      return String.fromCodePoint(code)
    }
    const name = ref.replace(";", "")
    return Object.hasOwn(ENTITIES, name) ? ENTITIES[name] : whole
  })
}

const TOKEN = /<!--[\s\S]*?(?:-->|$)|<![^>]*>?|<\?[^>]*>?|<\/([A-Za-z][^\s/>]*)[^>]*>|<([A-Za-z][^\s/>]*)((?:[^>"']|"[^"]*"|'[^']*')*)>/g

/** Odoo Html -> the app's text (false and null stay as they are): htmltext.to_text. */
export function htmlToText(value: Value): Value {
  if (typeof value !== "string" || !value) return value
  const out: string[] = []
  let depth = 0
  let dropping = 0
  let breakDue = false
  const boundary = () => {
    if (out.length) breakDue = true
  }
  const data = (raw: string) => {
    if (!raw) return
    const text = dropping ? raw : unescapeHtml(raw)
    if (dropping || (depth === 0 && !text.replace(/[ \t\n\r\f]/g, ""))) return
    if (breakDue) {
      out.push("\n")
      breakDue = false
    }
    out.push(text)
  }
  const start = (tag: string) => {
    if (DROP.has(tag)) dropping++
    else if (tag === "br") {
      breakDue = false
      out.push("\n")
    } else if (BLOCK.has(tag)) boundary()
    if (!VOID.has(tag)) depth++
  }
  const end = (tag: string) => {
    if (DROP.has(tag)) dropping = Math.max(0, dropping - 1)
    else if (BLOCK.has(tag)) boundary()
    if (!VOID.has(tag)) depth = Math.max(0, depth - 1)
  }
  let at = 0
  let pendingText = ""
  TOKEN.lastIndex = 0
  for (let m = TOKEN.exec(value); m !== null; m = TOKEN.exec(value)) {
    pendingText += value.slice(at, m.index)
    at = TOKEN.lastIndex
    if (m[1] === undefined && m[2] === undefined) continue // a comment, doctype or processing instruction
    data(pendingText)
    pendingText = ""
    if (m[1] !== undefined) {
      end(m[1].toLowerCase())
    } else {
      const tag = (m[2] as string).toLowerCase()
      start(tag)
      if (/\/\s*$/.test(m[3] ?? "")) end(tag) // <br/>: HTMLParser's handle_startendtag
    }
  }
  data(pendingText + value.slice(at))
  return out.join("")
}

// -- Odoo -> row (EntityAdapter.from_odoo) ------------------------------------------------------
export function m2oId(value: Value | undefined): number | null {
  if (value === false || value === null || value === undefined) return null
  if (Array.isArray(value)) return value.length ? Math.trunc(Number(value[0])) : null
  return Math.trunc(Number(value))
}

function truthy(value: Value | undefined): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === "") return false
  if (Array.isArray(value)) return value.length > 0
  if (typeof value === "object") return Object.keys(value).length > 0
  return true
}

/** Decimal(str(value)) as text: Python's str() of that Decimal. */
export function decimalText(value: Value): string {
  const text = pyStr(value).trim()
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text)) {
    throw new RangeError("[<class 'decimal.ConversionSyntax'>]")
  }
  return decimalStr(text)
}

/** Python's str(Decimal(text)) for a finite decimal literal. */
export function decimalStr(text: string): string {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text) as RegExpExecArray
  const sign = m[1] === "-" ? "-" : ""
  const intPart = m[2] ?? ""
  const frac = m[3] ?? ""
  let coeff = (intPart + frac).replace(/^0+/, "")
  const exp = Number(m[4] ?? "0") - frac.length
  if (coeff === "") coeff = "0"
  // Decimal.__str__: scientific when exp > 0 or the adjusted exponent < -6
  const adjusted = exp + coeff.length - 1
  if (exp <= 0 && adjusted >= -6) {
    if (exp === 0) return sign + coeff
    const point = coeff.length + exp
    return sign + (point > 0 ? `${coeff.slice(0, point)}.${coeff.slice(point)}` : `0.${"0".repeat(-point)}${coeff}`)
  }
  const mant = coeff.length > 1 ? `${coeff[0]}.${coeff.slice(1)}` : coeff
  return `${sign}${mant}E${adjusted >= 0 ? "+" : ""}${adjusted}`
}

function intOf(value: Value): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new RangeError("cannot convert float infinity to integer")
    return Math.trunc(value)
  }
  if (typeof value === "boolean") return value ? 1 : 0
  if (typeof value === "string" && /^\s*[+-]?\d+(_\d+)*\s*$/.test(value)) return Number(value.trim().replace(/_/g, ""))
  if (typeof value === "string") throw new RangeError(`invalid literal for int() with base 10: ${pyRepr(value)}`)
  throw new TypeError(`int() argument must be a string, a bytes-like object or a real number, not '${Array.isArray(value) ? "list" : "dict"}'`)
}

function dateOf(value: Value): string {
  const text = [...pyStr(value)].slice(0, 10).join("")
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text)
  const ok = m && new Date(Date.UTC(+m[1], +m[2] - 1, +m[3])).getUTCDate() === +m[3] && +m[2] >= 1 && +m[2] <= 12
  if (!ok) throw new RangeError(`Invalid isoformat string: ${pyRepr(text)}`)
  return text
}

function scalar(f: FieldSpec, value: Value): Cell {
  if (f.type === "boolean") return truthy(value)
  if (value === false || value === null) return null
  switch (f.type) {
    case "text": case "varchar": case "enum": case "uuid": return pyStr(value)
    case "smallint": case "integer": case "bigint": return intOf(value)
    case "numeric": return decimalText(value)
    case "date": return dateOf(value)
    case "timestamptz": return isoformat(parseOdooDatetime(value) as number)
    default: return value // jsonb and anything else: as is
  }
}

/** Column values of one Odoo record; `resolve(target, odoo id)` gives a local uuid (or null). */
export function fromOdoo(entity: Entity, record: OdooRecord, resolve: (target: string, oid: number) => string | null): Row {
  const out: Row = {}
  for (const f of entity.fields) {
    const value: Value = Object.hasOwn(record, f.odoo_field) ? record[f.odoo_field] : false
    try {
      if (f.kind === "many2one") {
        const oid = m2oId(value)
        out[f.column] = oid === null ? null : resolve(f.target as string, oid)
      } else if (f.kind === "selection" || f.type === "text" || f.type === "varchar" || f.type === "enum") {
        out[f.column] = value === false || value === null ? null : pyStr(value)
      } else if (f.type === "boolean") {
        out[f.column] = truthy(value)
      } else {
        out[f.column] = scalar(f, value)
      }
    } catch (e) {
      if (e instanceof RangeError || e instanceof TypeError) throw new ConversionError(f.odoo_field, value, e.message)
      throw e
    }
  }
  return out
}

/** convert.latest: one version per id, the latest write_date (a page never repeats an id, events can). */
export function latest(records: OdooRecord[]): Map<number, OdooRecord> {
  const byId = new Map<number, OdooRecord>()
  for (const rec of records) {
    const id = rec.id as number
    const prev = byId.get(id)
    if (prev === undefined || String(rec.write_date || "") >= String(prev.write_date || "")) byId.set(id, rec)
  }
  return byId
}

/** A copy of the record with its html fields as text (htmltext.record_to_text). */
export function recordToText(record: OdooRecord, html: string[]): OdooRecord {
  if (!html.length) return record
  const out = { ...record }
  for (const f of html) if (Object.hasOwn(record, f)) out[f] = htmlToText(record[f])
  return out
}

/** Odoo fields of the entity mapped to text columns whose Odoo type is html (htmltext.html_fields). */
export function htmlFields(entity: Entity, types: Record<string, string | null>): string[] {
  return entity.fields.filter((f) => f.kind === "scalar" && (f.type === "text" || f.type === "varchar") &&
    types[f.odoo_field] === "html").map((f) => f.odoo_field)
}

// -- validation (EntityAdapter.validate: pydantic's messages) ------------------------------------
type Check = CheckSpec

const patterns = new Map<string, RegExp>()

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`
}

/** Digits and decimal places of a Decimal as pydantic counts them (after normalize()). */
function decimalShape(text: string): [number, number] {
  const m = /^[+-]?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text) as RegExpExecArray
  let coeff = ((m[1] ?? "") + (m[2] ?? "")).replace(/^0+/, "")
  let exp = Number(m[3] ?? "0") - (m[2] ?? "").length
  if (coeff === "") return [1, 0]
  while (coeff.endsWith("0")) {
    coeff = coeff.slice(0, -1)
    exp++
  }
  if (exp >= 0) return [coeff.length + exp, 0]
  return [Math.max(coeff.length, -exp), -exp]
}

function compareDecimal(a: string, b: string): number {
  const x = Number(a)
  const y = Number(b)
  return x < y ? -1 : x > y ? 1 : 0
}

function literalMessage(literals: readonly string[]): string {
  const quoted = literals.map((l) => pyRepr(l))
  return "Input should be " + (quoted.length > 1 ? `${quoted.slice(0, -1).join(", ")} or ${quoted[quoted.length - 1]}` : quoted[0])
}

function checkOne(c: Check, value: Cell | undefined): string | null {
  if (value === undefined) return null // not in the row: unset, as pydantic leaves a defaulted field
  if (value === null) {
    if (c.nullable) return null
    switch (c.kind) {
      case "str": return "Input should be a valid string"
      case "int": return "Input should be a valid integer"
      case "bool": return "Input should be a valid boolean"
      case "decimal": return "Decimal input should be an integer, float, string or Decimal object"
      case "date": return "Input should be a valid date"
      case "timestamp": return "Input should be a valid datetime"
      case "uuid": return "UUID input should be a string, bytes or UUID object"
      case "literal": return literalMessage(c.literals ?? [])
      default: return null
    }
  }
  if (c.kind === "literal") return (c.literals ?? []).includes(String(value)) ? null : literalMessage(c.literals ?? [])
  if (c.kind === "str" && typeof value === "string") {
    const n = [...value].length
    if (c.min_length !== undefined && n < c.min_length) return `String should have at least ${plural(c.min_length, "character")}`
    if (c.max_length !== undefined && n > c.max_length) return `String should have at most ${plural(c.max_length, "character")}`
    if (c.pattern_js !== undefined) {
      let re = patterns.get(c.pattern_js)
      if (re === undefined) patterns.set(c.pattern_js, re = new RegExp(c.pattern_js, "u"))
      if (!re.test(value)) return `String should match pattern ${pyRepr(c.pattern)}`
    }
  }
  if (c.kind === "int" || c.kind === "decimal") {
    const text = String(value)
    if (c.kind === "decimal" && c.max_digits !== undefined) {
      const [digits, decimals] = decimalShape(text)
      if (digits > c.max_digits) return `Decimal input should have no more than ${plural(c.max_digits, "digit")} in total`
      if (c.decimal_places !== undefined && decimals > c.decimal_places) {
        return `Decimal input should have no more than ${plural(c.decimal_places, "decimal place")}`
      }
      if (c.decimal_places !== undefined && digits - decimals > c.max_digits - c.decimal_places) {
        return `Decimal input should have no more than ${plural(c.max_digits - c.decimal_places, "digit")} before the decimal point`
      }
    }
    if (c.ge !== undefined && compareDecimal(text, c.ge) < 0) return `Input should be greater than or equal to ${c.ge}`
    if (c.le !== undefined && compareDecimal(text, c.le) > 0) return `Input should be less than or equal to ${c.le}`
  }
  return null
}

/** One message (or null) per row, as EntityAdapter.validate: "column: message", several joined by "; ". */
export function validate(entity: Entity, rows: Row[]): (string | null)[] {
  return rows.map((row) => {
    const problems: string[] = []
    for (const c of entity.validate as readonly Check[]) {
      const msg = checkOne(c, row[c.column])
      if (msg) problems.push(`${c.column}: ${msg}`)
    }
    return problems.length ? problems.join("; ") : null
  })
}
