/**
 * The ruler's own recent writes, readable at once. Rule results go to the write path's Sink,
 * which makes them durable but queryable only after the flusher or ingester has moved them
 * into ClickHouse; the compliance spec wants a rule's ALERTS and recording results visible to
 * the next rule of the same evaluation. The overlay Querier answers from storage and from
 * these samples together (same series merged by timestamp; storage wins on a tie).
 */
import type { LabelMatcher, Labels, Querier, QueryRange, SelectHints, SeriesData, SubtreeGrid } from '../promql/api.js'
import { selectorsIn, type Expr } from '../promql/ast.js'
import { compileAnchored } from '../promql/regex.js'
import { labelsKey, type OutputSample } from './types.js'

interface Held {
  labels: Labels
  ts: number[]
  vs: number[]
  stale: number[]
}

export class RecentSamples {
  private readonly series = new Map<string, Held>()

  constructor(
    /** How long samples are kept: the lookback delta plus a margin for late flushes. */
    private readonly retainMs = 10 * 60_000,
  ) {}

  add(samples: readonly OutputSample[]): void {
    for (const s of samples) {
      const key = labelsKey(s.labels)
      let h = this.series.get(key)
      if (!h) this.series.set(key, (h = { labels: s.labels, ts: [], vs: [], stale: [] }))
      const last = h.ts[h.ts.length - 1]
      if (last !== undefined && s.timestampMs <= last) continue // out of order: storage has it
      h.ts.push(s.timestampMs)
      h.vs.push(s.stale ? NaN : s.value)
      h.stale.push(s.stale ? 1 : 0)
    }
  }

  /** Forget what is older than the retention, relative to `now`. */
  trim(now: number): void {
    const cutoff = now - this.retainMs
    for (const [key, h] of this.series) {
      let i = 0
      while (i < h.ts.length && h.ts[i]! < cutoff) i++
      if (i === h.ts.length) this.series.delete(key)
      else if (i > 0) {
        h.ts.splice(0, i)
        h.vs.splice(0, i)
        h.stale.splice(0, i)
      }
    }
  }

  select(matchers: readonly LabelMatcher[], start: number, end: number): SeriesData[] {
    const out: SeriesData[] = []
    for (const h of this.series.values()) {
      if (!matchers.every((m) => matches(m, h.labels[m.name] ?? ''))) continue
      const idx = h.ts.flatMap((t, i) => (t >= start && t <= end ? [i] : []))
      if (idx.length === 0) continue
      out.push({ labels: h.labels, timestamps: idx.map((i) => h.ts[i]!), values: idx.map((i) => h.vs[i]!), stale: idx.map((i) => h.stale[i]!) })
    }
    return out
  }
}

function matches(m: LabelMatcher, v: string): boolean {
  switch (m.type) {
    case '=':
      return v === m.value
    case '!=':
      return v !== m.value
    case '=~':
      return compileAnchored(m.value).matches(v)
    case '!~':
      return !compileAnchored(m.value).matches(v)
  }
}

/**
 * Storage plus the ruler's recent writes; a query's view (forQuery) of storage stays overlaid.
 * A subtree storage could evaluate whole (Querier.evaluate) goes to it only when none of its
 * selectors matches a recent write: storage cannot see those yet.
 */
export function overlayQuerier(base: Querier, recent: RecentSamples): Querier {
  const scoped = base.forQuery?.bind(base)
  const evaluate = base.evaluate?.bind(base)
  return {
    ...(scoped ? { forQuery: (range: QueryRange) => overlayQuerier(scoped(range), recent) } : {}),
    ...(evaluate
      ? {
          evaluate: async (expr: Expr, grid: SubtreeGrid, signal?: AbortSignal) =>
            selectorsIn(expr).some((sel) => recent.select(sel.matchers, -Infinity, Infinity).length > 0) ? undefined : evaluate(expr, grid, signal),
        }
      : {}),
    async select(matchers: readonly LabelMatcher[], hints: SelectHints, signal?: AbortSignal): Promise<SeriesData[]> {
      const stored = await base.select(matchers, hints, signal)
      const extra = recent.select(matchers, hints.start, hints.end)
      if (extra.length === 0) return stored
      const byKey = new Map(stored.map((s) => [labelsKey(s.labels), s]))
      for (const e of extra) {
        const key = labelsKey(e.labels)
        const s = byKey.get(key)
        byKey.set(key, s ? mergeSeries(s, e) : e)
      }
      return [...byKey.values()]
    },
  }
}

function mergeSeries(a: SeriesData, b: SeriesData): SeriesData {
  const points: [number, number, number][] = []
  for (let i = 0; i < a.timestamps.length; i++) points.push([a.timestamps[i]!, a.values[i]!, a.stale?.[i] ?? 0])
  const have = new Set(points.map((p) => p[0]))
  for (let i = 0; i < b.timestamps.length; i++) if (!have.has(b.timestamps[i]!)) points.push([b.timestamps[i]!, b.values[i]!, b.stale?.[i] ?? 0])
  points.sort((x, y) => x[0] - y[0])
  return { labels: a.labels, timestamps: points.map((p) => p[0]), values: points.map((p) => p[1]), stale: points.map((p) => p[2]) }
}
