// The errors of talking to Odoo and `classify`, as bridge/odoo/errors.py: which Odoo exception (by name or
// text) becomes which of them. `transient` says whether trying again may help; an ambiguous error (the
// request was sent, no answer came) is transient but may have been executed. Two names per error, as in
// Python: `className` is the Python class name (type(exc).__name__: dead letters' reasons, run failures)
// and `odooName` is Python's `.name` (Odoo's short exception name, or what failed: "HTTP500", "Timeout").
// Messages are redacted (no secret in an error message). XML-RPC fault codes are not needed: only the
// JSON-RPC protocol is ported (_shared/odoo.ts).
import { redactText } from "./log.ts"

export interface ErrorOptions {
  name?: string
  status?: number
  retryAfter?: number
}

export class OdooError extends Error {
  readonly transient: boolean = false
  readonly ambiguous: boolean = false
  readonly odooName: string
  readonly status?: number
  readonly retryAfter?: number

  constructor(message: string, options: ErrorOptions = {}) {
    super(redactText(message))
    this.odooName = options.name || "OdooError"
    this.status = options.status
    this.retryAfter = options.retryAfter
    this.name = this.className
  }

  /** Python's type(exc).__name__ */
  get className(): string {
    return "OdooError"
  }
}

export class TransientOdooError extends OdooError {
  override readonly transient: boolean = true
  override get className(): string {
    return "TransientOdooError"
  }
}

/** The request was sent but no answer came: it may or may not have been executed. */
export class AmbiguousOdooError extends TransientOdooError {
  override readonly ambiguous: boolean = true
  override get className(): string {
    return "AmbiguousOdooError"
  }
}

export class PermanentOdooError extends OdooError {
  override get className(): string {
    return "PermanentOdooError"
  }
}

export class ValidationError extends PermanentOdooError {
  override get className(): string {
    return "ValidationError"
  }
}

export class AccessError extends PermanentOdooError {
  override get className(): string {
    return "AccessError"
  }
}

export class AccessDenied extends PermanentOdooError {
  override get className(): string {
    return "AccessDenied"
  }
}

export class UserError extends PermanentOdooError {
  override get className(): string {
    return "UserError"
  }
}

export class MissingError extends PermanentOdooError {
  override get className(): string {
    return "MissingError"
  }
}

type Permanent = new (message: string, options?: ErrorOptions) => PermanentOdooError
const BY_NAME: Record<string, Permanent> = {
  ValidationError, AccessError, AccessDenied, UserError, MissingError, RedirectWarning: UserError,
}

/** errors.classify for a JSON-RPC error: Odoo's exception name (dotted or short), message and debug text. */
export function classify(name: string, message: string, debug = ""): OdooError {
  const short = name.slice(name.lastIndexOf(".") + 1)
  const text = `${message}\n${debug}`
  // odoo/service/model.py 17.0 `retrying` re-runs a call on these (PG_CONCURRENCY_ERRORS_TO_RETRY) and
  // raises the last one once its tries are spent: the row was busy, so trying later may succeed
  if (text.includes("SerializationFailure") || text.includes("could not serialize access") ||
    text.includes("deadlock detected")) {
    return new TransientOdooError(message, { name: name || "SerializationFailure" })
  }
  if (text.includes("LockNotAvailable") || text.includes("could not obtain lock")) {
    return new TransientOdooError(message, { name: "LockNotAvailable" })
  }
  const known = Object.hasOwn(BY_NAME, short) ? BY_NAME[short] : undefined
  if (known) return new known(message, { name: short })
  if (text.includes("OperationalError") || text.includes("PoolError")) {
    return new TransientOdooError(message, { name: short || "OperationalError" })
  }
  return new PermanentOdooError(message, { name: short || "OdooServerError" })
}

/** Python's f"{type(exc).__name__}: {exc}" for any error. */
export function describe(e: unknown): string {
  if (e instanceof OdooError) return `${e.className}: ${e.message}`
  if (e instanceof Error) return `${e.name}: ${redactText(e.message)}`
  return `Error: ${redactText(String(e))}`
}
