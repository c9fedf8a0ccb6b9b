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
