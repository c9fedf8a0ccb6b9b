// The Odoo -> Supabase event: parsed as the Python receiver parses it (orjson), validated against the
// published event schema (SPEC.event_schema) with the same results and messages as the Python's
// fastjsonschema, and keyed for idempotency as bridge/sync/events.py keys it.
import { SPEC } from "./spec.ts"

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
export type Event = { [key: string]: Json }

/** One event parsed from a body: `floatId` says that `_id` was written as a float (`7.0`, `1e2`). */
export interface Parsed {
  value: Json
  floatId: boolean
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })
const MAX_DEPTH = 1024 // orjson's: 1024 nested arrays or objects parse, 1025 do not

function tooDeep(text: string): boolean {
  let depth = 0, inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) i++ // a backslash: skip the escaped character
      else if (c === 0x22) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_DEPTH) return true
    } else if (c === 0x5d || c === 0x7d) depth--
  }
  return false
}

/** The body as orjson reads it, or null where orjson refuses it: invalid UTF-8 (or a BOM), a lone
 * surrogate escape, a number too large for a double, more than 1024 levels of nesting. */
export function parseJson(body: Uint8Array): { text: string; parsed: Parsed } | null {
  let text: string
  try {
    text = utf8.decode(body)
  } catch {
    return null
  }
  if (tooDeep(text)) return null
  const floatIds = new WeakSet<object>()
  try {
    const value = JSON.parse(text, function (this: unknown, key: string, v: unknown, ctx?: { source?: string }) {
      if (!key.isWellFormed() || (typeof v === "string" && !v.isWellFormed())) throw new SyntaxError("surrogate")
      if (typeof v === "number") {
        if (!Number.isFinite(v)) throw new SyntaxError("infinity")
        if (key === "_id" && /[.eE]/.test(ctx?.source ?? "") && typeof this === "object" && this !== null) {
          floatIds.add(this)
        }
      }
      return v
    }) as Json
    const floatId = typeof value === "object" && value !== null && floatIds.has(value)
    return { text, parsed: { value, floatId } }
  } catch {
    return null
  }
}

// The JSON Schema keywords the event schema uses, checked as fastjsonschema's generated code checks them.
interface Schema {
  readonly type?: string
  readonly required?: readonly string[]
  readonly properties?: { readonly [name: string]: Schema }
  readonly pattern?: string
  readonly maxLength?: number
  readonly minLength?: number
  readonly minimum?: number
  readonly maximum?: number
  readonly oneOf?: readonly Schema[]
  readonly const?: Json
}

class Invalid extends Error {}

function isObject(v: Json): v is { [key: string]: Json } {
  return typeof v === "object" && v !== null && !Array.isArray(v)
}

function hasType(v: Json, type: string): boolean {
  switch (type) {
    case "object": return isObject(v)
    case "array": return Array.isArray(v)
    case "string": return typeof v === "string"
    case "integer": return typeof v === "number" && Number.isInteger(v) // Python: an int, or a float with is_integer()
    case "number": return typeof v === "number"
    case "boolean": return typeof v === "boolean"
    case "null": return v === null
    default: return true
  }
}

function sameJson(a: Json, b: Json): boolean {
  if (typeof a === "boolean" || typeof b === "boolean") return a === b // fastjsonschema: `is False`, not `== 0`
  return JSON.stringify(a) === JSON.stringify(b)
}

/** Python's `re` pattern for JavaScript: `\d` is any Unicode decimal digit there (a str pattern), and
 * fastjsonschema makes `$` the end of the string (`\Z`), which JavaScript's `$` is without the m flag. */
const patterns = new Map<string, RegExp>()
function pattern(source: string): RegExp {
  let re = patterns.get(source)
  if (re === undefined) {
    re = new RegExp(source.replace(/\\\\|\\d|\\D/g, (m) => m === "\\d" ? "\\p{Nd}" : m === "\\D" ? "\\P{Nd}" : m), "u")
    patterns.set(source, re)
  }
  return re
}

function codePoints(s: string): number {
  let n = 0
  for (const _ of s) n++
  return n
}

function pyList(names: string[]): string {
  return "[" + names.map((n) => `'${n}'`).join(", ") + "]"
}

function pyRepr(v: Json): string {
  if (typeof v === "boolean") return v ? "True" : "False"
  if (v === null) return "None"
  return typeof v === "string" ? `'${v}'` : JSON.stringify(v)
}

function oneOf(v: Json, options: readonly Schema[], name: string): void {
  let matches = 0
  for (const option of options) {
    if (matches >= 2) break
    try {
      check(v, option, name)
      matches++
    } catch (e) {
      if (!(e instanceof Invalid)) throw e
    }
  }
  if (matches !== 1) throw new Invalid(`${name} must be valid exactly by one definition (${matches} matches found)`)
}

/** The keywords in fastjsonschema's order (type, oneOf, lengths, pattern, bounds, required, properties,
 * const), so that the first failure, which is the message, is the same. */
function check(v: Json, s: Schema, name: string): void {
  if (s.type !== undefined && !hasType(v, s.type)) throw new Invalid(`${name} must be ${s.type}`)
  if (s.oneOf !== undefined) oneOf(v, s.oneOf, name)
  if (typeof v === "string") {
    const len = s.maxLength !== undefined || s.minLength !== undefined ? codePoints(v) : 0
    if (s.minLength !== undefined && len < s.minLength) {
      throw new Invalid(`${name} must be longer than or equal to ${s.minLength} characters`)
    }
    if (s.maxLength !== undefined && len > s.maxLength) {
      throw new Invalid(`${name} must be shorter than or equal to ${s.maxLength} characters`)
    }
    if (s.pattern !== undefined && !pattern(s.pattern).test(v)) throw new Invalid(`${name} must match pattern ${s.pattern}`)
  }
  if (typeof v === "number") {
    if (s.minimum !== undefined && v < s.minimum) throw new Invalid(`${name} must be bigger than or equal to ${s.minimum}`)
    if (s.maximum !== undefined && v > s.maximum) throw new Invalid(`${name} must be smaller than or equal to ${s.maximum}`)
  }
  if (isObject(v)) checkObject(v, s, name)
  if (s.const !== undefined && !sameJson(v, s.const)) {
    throw new Invalid(`${name} must be same as const definition: ${pyRepr(s.const)}`)
  }
}

function checkObject(v: { [key: string]: Json }, s: Schema, name: string): void {
  const missing = (s.required ?? []).filter((k) => !Object.hasOwn(v, k)).sort()
  if (missing.length) throw new Invalid(`${name} must contain ${pyList(missing)} properties`)
  const properties = s.properties ?? {}
  // the schema file's order, which fastjsonschema checks in (spec.ts sorts the keys)
  const order: readonly string[] = s === EVENT_SCHEMA ? SPEC.event_property_order : Object.keys(properties)
  for (const key of order) {
    if (Object.hasOwn(v, key)) check(v[key], properties[key], `${name}.${key}`)
  }
}

const EVENT_SCHEMA: Schema = SPEC.event_schema

/** null if the value is a valid event, else the reason, worded as the Python receiver words it. */
export function validate(value: Json): string | null {
  try {
    check(value, EVENT_SCHEMA, "data")
    return null
  } catch (e) {
    if (e instanceof Invalid) return e.message
    throw e
  }
}

async function sha256Hex(parts: Uint8Array[]): Promise<string> {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    all.set(p, at)
    at += p.length
  }
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", all)))
}

export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")
}

const encode = (s: string) => new TextEncoder().encode(s)

/** Same notification, same key (bridge/sync/events.py `idempotency_key`): with a write_date, a hash of
 * model, id, write_date and body; without, the delivery's signed timestamp and body, else a random key. */
export async function idempotencyKey(parsed: Parsed, body: Uint8Array, delivery: string | null): Promise<string> {
  const event = parsed.value as Event
  const writeDate = event.write_date
  if (!writeDate) {
    if (delivery === null) return "delivery:" + hex(crypto.getRandomValues(new Uint8Array(16)))
    return "delivery:" + await sha256Hex([encode(`${delivery}\0`), body])
  }
  // Python's str(): an id written as a float is "7.0"; the schema keeps it an integer below 2**31
  const id = parsed.floatId ? `${event._id}.0` : String(event._id)
  const parts = [String(event._model), id, String(writeDate)].flatMap((p) => [encode(p), encode("\0")])
  return "sha256:" + await sha256Hex([...parts, body])
}
