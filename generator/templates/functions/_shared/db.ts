// The database, directly: SUPABASE_DB_URL, which Supabase gives every Edge Function. postgres.js with
// prepared statements off, so the same code runs through Supavisor's transaction mode (port 6543) as
// well as a direct or session-mode connection (docs/edge-functions.md).
import postgres from "npm:postgres@3.4.5"

export type Sql = ReturnType<typeof postgres>

let pool: Sql | undefined

export function db(): Sql {
  if (pool === undefined) {
    const url = Deno.env.get("SUPABASE_DB_URL")
    if (!url) throw new Error("SUPABASE_DB_URL is not set")
    pool = postgres(url, {
      max: Number(Deno.env.get("SPECGEN_DB_POOL_SIZE") ?? "3"),
      prepare: false,
      idle_timeout: 20,
      connect_timeout: 5,
      onnotice: () => {},
    })
  }
  return pool
}
