// The pull's keyset cursor, as bridge/sync/cursor.py: correct although Odoo sends write_date in whole
// seconds and compares domains against the stored microseconds. A scan from second S reads
// `write_date >= S` ordered `write_date, id`; a drain of second S after id i reads
// `S <= write_date < S+1s and id > i` ordered `id`. Times are epoch milliseconds of whole seconds.
import { formatOdooDatetime, isoformat, parseOdooDatetime } from "./convert.ts"
import type { OdooRecord, Value } from "./odoo.ts"

export const SCAN_ORDER = "write_date asc, id asc"
export const DRAIN_ORDER = "id asc"
const SECOND = 1000

export class PaginationStuck extends Error {
  constructor(message: string) {
    super(message)
    this.name = "PaginationStuck"
  }
}

export interface Position {
  second: number | null
  afterId: number
  drain: boolean
}

const at = (second: number | null, afterId = 0, drain = false): Position => ({ second, afterId, drain })

function key(p: Position): [number, number, number] {
  return [p.second ?? -Infinity, p.drain ? 1 : 0, p.afterId]
}

function lessOrEqual(a: [number, number, number], b: [number, number, number]): boolean {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] < b[i]
  return true
}

export function domain(p: Position, base: Value[]): Value[] {
  if (p.second === null) return [...base]
  const lo = formatOdooDatetime(p.second)
  if (!p.drain) return [["write_date", ">=", lo], ...base]
  return [["write_date", ">=", lo], ["write_date", "<", formatOdooDatetime(p.second + SECOND)], ["id", ">", p.afterId], ...base]
}

export const order = (p: Position) => p.drain ? DRAIN_ORDER : SCAN_ORDER

function describe(p: Position): string {
  const where = p.second === null ? "the first record" : isoformat(p.second)
  return `${p.drain ? "drain" : "scan"} from ${where}` + (p.drain ? ` after id ${p.afterId}` : "")
}

export const wholeSecond = (ms: number) => Math.floor(ms / SECOND) * SECOND

/** cursor.start: the position a stored cursor (S, i) stands for. */
export function start(lastWriteDate: number | null, lastId: number): Position {
  if (lastWriteDate === null) return at(null)
  const second = wholeSecond(lastWriteDate)
  return lastId > 0 ? at(second, lastId, true) : at(second)
}

function secondOf(record: OdooRecord): number {
  const value = parseOdooDatetime(record.write_date)
  if (value === null) throw new PaginationStuck(`record ${record.id} came back without a write_date; cannot page on it`)
  return wholeSecond(value)
}

/** cursor.advance: the cursor to save with the page (or null) and the next position (null: caught up). */
export function advance(pos: Position, page: OdooRecord[], limit: number): [[number, number] | null, Position | null] {
  const full = page.length >= limit
  let save: [number, number]
  let next: Position
  if (pos.drain) {
    const second = pos.second as number
    if (!page.length) return [null, at(second + SECOND)]
    const tail = page[page.length - 1].id as number
    save = [second, tail]
    next = full ? at(second, tail, true) : at(second + SECOND)
  } else {
    if (!page.length) return [null, null]
    const last = secondOf(page[page.length - 1])
    if (!full) return [[last, Math.max(...page.filter((r) => secondOf(r) === last).map((r) => r.id as number))], null]
    save = [last, 0]
    next = secondOf(page[0]) === last ? at(last, 0, true) : at(last)
  }
  if (full && lessOrEqual(key(next), key(pos))) {
    throw new PaginationStuck(`a full page of ${page.length} records did not move the pull cursor (${describe(pos)}; ` +
      `ids ${page[0].id}..${page[page.length - 1].id}, write_date ${page[0].write_date}..${page[page.length - 1].write_date}): ` +
      "Odoo did not apply the cursor's domain; stopping instead of reading the same page again")
  }
  return [save, next]
}
