// webhook-receiver: the contract of the Python receiver (`specgen webhooks serve`, bridge/http/receiver):
//   POST /webhooks/odoo/{instance_id}/{token}  the instance's secret URL token (what Odoo 17 calls)
//   POST /webhooks/odoo/{instance_id}          a signing proxy: X-Specgen-Timestamp, X-Specgen-Signature
//   GET  /health
// each also under /webhook-receiver/..., the path Supabase gives the function. Answers 202 (also for a
// duplicate, which stores nothing), 400 bad JSON or schema, 404 an instance id that is not a canonical
// UUID, 401 bad credentials or an unknown instance, 413 body too large, 415 not JSON, 503 with
// Retry-After when the database is down; never a 5xx for bad input. 202 only once the INSERT committed.
import { credentialsOk, type Instance } from "./auth.ts"
import { type Event, idempotencyKey, parseJson, validate } from "./events.ts"
import { json, problem } from "./http.ts"
import { failure, findInstance, insertEvent, ping } from "./receiver_store.ts"
import { pyStrip, traceIdFrom, unquote } from "./receiver_http.ts"

export const MAX_BODY = 256 * 1024
// Only the canonical form names an instance (bridge/http/receiver/handlers.py CANONICAL_UUID).
const CANONICAL_UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/
const PREFIX = "/webhook-receiver"

const stats = { accepted: 0, duplicates: 0, rejected: 0, unavailable: 0 }

/** A step of a delivery refused it: `response` is the answer. */
class Refused {
  constructor(readonly response: Response) {}
}

function reject(status: number, message: string): Refused {
  stats.rejected++
  return new Refused(problem(status, message))
}

function unavailable(traceId: string, e: unknown, what = "database unavailable",
  answer = "database unavailable; retry later"): Refused {
  stats.unavailable++
  const error = (e as { code?: unknown })?.code ?? (e as Error)?.name ?? "Error"
  console.error(JSON.stringify({ level: "ERROR", logger: "receiver", msg: what, trace_id: traceId, error: String(error) }))
  return new Refused(problem(503, answer))
}

function plain(status: number, text: string, headers: Record<string, string> = {}): Response {
  return new Response(text, { status, headers: { "content-type": "text/plain; charset=utf-8", ...headers } })
}

export async function handle(req: Request): Promise<Response> {
  let raw = new URL(req.url).pathname
  if (raw === PREFIX || raw.startsWith(PREFIX + "/")) raw = raw.slice(PREFIX.length) || "/"
  const path = unquote(raw) // decoded, as the Python server routes it
  if (path === "/health") {
    return req.method === "GET" || req.method === "HEAD"
      ? await health()
      : plain(405, "Method Not Allowed", { allow: "GET, HEAD" })
  }
  const m = /^\/webhooks\/odoo\/([^/]+)(?:\/([^/]+))?$/.exec(path)
  if (m === null) return plain(404, "Not Found")
  if (req.method !== "POST") return plain(405, "Method Not Allowed", { allow: "POST" })
  try {
    return await deliver(req, m[1], m[2] ?? null)
  } catch (e) {
    if (e instanceof Refused) return e.response
    throw e
  }
}

/** Check, authenticate, parse and store one delivery; a refusal throws `Refused`. */
async function deliver(req: Request, pathId: string, token: string | null): Promise<Response> {
  const traceId = traceIdFrom(req.headers)
  if (!CANONICAL_UUID.test(pathId)) throw reject(404, "no such instance")
  const instanceId = pathId.toLowerCase()
  const body = await readBody(req)
  let inst: Instance | null
  try {
    inst = await findInstance(instanceId)
  } catch (e) {
    throw unavailable(traceId, e)
  }
  const given = req.headers.get("idempotency-key") || req.headers.get("x-idempotency-key")
  const [authed, signedKey] = await credentialsOk(inst, token, req.headers, body, given)
  if (!authed) throw reject(401, "unknown instance or bad credentials")
  const parsed = parseJson(body)
  if (parsed === null) throw reject(400, "body is not valid JSON")
  const invalid = validate(parsed.parsed.value)
  if (invalid !== null) throw reject(400, `event does not match the schema: ${invalid}`)
  const signedAt = token === null ? req.headers.get("x-specgen-timestamp") : null
  const key = Array.from(signedKey || await idempotencyKey(parsed.parsed, body, signedAt)).slice(0, 200).join("")
  const event = parsed.parsed.value as Event
  const id = await store(instanceId, key, event, parsed.text, traceId)
  if (id === null) {
    stats.duplicates++
    return json(202, { status: "duplicate", idempotency_key: key })
  }
  stats.accepted++
  return json(202, { status: "accepted", id, trace_id: traceId })
}

/** The JSON body, within MAX_BODY bytes (as declared and as read). */
async function readBody(req: Request): Promise<Uint8Array> {
  const declared = req.headers.get("content-length")
  if (declared && /^[0-9]+$/.test(declared) && Number(declared) > MAX_BODY) {
    throw reject(413, `body larger than ${MAX_BODY} bytes`)
  }
  const ctype = pyStrip((req.headers.get("content-type") ?? "").split(";")[0]).toLowerCase()
  if (ctype !== "application/json") throw reject(415, "Content-Type must be application/json")
  if (req.body === null) return new Uint8Array(0)
  const chunks: Uint8Array[] = []
  let size = 0
  const reader = req.body.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      size += value.length
      if (size > MAX_BODY) {
        reader.cancel().catch(() => {})
        throw reject(413, `body larger than ${MAX_BODY} bytes`)
      }
      chunks.push(value)
    }
  } catch (e) {
    if (e instanceof Refused) throw e
    throw new Refused(new Response(null, { status: 400 })) // the client went away mid-body
  }
  const body = new Uint8Array(size)
  let at = 0
  for (const c of chunks) {
    body.set(c, at)
    at += c.length
  }
  return body
}

/** The stored event's id once committed (null: a duplicate). */
async function store(instanceId: string, key: string, event: Event, payload: string,
  traceId: string): Promise<number | null> {
  try {
    return await insertEvent({ instanceId, key, model: String(event._model), odooId: Number(event._id), payload, traceId })
  } catch (e) {
    const kind = failure(e)
    if (kind === "data") throw reject(400, "event could not be stored as given (bad characters?)")
    if (kind === "other") throw unavailable(traceId, e, "event not stored", "event not stored; retry later")
    throw unavailable(traceId, e)
  }
}

async function health(): Promise<Response> {
  try {
    await ping()
  } catch {
    return json(503, { status: "degraded", database: "down", ...stats }, { "retry-after": "5" })
  }
  return json(200, { status: "ok", database: "up", ...stats })
}
