// Test driver for _shared/odoo.ts and _shared/runs.ts (tests/functions/test_odoo_client.py): copied beside
// the rendered functions (into <functions>/_driver/), it reads a JSON script on stdin, runs its steps
// against the real mock Odoo over HTTP (and PostgreSQL for runs), and prints one JSON answer on stdout.
import { db } from "../_shared/db.ts"
import { type InstanceRow, OdooClient, RetryPolicy, type Value } from "../_shared/odoo.ts"
import { OdooError } from "../_shared/odoo_errors.ts"
import { Run } from "../_shared/runs.ts"

interface Step {
  op: string
  args?: Value[]
  // run steps
  kind?: string
  instance_id?: string | null
  entity?: string | null
  counts?: Record<string, number>
  events?: { event: string; level?: "debug" | "info" | "warning" | "error"; data?: Record<string, unknown> }[]
  item_failed?: [string, string]
  fail?: string
  trace_id?: string
}

interface Script {
  instance: InstanceRow
  timeout_s?: number
  retry?: { attempts: number; base: number; cap: number; retry_after_cap: number }
  trace_id?: string
  steps: Step[]
}

function errorOf(e: unknown): Record<string, unknown> {
  if (e instanceof OdooError) {
    return { class: e.className, name: e.odooName, message: e.message, transient: e.transient, ambiguous: e.ambiguous,
      status: e.status ?? null, retry_after: e.retryAfter ?? null }
  }
  return { class: (e as Error)?.name ?? "Error", message: String((e as Error)?.message ?? e) }
}

const script: Script = JSON.parse(await new Response(Deno.stdin.readable).text())
const results: unknown[] = []
let client: OdooClient | null = null
try {
  const r = script.retry
  client = OdooClient.forInstance(script.instance, {
    timeoutS: script.timeout_s,
    traceId: script.trace_id,
    retry: r ? new RetryPolicy(r.attempts, r.base, r.cap, r.retry_after_cap) : undefined,
  })
} catch (e) {
  results.push({ error: errorOf(e) })
}
for (const step of client ? script.steps : []) {
  const c = client as OdooClient
  const a = step.args ?? []
  try {
    let value: unknown
    switch (step.op) {
      case "uid": value = await c.uid(); break
      case "version": value = await c.version(); break
      case "call": value = await c.call(a[0] as string, a[1] as string, a[2] as Value[], (a[3] ?? {}) as Record<string, Value>); break
      case "search": value = await c.search(a[0] as string, a[1] as Value[], (a[2] ?? {}) as Record<string, never>); break
      case "searchRead": value = await c.searchRead(a[0] as string, a[1] as Value[], a[2] as string[], (a[3] ?? {}) as Record<string, never>); break
      case "read": value = await c.read(a[0] as string, a[1] as number[], a[2] as string[]); break
      case "create": value = await c.create(a[0] as string, a[1] as Record<string, Value>); break
      case "write": value = await c.write(a[0] as string, a[1] as number[], a[2] as Record<string, Value>); break
      case "unlink": value = await c.unlink(a[0] as string, a[1] as number[]); break
      case "fieldTypes": value = await c.fieldTypes(a[0] as string); break
      case "existingIds": value = [...await c.existingIds(a[0] as string, a[1] as number[], (a[2] ?? 1000) as number)].sort((x, y) => x - y); break
      case "run": {
        const run = await new Run(db(), step.kind ?? "pull", step.instance_id ?? null, step.entity ?? null, step.trace_id).start()
        for (const [k, n] of Object.entries(step.counts ?? {})) run.count(k, n)
        for (const ev of step.events ?? []) await run.event(ev.event, ev.level ?? "info", ev.data ?? {})
        if (step.item_failed) run.itemFailed(...step.item_failed)
        value = { id: run.id, status: await run.finish(step.fail ? new Error(step.fail) : undefined) }
        break
      }
      default: throw new Error(`unknown op ${step.op}`)
    }
    results.push({ ok: value ?? null })
  } catch (e) {
    results.push({ error: errorOf(e) })
  }
}
console.log(JSON.stringify({ results, retries: client?.retries ?? 0 }))
if (script.steps.some((s) => s.op === "run")) await db().end()
