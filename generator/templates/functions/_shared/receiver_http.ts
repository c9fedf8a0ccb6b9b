// What the Python receiver gets from its HTTP stack, done the same way here: the percent-decoded path
// (uvicorn: urllib.parse.unquote), Python's str.strip(), and the caller's trace id
// (bridge/observe/context.py trace_id_from).

const lenient = new TextDecoder("utf-8") // invalid sequences become U+FFFD, as unquote's errors="replace"

/** The path with its %XX escapes decoded as UTF-8; a malformed escape stays as written. */
export function unquote(path: string): string {
  return path.replace(/(?:%[0-9a-fA-F]{2})+/g, (run) => {
    const bytes = new Uint8Array(run.length / 3)
    for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(run.slice(3 * i + 1, 3 * i + 3), 16)
    return lenient.decode(bytes)
  })
}

// str.isspace() in Python: these, and nothing else
const PY_SPACE = new Set([..."\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000"].concat(
  Array.from({ length: 11 }, (_, i) => String.fromCharCode(0x2000 + i)),
))

/** Python's str.strip() (JavaScript's trim() strips another set). */
export function pyStrip(s: string): string {
  let a = 0, b = s.length
  while (a < b && PY_SPACE.has(s[a])) a++
  while (b > a && PY_SPACE.has(s[b - 1])) b--
  return s.slice(a, b)
}

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/

function newTraceId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("")
}

/** The caller's trace id: W3C `traceparent` first, then `X-Trace-Id` (its first 64 characters), else a new one. */
export function traceIdFrom(headers: Headers): string {
  const m = TRACEPARENT.exec(pyStrip(headers.get("traceparent") ?? "").toLowerCase())
  if (m && m[1] !== "0".repeat(32)) return m[1]
  const given = pyStrip(headers.get("x-trace-id") ?? "")
  return given ? Array.from(given).slice(0, 64).join("") : newTraceId()
}
