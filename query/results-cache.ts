/**
 * Results cache for range queries, in the manner of Mimir's/Thanos's query-frontend:
 *
 * - A range query is split at UTC day boundaries. Every step of a range query is evaluated
 *   on its own (PromQL has no state between steps), so the points of one day do not
 *   depend on the rest of the range — except through `@ start()`/`@ end()`, which is why
 *   queries with `@` are not cached (see `cacheable`).
 * - The key of a day is (query, step, day, start % step, resolution tier, lookback delta):
 *   two dashboards whose ranges are shifted by a multiple of the step share entries. The
 *   tier is decided from the whole query (a day of a month-long query reads rollups, the
 *   same day within a one-hour query reads raw), and so are the pieces' reads: they are
 *   evaluated by one evaluator per query (`evaluatorFor`).
 * - A day's entry holds extents: [from, to] spans of that day already evaluated. A request
 *   evaluates only the gaps between extents and stores the merged extent back.
 * - The freshest minutes (`maxFreshnessMs`, data may still arrive) are never stored, nor
 *   queries with a negative offset (they read ahead of the evaluation time) or `@`.
 *
 * The backend is an in-memory LRU by default, Redis when configured, so replicas share it.
 */
import { createHash } from 'node:crypto'
import { Counter, type Registry } from 'prom-client'
import type { Point, QueryOptions, QueryRange, QueryResult } from '../promql/api.js'

const DAY_MS = 86_400_000

export interface CacheBackend {
  readonly name: string
  getMany(keys: readonly string[]): Promise<(string | undefined)[]>
  setMany(entries: readonly { key: string; value: string }[]): Promise<void>
}

interface Extent {
  /** First and last point time covered (inclusive, on the query's step grid). */
  from: number
  to: number
  series: { labels: Record<string, string>; points: [number, number][] }[]
  warnings: string[]
  infos: string[]
}

export type RangeEvaluator = (query: string, start: number, end: number, step: number, opts: QueryOptions) => Promise<QueryResult>

export interface RangeQueryCacheOptions {
  backend: CacheBackend
  /**
   * The evaluator of one whole query; every piece of the query is evaluated by it, so the
   * pieces share what it fixes per query (the querier's view: the rollup tier decided from
   * the whole range, one state of the store).
   */
  evaluatorFor: (whole: QueryRange) => RangeEvaluator
  registry: Registry
  /** Points newer than now - this are computed every time (default 10 minutes). */
  maxFreshnessMs?: number
  /** The engine's default lookback delta, part of the key. */
  lookbackDeltaMs: number
  /** The resolution tier the query reads, decided from the whole query: part of the key (default 'raw'). */
  tierOf?: (step: number, whole: QueryRange) => string
  now?: () => number
}

/** Whether a query's answer for past steps can change later: `@` and negative offsets. */
export function cacheable(query: string): boolean {
  // Conservative on purpose (text, not syntax): an `@` or a negative offset anywhere,
  // string literals included, turns caching off for the query.
  return !query.includes('@') && !/offset\s*-/i.test(query)
}

export class RangeQueryCache {
  private readonly hits: Counter<'backend'>
  private readonly misses: Counter<'backend'>
  private readonly maxFreshnessMs: number
  private readonly now: () => number

  constructor(private readonly opts: RangeQueryCacheOptions) {
    this.maxFreshnessMs = opts.maxFreshnessMs ?? 600_000
    this.now = opts.now ?? Date.now
    this.hits = new Counter({
      name: 'metrichouse_query_cache_hits_total',
      help: 'Day extents of range queries answered from the results cache',
      labelNames: ['backend'],
      registers: [opts.registry],
    })
    this.misses = new Counter({
      name: 'metrichouse_query_cache_misses_total',
      help: 'Day extents of range queries evaluated because the results cache lacked them (in part)',
      labelNames: ['backend'],
      registers: [opts.registry],
    })
  }

  async rangeQuery(query: string, start: number, end: number, step: number, opts: QueryOptions = {}): Promise<QueryResult> {
    const lookback = opts.lookbackDelta ?? this.opts.lookbackDeltaMs
    const whole = { start, end }
    const evaluate = this.opts.evaluatorFor(whole)
    const newestCacheable = this.now() - this.maxFreshnessMs
    if (!cacheable(query) || start > newestCacheable) return evaluate(query, start, end, step, opts)
    const tier = this.opts.tierOf?.(step, whole) ?? 'raw'
    // Last point on the grid that may be cached.
    const cachedEnd = Math.min(end, start + Math.floor((newestCacheable - start) / step) * step)
    const days: { key: string; from: number; to: number }[] = []
    for (let dayStart = Math.floor(start / DAY_MS) * DAY_MS; dayStart <= cachedEnd; dayStart += DAY_MS) {
      const from = Math.max(start, start + Math.ceil((dayStart - start) / step) * step)
      const to = Math.min(cachedEnd, start + Math.floor((dayStart + DAY_MS - 1 - start) / step) * step)
      if (from > to) continue
      // Hashed: the query text may be long, and Redis keys are better short.
      const key = createHash('sha256')
        .update(JSON.stringify(['range', query, step, dayStart / DAY_MS, ((start % step) + step) % step, tier, lookback]))
        .digest('base64url')
      days.push({ key, from, to })
    }
    // A cache that fails (Redis down) costs speed, never answers.
    const stored = await this.opts.backend.getMany(days.map((d) => d.key)).catch(() => days.map(() => undefined))
    const pieces: Extent[] = []
    const writes: { key: string; value: string }[] = []
    for (let i = 0; i < days.length; i++) {
      const day = days[i]
      const extents: Extent[] = stored[i] ? decodeExtents(stored[i] as string) : []
      const gaps = missing(extents, day.from, day.to, step)
      if (gaps.length === 0) this.hits.inc({ backend: this.opts.backend.name })
      else this.misses.inc({ backend: this.opts.backend.name })
      const fresh: Extent[] = []
      for (const [from, to] of gaps) fresh.push(toExtent(await evaluate(query, from, to, step, opts), from, to))
      if (fresh.length > 0) writes.push({ key: day.key, value: encodeExtents(mergeExtents([...extents, ...fresh], step)) })
      pieces.push(...slice([...extents, ...fresh], day.from, day.to))
    }
    if (cachedEnd < end) {
      const from = cachedEnd + step
      pieces.push(toExtent(await evaluate(query, from, end, step, opts), from, end))
    }
    if (writes.length > 0) await this.opts.backend.setMany(writes).catch(() => {})
    return combine(pieces)
  }
}

function toExtent(result: QueryResult, from: number, to: number): Extent {
  if (result.value.type !== 'matrix') throw new Error(`range query returned a ${result.value.type}`)
  return {
    from,
    to,
    series: result.value.series.map((s) => ({ labels: { ...s.labels }, points: s.points.map((p) => [p.t, p.v] as [number, number]) })),
    warnings: [...result.warnings],
    infos: [...result.infos],
  }
}

/** The spans of [from, to] (on the step grid) no extent covers. */
function missing(extents: readonly Extent[], from: number, to: number, step: number): [number, number][] {
  const sorted = [...extents].sort((a, b) => a.from - b.from)
  const gaps: [number, number][] = []
  let cursor = from
  for (const e of sorted) {
    if (e.to < cursor) continue
    if (e.from > to) break
    if (e.from > cursor) gaps.push([cursor, Math.min(to, e.from - step)])
    cursor = Math.max(cursor, e.to + step)
    if (cursor > to) break
  }
  if (cursor <= to) gaps.push([cursor, to])
  return gaps.filter(([a, b]) => a <= b)
}

/** Joins overlapping or adjacent extents so a day's entry stays a few extents at most. */
function mergeExtents(extents: Extent[], step: number): Extent[] {
  const sorted = [...extents].sort((a, b) => a.from - b.from)
  const out: Extent[] = []
  for (const e of sorted) {
    const last = out[out.length - 1]
    if (last && e.from <= last.to + step) {
      const joined = combineExtents([last, e])
      out[out.length - 1] = { ...joined, from: last.from, to: Math.max(last.to, e.to) }
    } else {
      out.push(e)
    }
  }
  return out
}

function slice(extents: readonly Extent[], from: number, to: number): Extent[] {
  return extents
    .filter((e) => e.to >= from && e.from <= to)
    .map((e) => ({
      ...e,
      from: Math.max(e.from, from),
      to: Math.min(e.to, to),
      series: e.series.map((s) => ({ labels: s.labels, points: s.points.filter(([t]) => t >= from && t <= to) })).filter((s) => s.points.length > 0),
    }))
}

function combineExtents(extents: readonly Extent[]): Extent {
  const bySeries = new Map<string, { labels: Record<string, string>; points: Map<number, number> }>()
  const warnings = new Set<string>()
  const infos = new Set<string>()
  for (const e of extents) {
    e.warnings.forEach((w) => warnings.add(w))
    e.infos.forEach((w) => infos.add(w))
    for (const s of e.series) {
      const key = JSON.stringify(Object.entries(s.labels).sort())
      let entry = bySeries.get(key)
      if (!entry) bySeries.set(key, (entry = { labels: s.labels, points: new Map() }))
      for (const [t, v] of s.points) entry.points.set(t, v)
    }
  }
  const series = [...bySeries.values()]
    .sort((a, b) => compareLabels(a.labels, b.labels))
    .map((s) => ({ labels: s.labels, points: [...s.points.entries()].sort((a, b) => a[0] - b[0]) }))
  return { from: Math.min(...extents.map((e) => e.from)), to: Math.max(...extents.map((e) => e.to)), series, warnings: [...warnings], infos: [...infos] }
}

function combine(pieces: readonly Extent[]): QueryResult {
  if (pieces.length === 0) return { value: { type: 'matrix', series: [] }, warnings: [], infos: [] }
  const joined = combineExtents(pieces)
  return {
    value: {
      type: 'matrix',
      series: joined.series.map((s) => ({ labels: s.labels, points: s.points.map(([t, v]): Point => ({ t, v })) })),
    },
    warnings: joined.warnings,
    infos: joined.infos,
  }
}

/** Prometheus's labels.Compare: label by label in name order, names then values. */
export function compareLabels(a: Record<string, string>, b: Record<string, string>): number {
  const ka = Object.keys(a).sort()
  const kb = Object.keys(b).sort()
  for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
    if (ka[i] !== kb[i]) return ka[i] < kb[i] ? -1 : 1
    const va = a[ka[i]]
    const vb = b[kb[i]]
    if (va !== vb) return va < vb ? -1 : 1
  }
  return ka.length - kb.length
}

// JSON has no NaN, infinities or negative zero: those values travel as strings.
function encodeExtents(extents: readonly Extent[]): string {
  return JSON.stringify(extents, (key, value: unknown) => {
    if (typeof value !== 'number') return value
    if (Number.isNaN(value)) return 'NaN'
    if (value === Infinity) return 'Inf'
    if (value === -Infinity) return '-Inf'
    if (Object.is(value, -0)) return '-0'
    return value
  })
}

const SPECIAL: Record<string, number> = { NaN: NaN, Inf: Infinity, '-Inf': -Infinity, '-0': -0 }

function decodeExtents(text: string): Extent[] {
  const extents = JSON.parse(text) as Extent[]
  for (const e of extents) {
    for (const s of e.series) {
      for (const p of s.points) if (typeof p[1] === 'string') p[1] = SPECIAL[p[1] as string] ?? NaN
    }
  }
  return extents
}
