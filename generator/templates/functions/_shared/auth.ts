// Who may deliver to an instance (bridge/http/receiver/auth.py): the holder of its URL token, or a
// signing proxy with its HMAC key, read by name from the environment.
import { hex } from "./events.ts"

export const HMAC_ENV = "SPECGEN_WEBHOOK_HMAC_SECRET"
export const WINDOW_S = 300

export interface Instance {
  id: string
  org_id: string
  webhook_token_hash: string | null
  webhook_hmac_secret_ref: string | null
  active: boolean
}

const encoder = new TextEncoder()

/** Equal strings, compared in time that depends only on their lengths (hmac.compare_digest). */
export function sameSecret(a: string, b: string): boolean {
  const x = encoder.encode(a), y = encoder.encode(b)
  if (x.length !== y.length) return false
  let diff = 0
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i]
  return diff === 0
}

export async function sha256Hex(text: string): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text))))
}

/** The URL token against the instance's stored hash (sha256 hex of the token), in constant time. */
export async function tokenOk(inst: Instance, token: string): Promise<boolean> {
  const expected = (inst.webhook_token_hash ?? "").toLowerCase()
  return expected !== "" && sameSecret(await sha256Hex(token), expected)
}

/** The value of the environment variable `name` (a secret referenced by name), or "" (unset, empty,
 * or a name the environment cannot hold). */
export function secret(name: string): string {
  try {
    return Deno.env.get(name) ?? ""
  } catch {
    return ""
  }
}

async function mac(key: string, parts: Uint8Array[]): Promise<string> {
  const message = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    message.set(p, at)
    at += p.length
  }
  const k = await crypto.subtle.importKey("raw", encoder.encode(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"])
  return hex(new Uint8Array(await crypto.subtle.sign("HMAC", k, message)))
}

/** Unix seconds as the header gives them: ASCII digits only; null when not such a number. */
function seconds(ts: string): number | null {
  if (!/^[0-9]+$/.test(ts)) return null
  const digits = ts.replace(/^0+(?=.)/, "")
  return digits.length > 18 ? Number.POSITIVE_INFINITY : Number(digits)
}

/** [signed, keySigned]. The signature covers "<timestamp>.<body>", or, to make an Idempotency-Key
 * count, "<timestamp>.<key>\n<body>"; a key it does not cover is dropped by the caller. */
export async function signatureOk(inst: Instance, headers: Headers, body: Uint8Array,
  key: string | null): Promise<[boolean, boolean]> {
  const k = secret(inst.webhook_hmac_secret_ref || HMAC_ENV)
  const ts = headers.get("x-specgen-timestamp") ?? "", sig = headers.get("x-specgen-signature") ?? ""
  const at = seconds(ts)
  if (!k || at === null || !sig.startsWith("sha256=")) return [false, false]
  if (Math.abs(Date.now() / 1000 - at) > WINDOW_S) return [false, false]
  const given = sig.slice("sha256=".length).toLowerCase()
  const dot = encoder.encode(ts + ".")
  if (key !== null && sameSecret(await mac(k, [dot, encoder.encode(key + "\n"), body]), given)) return [true, true]
  return [sameSecret(await mac(k, [dot, body]), given), false]
}

/** [authenticated, the Idempotency-Key to keep]: a key the signature does not cover is dropped. */
export async function credentialsOk(inst: Instance | null, token: string | null, headers: Headers,
  body: Uint8Array, key: string | null): Promise<[boolean, string | null]> {
  if (inst === null || !inst.active) return [false, key]
  if (token !== null) return [await tokenOk(inst, token), key]
  const [authed, keySigned] = await signatureOk(inst, headers, body, key)
  return [authed, keySigned ? key : null]
}
