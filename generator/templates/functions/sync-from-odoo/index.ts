// sync-from-odoo: pages pulled from Odoo per instance and entity within a wall-clock budget, and waiting webhook events processed.
import { refused } from "../_shared/guard.ts"
import { listen } from "../_shared/http.ts"
import { handle } from "../_shared/pull.ts"

// only the holder of SPECGEN_FUNCTION_TOKEN starts a sync (_shared/guard.ts)
Deno.serve(listen(), (req) => refused(req) ?? handle(req))
