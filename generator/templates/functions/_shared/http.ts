// JSON answers, and the port a function listens on under plain Deno (Supabase's runtime picks its own).

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  })
}

export function problem(status: number, error: string, extra: Record<string, unknown> = {}): Response {
  return json(status, { error, ...extra }, status === 503 ? { "retry-after": "5" } : {})
}

/** Where plain Deno listens: PORT and HOSTNAME, else Deno's defaults (Supabase's runtime picks its own). */
export function listen(): Deno.ServeTcpOptions {
  return {
    port: Number(Deno.env.get("PORT") ?? "8000"),
    hostname: Deno.env.get("HOSTNAME") ?? "0.0.0.0",
    onListen: () => {},
  }
}

/** The answer of a sync function that could not finish (logged by the caller): 503 with Retry-After when
 * the database (or the network to it) is down or not accepting work, which the next run gets over; 500
 * for anything else. `detail` is the error as log lines describe it (secrets redacted). */
export function failure(what: string, e: unknown, detail: string): Response {
  const code = (e as { code?: unknown })?.code
  const name = (e as { name?: string })?.name
  if (name !== "PostgresError" || (typeof code === "string" && /^(08|53|57)/.test(code))) {
    return problem(503, `the ${what} could not finish: ${detail}`)
  }
  return problem(500, `the ${what} failed: ${detail}`)
}
