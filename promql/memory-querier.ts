/**
 * An in-memory Querier: the engine's storage in unit tests and in the promqltest runner's
 * default mode. Series are kept sorted by labels (as Prometheus's TSDB returns them) and
 * samples by time; `select` honours the hints' time bounds and the matchers (RE2, anchored).
 */
import type { LabelMatcher, Labels, Querier, SelectHints, SeriesData } from './api.js'
import { compareLabels } from './eval/functions.js'
import { labelsKey } from './eval/values.js'
import { compileAnchored } from './regex.js'

export interface MemorySample {
  readonly t: number
  readonly v: number
  readonly stale?: boolean
}

interface StoredSeries {
  labels: Labels
  ts: number[]
  vs: number[]
  stale: number[]
}

export function matchesAll(labels: Labels, matchers: readonly LabelMatcher[]): boolean {
  for (const m of matchers) {
    const v = labels[m.name] ?? ''
    switch (m.type) {
      case '=': if (v !== m.value) return false; break
      case '!=': if (v === m.value) return false; break
      case '=~': if (!compileAnchored(m.value).matches(v)) return false; break
      case '!~': if (compileAnchored(m.value).matches(v)) return false; break
    }
  }
  return true
}

function lowerBound(a: number[], t: number): number {
  let lo = 0, hi = a.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (a[mid] < t) lo = mid + 1
    else hi = mid
  }
  return lo
}

export class MemoryQuerier implements Querier {
  private readonly series = new Map<string, StoredSeries>()
  private sorted: StoredSeries[] | undefined
  /** Every select call's hints, newest last (tests assert on what the engine asked for). */
  readonly selects: { matchers: readonly LabelMatcher[]; hints: SelectHints }[] = []

  /** Adds samples; a later sample at an existing timestamp replaces the earlier one. */
  add(labels: Labels, samples: readonly MemorySample[]): void {
    const clean: Record<string, string> = {}
    for (const k of Object.keys(labels)) if (labels[k] !== '') clean[k] = labels[k]
    const key = labelsKey(clean)
    let s = this.series.get(key)
    if (!s) {
      s = { labels: clean, ts: [], vs: [], stale: [] }
      this.series.set(key, s)
      this.sorted = undefined
    }
    for (const p of samples) {
      const i = lowerBound(s.ts, p.t)
      if (s.ts[i] === p.t) {
        s.vs[i] = p.v
        s.stale[i] = p.stale ? 1 : 0
      } else {
        s.ts.splice(i, 0, p.t)
        s.vs.splice(i, 0, p.stale ? NaN : p.v)
        s.stale.splice(i, 0, p.stale ? 1 : 0)
      }
    }
  }

  clear(): void {
    this.series.clear()
    this.sorted = undefined
  }

  async select(matchers: readonly LabelMatcher[], hints: SelectHints, signal?: AbortSignal): Promise<SeriesData[]> {
    this.selects.push({ matchers, hints })
    if (signal?.aborted) throw new Error('select aborted')
    if (!this.sorted) this.sorted = [...this.series.values()].sort((a, b) => compareLabels(a.labels, b.labels))
    const out: SeriesData[] = []
    for (const s of this.sorted) {
      if (!matchesAll(s.labels, matchers)) continue
      const lo = lowerBound(s.ts, hints.start)
      const hi = lowerBound(s.ts, hints.end + 1)
      if (hi <= lo) continue
      const stale = s.stale.slice(lo, hi)
      out.push({
        labels: s.labels,
        timestamps: s.ts.slice(lo, hi),
        values: s.vs.slice(lo, hi),
        ...(stale.includes(1) ? { stale } : {}),
      })
    }
    return out
  }
}
