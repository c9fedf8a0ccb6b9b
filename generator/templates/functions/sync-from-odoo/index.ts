// sync-from-odoo: pages pulled from Odoo per instance and entity within a wall-clock budget, and waiting webhook events processed.
import { listen } from "../_shared/http.ts"
import { handle } from "../_shared/pull.ts"

Deno.serve(listen(), handle)
