// One database session of its own (not the pool's): what holds the pull's session advisory locks. A
// session lock needs a session: through Supavisor use session mode (port 5432), not transaction mode
// (docs/edge-functions.md). Never idle-closed while held; ended by the caller.
import postgres from "npm:postgres@3.4.5"
import type { Sql } from "./db.ts"

export function session(): Sql {
  const url = Deno.env.get("SUPABASE_DB_URL")
  if (!url) throw new Error("SUPABASE_DB_URL is not set")
  return postgres(url, { max: 1, prepare: false, idle_timeout: 0, connect_timeout: 5, onnotice: () => {} })
}
