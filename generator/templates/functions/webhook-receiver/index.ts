// webhook-receiver: Odoo's webhook deliveries, stored once in odoo.webhook_events (the contract of `specgen webhooks serve`).
import { listen } from "../_shared/http.ts"
import { handle } from "../_shared/receiver.ts"

Deno.serve(listen(), handle)
