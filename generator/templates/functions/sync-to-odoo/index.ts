// sync-to-odoo: the outbox drained into Odoo, each change created or written once.
import { refused } from "../_shared/guard.ts"
import { listen } from "../_shared/http.ts"
import { handle } from "../_shared/push.ts"

// only the holder of SPECGEN_FUNCTION_TOKEN starts a sync (_shared/guard.ts)
Deno.serve(listen(), (req) => refused(req) ?? handle(req))
