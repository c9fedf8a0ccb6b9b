// Who may start a sync: the holder of SPECGEN_FUNCTION_TOKEN (a function secret: `supabase secrets set`),
// sent as x-specgen-function-token by the pg_cron jobs of the schedule-functions migration template.
// Supabase's gateway checks the Authorization JWT first, but the anon key is public: it must not be
// enough to start a pull or a push. The comparison takes the same time wherever the strings differ.
import { problem } from "./http.ts"

export const TOKEN_ENV = "SPECGEN_FUNCTION_TOKEN"
export const TOKEN_HEADER = "x-specgen-function-token"

function sameText(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a)
  const y = new TextEncoder().encode(b)
  let diff = x.length ^ y.length
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0)
  return diff === 0
}

/** null when the request may go on; else the answer to give (401, or 503 when no token is configured). */
export function refused(req: Request): Response | null {
  const expected = Deno.env.get(TOKEN_ENV) ?? ""
  if (expected.length < 16) {
    return problem(503, `${TOKEN_ENV} is not set (at least 16 characters): set it with \`supabase secrets set\``)
  }
  if (req.method !== "POST") return problem(405, "use POST")
  const given = req.headers.get(TOKEN_HEADER) ?? ""
  return sameText(given, expected) ? null : problem(401, `missing or wrong ${TOKEN_HEADER}`)
}
