// Conflict policies for shared entities, as bridge/sync/conflicts.py (`resolve`, which the pull and the push
// both apply) and the many2many half of bridge/sync/push.py (`Pusher._resolve_links`): pure functions.
import { type Json, same } from "./adapter.ts"

export const POLICIES = ["odoo_wins", "app_wins", "last_write_wins", "field_merge"] as const
export const DEFAULT_SKEW_MS = 2000

export type Values = Record<string, Json>

export interface Resolution {
  values: Values // what both sides must hold
  toPush: Values // fields Odoo lacks
  toLocal: Values // fields the app lacks
  winner: "odoo" | "app" | "merged"
}

function get(o: Values | null, k: string): Json {
  return o === null ? null : (Object.hasOwn(o, k) ? o[k] : null)
}

function changed(a: Values, b: Values | null, keys: string[]): Set<string> {
  if (b === null) return new Set(keys)
  return new Set(keys.filter((k) => !same(get(a, k), get(b, k))))
}

function pick(o: Values, keys: string[]): Values {
  const out: Values = {}
  for (const k of keys) out[k] = get(o, k)
  return out
}

/** Python's sorted() of str keys (by code point). */
function sortedKeys(keys: Iterable<string>): string[] {
  return [...new Set(keys)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
}

export function resolve(policy: string, base: Values | null, local: Values | null, remote: Values,
  opts: { localTs?: Date | null; remoteTs?: Date | null; skewMs?: number; tie?: "odoo" | "app" } = {}): Resolution {
  if (!(POLICIES as readonly string[]).includes(policy)) {
    throw new RangeError(`unknown conflict policy '${policy}'; expected one of ${POLICIES.join(", ")}`)
  }
  const skew = opts.skewMs ?? DEFAULT_SKEW_MS
  const tie = opts.tie ?? "odoo"
  const keys = sortedKeys([...Object.keys(remote), ...Object.keys(local ?? {}), ...Object.keys(base ?? {})])
  if (local === null) return { values: { ...remote }, toPush: {}, toLocal: { ...remote }, winner: "odoo" }
  let localChanged = base !== null ? changed(local, base, keys) : new Set<string>()
  let remoteChanged = base !== null ? changed(remote, base, keys) : new Set<string>()
  if (base === null) localChanged = remoteChanged = changed(local, remote, keys)

  let values: Values
  let winner: Resolution["winner"]
  if (policy === "odoo_wins") {
    values = pick(remote, keys)
    winner = "odoo"
  } else if (policy === "app_wins") {
    const app = localChanged.size > 0
    values = app ? pick(local, keys) : pick(remote, keys)
    winner = app ? "app" : "odoo"
  } else if (policy === "last_write_wins") {
    let app: boolean
    if (localChanged.size && !remoteChanged.size) app = true
    else if (remoteChanged.size && !localChanged.size) app = false
    else if (!localChanged.size && !remoteChanged.size) app = false
    else app = !!(opts.localTs && opts.remoteTs && opts.localTs.getTime() > opts.remoteTs.getTime() + skew)
    values = app ? pick(local, keys) : pick(remote, keys)
    winner = app ? "app" : "odoo"
  } else { // field_merge
    values = {}
    const sides = new Set<string>()
    for (const k of keys) {
      const lc = localChanged.has(k), rc = remoteChanged.has(k)
      if (lc && !rc) {
        values[k] = get(local, k)
        sides.add("app")
      } else if (lc && rc && !same(get(local, k), get(remote, k)) && tie === "app") {
        values[k] = get(local, k)
        sides.add("app")
      } else {
        values[k] = get(remote, k)
        if (rc) sides.add("odoo")
      }
    }
    winner = sides.size === 2 ? "merged" : ((sides.values().next().value as "odoo" | "app" | undefined) ?? "odoo")
  }
  const toPush: Values = {}, toLocal: Values = {}
  for (const [k, v] of Object.entries(values)) {
    if (!same(get(remote, k), v)) toPush[k] = v
    if (!same(get(local, k), v)) toLocal[k] = v
  }
  return { values, toPush, toLocal, winner }
}

export type Links = Record<string, number[]>

function sortedIds(ids: Iterable<number>): number[] {
  return [...new Set(ids)].sort((a, b) => a - b)
}

function sameIds(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

/** Pusher._resolve_links: per many2many, the set both sides must hold, as the record's policy decides a
 * field. `remote` is the re-read Odoo record; `links` the app's sets, `base` the sets last agreed.
 * Returns [agreed, to push, to local]. */
export function resolveLinks(owner: string, conflict: string | null, relations: { relation: string; odoo_field: string }[],
  local: Links, base: Links, remote: Record<string, unknown>, localTs: Date | null, remoteTs: Date | null):
  [Links, Links, Links] {
  const policy = owner !== "shared" ? "app_wins" : (conflict || "odoo_wins")
  const agreed: Links = {}, toPush: Links = {}, toLocal: Links = {}
  for (const [name, mine] of Object.entries(local)) {
    const odooField = relations.find((r) => r.relation === name)!.odoo_field
    if (!Object.hasOwn(remote, odooField)) {
      agreed[name] = mine
      toPush[name] = mine
      continue
    }
    const theirs = sortedIds(((remote[odooField] || []) as unknown[]).map((i) => Math.trunc(Number(i))))
    const was = Object.hasOwn(base, name) ? sortedIds(base[name]) : null
    if (sameIds(mine, theirs)) {
      agreed[name] = mine
      continue
    }
    const appChanged = was === null || !sameIds(mine, was)
    const odooChanged = was === null || !sameIds(theirs, was)
    let result: number[]
    if (appChanged && !odooChanged) result = mine
    else if (odooChanged && !appChanged) result = theirs
    else if (policy === "field_merge" && was !== null) {
      const w = new Set(was), m = new Set(mine), t = new Set(theirs)
      const added = new Set([...m, ...t].filter((x) => !w.has(x)))
      const removed = new Set([...was.filter((x) => !m.has(x)), ...was.filter((x) => !t.has(x))])
      result = sortedIds([...w, ...added].filter((x) => !removed.has(x)))
    } else if (policy === "app_wins" || (policy === "last_write_wins" && localTs && remoteTs &&
      localTs.getTime() > remoteTs.getTime() + DEFAULT_SKEW_MS)) {
      result = mine
    } else {
      result = theirs
    }
    agreed[name] = result
    if (!sameIds(result, theirs)) toPush[name] = result
    if (!sameIds(result, mine)) toLocal[name] = result
  }
  return [agreed, toPush, toLocal]
}
