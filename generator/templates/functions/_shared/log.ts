// JSON-lines logs on stderr, the shape of bridge/observe/jsonlog.py: one object per line with ts, level,
// logger ("specgen.<name>"), msg, trace_id and the line's data, secrets redacted (keys that name a secret,
// `password=...`-like text, and every value registered as a secret, matched as a whole value).

const SECRET_KEYS = /pass(word)?|secret|token|api[_-]?key|authorization|cookie/i
// `Authorization: Bearer xyz` hides xyz, not the word Bearer
const SECRET_IN_TEXT =
  /(password|secret|token|api[_-]?key|authorization)(["']?\s*[:=]\s*["']?)((?:bearer|basic|token)\s+)?([^\s"',}&]+)/gi
const WORD = /^[\p{L}\p{N}_]/u
const WORD_END = /[\p{L}\p{N}_]$/u

const secrets = new Set<string>()
let secretPattern: RegExp | null = null

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
}

/** A value that must never appear in a log line or an error message (an Odoo password read from the env).
 * Matched only as a whole value: `admin` is not cut out of `administrator` (which would reveal it). */
export function registerSecret(value: string | null | undefined): void {
  if (!value || value.length < 3 || secrets.has(value)) return
  secrets.add(value)
  const parts = [...secrets].sort((a, b) => b.length - a.length).map((s) =>
    (WORD.test(s) ? "(?<![\\p{L}\\p{N}_])" : "") + escape(s) + (WORD_END.test(s) ? "(?![\\p{L}\\p{N}_])" : "")
  )
  secretPattern = new RegExp(parts.join("|"), "gu")
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

export function redactText(text: string): string {
  const out = text.replace(SECRET_IN_TEXT, (_m, key: string, sep: string, scheme: string | undefined) =>
    key + sep + (scheme ?? "") + "***")
  return secretPattern === null ? out : out.replace(secretPattern, "***")
}

/** jsonlog.redact: a copy of `value` with secrets hidden (keys naming a secret get "***"). */
export function redact(value: unknown): unknown {
  if (typeof value === "string") return redactText(value)
  if (Array.isArray(value)) return value.map(redact)
  if (value !== null && typeof value === "object" && !(value instanceof Date)) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEYS.test(k) ? "***" : redact(v)
    return out
  }
  return value
}

export type Level = "debug" | "info" | "warning" | "error"
const RANK: Record<Level, number> = { debug: 10, info: 20, warning: 30, error: 40 }

function threshold(): number {
  const wanted = (Deno.env.get("SPECGEN_LOG_LEVEL") ?? "info").toLowerCase()
  return RANK[wanted as Level] ?? RANK.info
}

/** Python's isoformat(timespec="milliseconds") of a UTC time: ...T12:00:00.123+00:00 */
export function isoNow(): string {
  return new Date().toISOString().replace("Z", "+00:00")
}

/** One JSON line on stderr (jsonlog.log): `logger` without the "specgen." prefix. */
export function log(logger: string, level: Level, msg: string, data: Record<string, unknown> = {}): void {
  if (RANK[level] < threshold()) return
  const line: Record<string, unknown> = {
    ts: isoNow(), level, logger: `specgen.${logger}`, msg, trace_id: data.trace_id ?? null,
  }
  for (const [k, v] of Object.entries(data)) if (!(k in line)) line[k] = v
  try {
    console.error(JSON.stringify(redact(line)))
  } catch {
    // a log line must never break the work it describes
  }
}
