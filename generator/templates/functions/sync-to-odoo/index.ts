// sync-to-odoo: the outbox drained into Odoo, each change created or written once.
import { listen } from "../_shared/http.ts"
import { handle } from "../_shared/push.ts"

Deno.serve(listen(), handle)
