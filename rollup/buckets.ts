/**
 * The rollup row contract in TypeScript (docs/schema.md): how one bucket is derived from raw
 * samples, and how adjacent buckets combine. `bucketsFromSamples` is the reference the
 * property tests hold the ClickHouse refresh to; `combineBuckets` is what a reader of
 * samples_1m / samples_1h does to answer a longer window (the query service may use it).
 */

export type SeriesKind = 'gauge' | 'counter'

export interface RawSample {
  t: number
  v: number
  stale?: boolean
}

/** One rollup row (timestamps in ms). min/max/sum are NaN for counters, as stored. */
export interface Bucket {
  start: number
  count: number
  firstT: number
  lastT: number
  firstV: number
  lastV: number
  resetSum: number
  resets: number
  min: number
  max: number
  sum: number
}

const COUNTER_SUFFIX = /(_total|_count|_sum|_bucket)$/

export function kindOfMetric(metricName: string): SeriesKind {
  return COUNTER_SUFFIX.test(metricName) ? 'counter' : 'gauge'
}

/** Stale markers out, sorted by time, one sample per timestamp (the lowest value wins a tie). */
export function cleanSamples(samples: readonly RawSample[]): RawSample[] {
  const sorted = samples.filter((s) => !s.stale).sort((a, b) => a.t - b.t || a.v - b.v)
  return sorted.filter((s, i) => i === 0 || s.t !== sorted[i - 1]!.t)
}

export function bucketsFromSamples(samples: readonly RawSample[], bucketMs: number, kind: SeriesKind): Bucket[] {
  const clean = cleanSamples(samples)
  const buckets: Bucket[] = []
  let current: RawSample[] = []
  const close = () => {
    if (current.length === 0) return
    buckets.push(bucketOf(current, Math.floor(current[0]!.t / bucketMs) * bucketMs, kind))
    current = []
  }
  for (const s of clean) {
    if (current.length > 0 && Math.floor(s.t / bucketMs) !== Math.floor(current[0]!.t / bucketMs)) close()
    current.push(s)
  }
  close()
  return buckets
}

function bucketOf(points: readonly RawSample[], start: number, kind: SeriesKind): Bucket {
  let resetSum = 0
  let resets = 0
  let min = Infinity
  let max = -Infinity
  let sum = 0
  for (let i = 0; i < points.length; i++) {
    const v = points[i]!.v
    if (i > 0 && v < points[i - 1]!.v) {
      resetSum += points[i - 1]!.v
      resets++
    }
    min = Math.min(min, v)
    max = Math.max(max, v)
    sum += v
  }
  const counter = kind === 'counter'
  return {
    start,
    count: points.length,
    firstT: points[0]!.t,
    lastT: points[points.length - 1]!.t,
    firstV: points[0]!.v,
    lastV: points[points.length - 1]!.v,
    resetSum: counter ? resetSum : 0,
    resets: counter ? resets : 0,
    min: counter ? NaN : min,
    max: counter ? NaN : max,
    sum: counter ? NaN : sum,
  }
}

/**
 * Adjacent buckets (sorted by start, gaps allowed) as one: a counter that is lower at the
 * start of a bucket than at the end of the one before was reset in between.
 */
export function combineBuckets(buckets: readonly Bucket[], kind: SeriesKind, start = buckets[0]?.start ?? 0): Bucket {
  if (buckets.length === 0) throw new RangeError('combineBuckets needs at least one bucket')
  const first = buckets[0]!
  const out: Bucket = { ...first, start }
  for (let i = 1; i < buckets.length; i++) {
    const b = buckets[i]!
    const prev = buckets[i - 1]!
    if (kind === 'counter' && b.firstV < prev.lastV) {
      out.resetSum += prev.lastV
      out.resets++
    }
    out.count += b.count
    out.lastT = b.lastT
    out.lastV = b.lastV
    out.resetSum += b.resetSum
    out.resets += b.resets
    out.min = Math.min(out.min, b.min)
    out.max = Math.max(out.max, b.max)
    out.sum += b.sum
  }
  return out
}

/** Counter increase inside a bucket (or combined buckets), without extrapolation. */
export function bucketIncrease(b: Bucket): number {
  return b.lastV - b.firstV + b.resetSum
}

/**
 * The oracle: Prometheus' counter increase over time-sorted samples, pair by pair (a drop
 * counts the new value: the counter restarted from zero).
 */
export function increaseOfSamples(sorted: readonly RawSample[]): number {
  let inc = 0
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!.v
    const b = sorted[i]!.v
    inc += b >= a ? b - a : b
  }
  return inc
}
