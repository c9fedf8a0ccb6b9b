// The Odoo client of one instance, as bridge/odoo/client.py with protocol "jsonrpc":
// - the uid obtained once (common.login) and reused; execute_kw for every model call;
// - transient errors (connection refused, 5xx, 429, serialization, deadlock and lock failures, a session
//   expired) retried with exponential backoff and full jitter up to a cap, honouring Retry-After on 429;
//   ambiguous ones (a timeout, a lost connection, a proxy's 502/504: the call may have run) retried too,
//   except for create (the caller looks the record up by its external reference first);
// - permanent errors (ValidationError, AccessError, AccessDenied, UserError, MissingError) thrown at once;
// - every call carries the trace id (W3C traceparent and X-Trace-Id) and a timeout;
// - the password / API key comes from Deno.env by the instance's secret_ref, is registered as a secret and
//   never appears in an error message or a log line.
// Not ported (the Python worker keeps them): XML-RPC and its fallback when /jsonrpc answers 404/405 (here
// a permanent error), Odoo 19's /json/2, the debug recording of calls (SPECGEN_ODOO_DEBUG), metrics.
import { registerSecret, log } from "./log.ts"
import {
  AccessDenied, AmbiguousOdooError, classify, OdooError, PermanentOdooError, TransientOdooError,
} from "./odoo_errors.ts"

export type Value = null | boolean | number | string | Value[] | { [key: string]: Value }
export type Domain = Value[]
export type OdooRecord = Record<string, Value>

/** The columns of an odoo.instances row the client needs. */
export interface InstanceRow {
  id: string
  base_url: string
  database: string
  login: string
  secret_ref: string
  protocol?: string | null
}

/** bridge/odoo/retry.py RetryPolicy: exponential backoff with full jitter, honouring Retry-After. */
export class RetryPolicy {
  constructor(
    readonly attempts = 6,
    readonly base = 0.1,
    readonly cap = 5.0,
    readonly retryAfterCap = 30.0,
    readonly random: () => number = Math.random,
  ) {}

  /** Seconds to wait before attempt `attempt + 1` (bridge/backoff.py: uniform(0, min(cap, base*2**n))). */
  delay(attempt: number, error: OdooError): number {
    const jitter = this.random() * Math.min(this.cap, this.base * 2 ** attempt)
    if (error.retryAfter !== undefined) return Math.min(this.retryAfterCap, error.retryAfter) + jitter * 0.1
    return jitter
  }
}

export interface ClientOptions {
  timeoutS?: number
  retry?: RetryPolicy
  traceId?: string
  sleep?: (seconds: number) => Promise<void>
}

export interface CallOptions {
  /** the trace this call serves when it is not the client's (a webhook event's, an outbox row's) */
  traceId?: string
  /** retry an ambiguous error (default true; create never does) */
  retryAmbiguous?: boolean
}

export function newTraceId(): string {
  return randomHex(16)
}

function randomHex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join("")
}

function sleepFor(seconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, seconds * 1000)))
}

/** resolve_secret: the password / API key from the variable `secretRef` names; registered as a secret. */
export function resolveSecret(secretRef: string | null | undefined, env: (name: string) => string | undefined =
  (name) => Deno.env.get(name)): string {
  const value = secretRef ? env(secretRef) : undefined
  if (!value) {
    throw new AccessDenied(`environment variable ${secretRef} (the instance's secret_ref) is not set`,
      { name: "MissingSecret" })
  }
  registerSecret(value)
  return value
}

/** Python's repr() of a plain string, for messages that quote one as Python does. */
function pyRepr(text: string): string {
  return text.includes("'") && !text.includes('"') ? `"${text}"` : `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`
}

/** The keyword arguments that were given (Odoo reads a missing one as its default): client._given. */
function given(options: Record<string, Value | undefined>): Record<string, Value> {
  const out: Record<string, Value> = {}
  for (const [k, v] of Object.entries(options)) {
    if (v === undefined || v === null || v === false || v === 0 || v === "") continue
    if (Array.isArray(v) && v.length === 0) continue
    if (typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0) continue
    out[k] = v
  }
  return out
}

const CONNECT_FAILED = /connection refused|tcp connect error|dns error|failed to lookup|no route to host|network is unreachable/i

export class OdooClient {
  readonly baseUrl: string
  traceId: string
  retries = 0
  readonly retry: RetryPolicy
  private readonly timeoutMs: number
  private readonly sleep: (seconds: number) => Promise<void>
  private uidPromise: Promise<number> | null = null
  private nextId = 1
  private fieldsCache = new Map<string, Record<string, string | null>>()

  constructor(baseUrl: string, readonly db: string, readonly login: string, private readonly password: string,
    options: ClientOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, "")
    registerSecret(password)
    this.retry = options.retry ?? new RetryPolicy()
    this.traceId = options.traceId ?? newTraceId()
    this.timeoutMs = (options.timeoutS ?? 30) * 1000
    this.sleep = options.sleep ?? sleepFor
  }

  /** The client of an odoo.instances row; its secret read from the environment by secret_ref. */
  static forInstance(instance: InstanceRow, options: ClientOptions = {}): OdooClient {
    const protocol = instance.protocol || "jsonrpc"
    if (protocol !== "jsonrpc") {
      throw new PermanentOdooError(`protocol ${protocol} is not supported by the Edge Functions (jsonrpc only): ` +
        "run the Python worker for this instance", { name: "UnsupportedProtocol" })
    }
    return new OdooClient(instance.base_url, instance.database, instance.login, resolveSecret(instance.secret_ref),
      options)
  }

  toString(): string { // never the password
    return `OdooClient(${pyRepr(this.baseUrl)}, db=${pyRepr(this.db)}, login=${pyRepr(this.login)}, protocol='jsonrpc')`
  }

  // -- transport ---------------------------------------------------------------------------
  private headers(traceId: string): Record<string, string> {
    return {
      "content-type": "application/json",
      traceparent: `00-${traceId.slice(0, 32).padStart(32, "0")}-${randomHex(8)}-01`,
      "x-trace-id": traceId,
    }
  }

  private async post(path: string, body: string, traceId: string): Promise<Response> {
    let response: Response
    try {
      response = await fetch(this.baseUrl + path, {
        method: "POST", body, headers: this.headers(traceId), signal: AbortSignal.timeout(this.timeoutMs),
      })
    } catch (e) {
      const err = e as Error
      if (err?.name === "TimeoutError" || err?.name === "AbortError") {
        throw new AmbiguousOdooError(`timeout calling ${this.baseUrl}${path}: ReadTimeout`, { name: "Timeout" })
      }
      const text = String(err?.message ?? e)
      if (CONNECT_FAILED.test(text)) {
        throw new TransientOdooError(`cannot connect to ${this.baseUrl}: ${text}`, { name: "ConnectError" })
      }
      throw new AmbiguousOdooError(`connection lost calling ${this.baseUrl}${path}: ${err?.name ?? "Error"}`,
        { name: "RemoteProtocolError" })
    }
    const status = response.status
    if (status === 429) {
      await response.body?.cancel()
      const after = Number(response.headers.get("retry-after") ?? "1")
      throw new TransientOdooError("Odoo answered 429 Too Many Requests",
        { name: "TooManyRequests", status, retryAfter: Number.isFinite(after) ? after : 1 })
    }
    if (status === 502 || status === 504) {
      await response.body?.cancel()
      // a proxy gave up on Odoo, which may still run the call to its end and commit it
      throw new AmbiguousOdooError(`Odoo's proxy answered HTTP ${status}: the call may still be executed`,
        { name: `HTTP${status}`, status })
    }
    if (status >= 500) {
      await response.body?.cancel()
      throw new TransientOdooError(`Odoo answered HTTP ${status}`, { name: `HTTP${status}`, status })
    }
    return response
  }

  private async jsonrpc(service: string, method: string, args: Value[], traceId: string): Promise<Value> {
    const body = JSON.stringify({ jsonrpc: "2.0", method: "call", id: this.nextId++, params: { service, method, args } })
    const response = await this.post("/jsonrpc", body, traceId)
    let text: string
    try {
      text = await response.text()
    } catch (e) {
      throw new AmbiguousOdooError(`connection lost calling ${this.baseUrl}/jsonrpc: ${(e as Error)?.name ?? "Error"}`,
        { name: "RemoteProtocolError" })
    }
    if (response.status === 404 || response.status === 405) {
      // the Python client falls back to XML-RPC here; the functions speak JSON-RPC only
      throw new PermanentOdooError(`Odoo answered HTTP ${response.status} on /jsonrpc (XML-RPC is not supported by ` +
        "the Edge Functions)", { name: "JsonRpcMissing", status: response.status })
    }
    if (response.status >= 400) {
      throw new PermanentOdooError(`Odoo answered HTTP ${response.status}`, { status: response.status })
    }
    let reply: { result?: Value; error?: { code?: number; message?: string; data?: Record<string, string> } }
    try {
      reply = JSON.parse(text)
    } catch {
      throw new TransientOdooError("Odoo answered a body that is not JSON", { name: "BadResponse" })
    }
    const error = reply?.error
    if (error) {
      const data = error.data ?? {}
      if (error.code === 100) {
        this.uidPromise = null
        throw new TransientOdooError("Odoo session expired", { name: "SessionExpired" })
      }
      throw classify(String(data.name ?? ""), String(data.message || error.message || ""), String(data.debug ?? ""))
    }
    return reply?.result ?? null
  }

  // -- retries -----------------------------------------------------------------------------
  async withRetry<T>(fn: () => Promise<T>, what: string, traceId: string, retryAmbiguous = true): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn()
      } catch (e) {
        if (!(e instanceof TransientOdooError)) throw e
        if ((e.ambiguous && !retryAmbiguous) || attempt + 1 >= this.retry.attempts) throw e
        const delay = this.retry.delay(attempt, e)
        this.retries++
        log("odoo", "info", "odoo call retried", {
          call: what, attempt: attempt + 1, error: e.odooName, sleep_s: Math.round(delay * 1000) / 1000, trace_id: traceId,
        })
        await this.sleep(delay)
      }
    }
  }

  /** The user id, logged in once (a refused login is AccessDenied; a session expired logs in again). */
  uid(options: CallOptions = {}): Promise<number> {
    if (this.uidPromise === null) {
      const traceId = options.traceId ?? this.traceId
      const login = this.withRetry(() => this.jsonrpc("common", "login", [this.db, this.login, this.password], traceId),
        "common.login", traceId).then((uid) => {
          if (!uid) throw new AccessDenied(`Odoo refused the login ${pyRepr(this.login)} on database ${pyRepr(this.db)}`)
          return Number(uid)
        })
      this.uidPromise = login
      login.catch(() => {
        if (this.uidPromise === login) this.uidPromise = null
      })
    }
    return this.uidPromise
  }

  version(options: CallOptions = {}): Promise<Value> {
    const traceId = options.traceId ?? this.traceId
    return this.withRetry(() => this.jsonrpc("common", "version", [], traceId), "common.version", traceId)
  }

  // -- public ------------------------------------------------------------------------------
  /** execute_kw(model, method, args, kwargs) with the retries. */
  call(model: string, method: string, args: Value[], kwargs: Record<string, Value> = {},
    options: CallOptions = {}): Promise<Value> {
    const traceId = options.traceId ?? this.traceId
    return this.withRetry(async () => {
      const uid = await this.uid({ traceId })
      return await this.jsonrpc("object", "execute_kw", [this.db, uid, this.password, model, method, args, kwargs], traceId)
    }, `${model}.${method}`, traceId, options.retryAmbiguous ?? true)
  }

  /** {field: Odoo type} of the model (one fields_get per model and client). */
  async fieldTypes(model: string, options: CallOptions = {}): Promise<Record<string, string | null>> {
    let cached = this.fieldsCache.get(model)
    if (cached === undefined) {
      const described = await this.call(model, "fields_get", [], { attributes: ["type"] }, options) as
        Record<string, Value>
      cached = {}
      for (const [name, d] of Object.entries(described ?? {})) {
        cached[name] = d !== null && typeof d === "object" && !Array.isArray(d) && typeof d.type === "string"
          ? d.type
          : null
      }
      this.fieldsCache.set(model, cached)
    }
    return cached
  }

  async modelFields(model: string, options: CallOptions = {}): Promise<Set<string>> {
    return new Set(Object.keys(await this.fieldTypes(model, options)))
  }

  async searchRead(model: string, domain: Domain, fields: string[], opts: {
    limit?: number; offset?: number; order?: string; context?: Record<string, Value>
  } & CallOptions = {}): Promise<OdooRecord[]> {
    const kwargs = { fields, offset: opts.offset ?? 0, ...given({ limit: opts.limit, order: opts.order, context: opts.context }) }
    return await this.call(model, "search_read", [domain], kwargs, opts) as OdooRecord[]
  }

  async search(model: string, domain: Domain, opts: {
    context?: Record<string, Value>; limit?: number; order?: string
  } & CallOptions = {}): Promise<number[]> {
    return await this.call(model, "search", [domain], given({ context: opts.context, limit: opts.limit, order: opts.order }),
      opts) as number[]
  }

  async read(model: string, ids: number[], fields: string[], opts: { context?: Record<string, Value> } & CallOptions = {}):
    Promise<OdooRecord[]> {
    if (ids.length === 0) return []
    const kwargs: Record<string, Value> = { fields }
    if (opts.context && Object.keys(opts.context).length) kwargs.context = opts.context
    return await this.call(model, "read", [[...ids]], kwargs, opts) as OdooRecord[]
  }

  /** Which of `ids` still exist in Odoo, archived ones included: search on the ids with active_test off,
   * never read(ids, ['id']) (Odoo 17 answers that one for deleted ids too). */
  async existingIds(model: string, ids: Iterable<number>, chunk = 1000, options: CallOptions = {}): Promise<Set<number>> {
    const sorted = [...new Set(ids)].sort((a, b) => a - b)
    const found = new Set<number>()
    for (let i = 0; i < sorted.length; i += chunk) {
      const part = sorted.slice(i, i + chunk)
      for (const id of await this.search(model, [["id", "in", part]], { context: { active_test: false }, ...options })) {
        found.add(id)
      }
    }
    return found
  }

  /** A timeout after sending may have created the record: never retried blindly here; the caller looks
   * the record up by its external reference first (bridge/sync/push.py). */
  async create(model: string, values: Record<string, Value>, options: CallOptions = {}): Promise<number> {
    const result = await this.call(model, "create", [values], {}, { ...options, retryAmbiguous: false })
    return Number(Array.isArray(result) ? result[0] : result)
  }

  async write(model: string, ids: number[], values: Record<string, Value>, options: CallOptions = {}): Promise<Value> {
    return await this.call(model, "write", [[...ids], values], {}, options)
  }

  async unlink(model: string, ids: number[], options: CallOptions = {}): Promise<Value> {
    return await this.call(model, "unlink", [[...ids]], {}, options)
  }
}
