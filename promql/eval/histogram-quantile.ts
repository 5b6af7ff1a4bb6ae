/**
 * histogram_quantile over classic (`le`-labelled) buckets, with Prometheus's fixes for
 * buckets that are not monotonic (float noise below 1e-12 relative, or real decreases).
 */
import { formatGoG } from '../format.js'
import type { Evaluator } from './evaluator.js'
import type { Grid, VectorValue } from './values.js'
import { labelsKey, VSeries } from './values.js'
import type { Labels } from '../api.js'
import type { PosRange } from '../ast.js'

interface Bucket { upper: number; count: number }

const MIN_NORMAL = 2.2250738585072014e-308

/** Prometheus's almost.Equal: relative comparison with an epsilon. */
export function almostEqual(a: number, b: number, epsilon: number): boolean {
  if (Number.isNaN(a) && Number.isNaN(b)) return true
  if (a === b) return true
  const absSum = Math.abs(a) + Math.abs(b)
  const diff = Math.abs(a - b)
  if (a === 0 || b === 0 || absSum < MIN_NORMAL) return diff < epsilon * MIN_NORMAL
  return diff / Math.min(absSum, Number.MAX_VALUE) < epsilon
}

/** Go's strconv.ParseFloat for the `le` label; undefined when malformed. */
export function parseGoFloat(s: string): number | undefined {
  const t = s.toLowerCase()
  if (/^[+-]?(inf|infinity)$/.test(t)) return t.startsWith('-') ? -Infinity : Infinity
  if (/^[+-]?nan$/.test(t)) return NaN
  if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(t)) return Number(t)
  return undefined
}

export function bucketQuantile(q: number, buckets: Bucket[]): { value: number; forcedMonotonic: boolean } {
  if (Number.isNaN(q)) return { value: NaN, forcedMonotonic: false }
  if (q < 0) return { value: -Infinity, forcedMonotonic: false }
  if (q > 1) return { value: Infinity, forcedMonotonic: false }
  buckets.sort((a, b) => (a.upper < b.upper ? -1 : a.upper > b.upper ? 1 : 0))
  if (buckets[buckets.length - 1].upper !== Infinity) return { value: NaN, forcedMonotonic: false }
  // Coalesce buckets with the same upper bound.
  const bs: Bucket[] = []
  for (const b of buckets) {
    const last = bs[bs.length - 1]
    if (last && last.upper === b.upper) last.count += b.count
    else bs.push({ ...b })
  }
  let forcedMonotonic = false
  let prev = bs[0].count
  for (let i = 1; i < bs.length; i++) {
    const curr = bs[i].count
    if (curr === prev) continue
    if (almostEqual(prev, curr, 1e-12)) { bs[i].count = prev; continue }
    if (curr < prev) { bs[i].count = prev; forcedMonotonic = true; continue }
    prev = curr
  }
  if (bs.length < 2) return { value: NaN, forcedMonotonic }
  const observations = bs[bs.length - 1].count
  if (observations === 0) return { value: NaN, forcedMonotonic }
  let rank = q * observations
  // First bucket (excluding +Inf) whose count reaches the rank.
  let b = 0
  while (b < bs.length - 1 && !(bs[b].count >= rank)) b++
  if (b === bs.length - 1) return { value: bs[bs.length - 2].upper, forcedMonotonic }
  if (b === 0 && bs[0].upper <= 0) return { value: bs[0].upper, forcedMonotonic }
  let start = 0
  const end = bs[b].upper
  let count = bs[b].count
  if (b > 0) {
    start = bs[b - 1].upper
    count -= bs[b - 1].count
    rank -= bs[b - 1].count
  }
  return { value: start + (end - start) * (rank / count), forcedMonotonic }
}

export function histogramQuantile(ev: Evaluator, q: Float64Array, v: VectorValue, g: Grid, qPos: PosRange, vPos: PosRange): VectorValue {
  // Group bucket series by their labels without `le` (the name stays: delayed name removal).
  const groups = new Map<string, { labels: Labels; members: { s: VSeries; upper: number }[] }>()
  for (const s of v.series) {
    const upper = parseGoFloat(s.labels.le ?? '')
    if (upper === undefined) {
      ev.warn(`PromQL warning: bucket label "le" is missing or has a malformed value of ${JSON.stringify(s.labels.le ?? '')} for metric name ${JSON.stringify(s.labels.__name__ ?? '')}`, vPos)
      continue
    }
    const labels: Record<string, string> = { ...s.labels }
    delete labels.le
    const key = labelsKey(labels)
    let grp = groups.get(key)
    if (!grp) { grp = { labels, members: [] }; groups.set(key, grp) }
    grp.members.push({ s, upper })
  }
  for (let i = 0; i < g.n; i++) {
    if (Number.isNaN(q[i]) || q[i] < 0 || q[i] > 1) {
      ev.warn(`PromQL warning: quantile value should be between 0 and 1, got ${formatGoG(q[i])}`, qPos)
    }
  }
  const out: VSeries[] = []
  for (const grp of groups.values()) {
    const r = VSeries.empty(grp.labels, true, g.n)
    for (let i = 0; i < g.n; i++) {
      const buckets: Bucket[] = []
      for (const m of grp.members) if (m.s.present[i]) buckets.push({ upper: m.upper, count: m.s.values[i] })
      if (buckets.length === 0) continue
      const res = bucketQuantile(q[i], buckets)
      if (res.forcedMonotonic) {
        ev.info(`PromQL info: input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name ${JSON.stringify(grp.labels.__name__ ?? '')}`, vPos)
      }
      r.values[i] = res.value
      r.present[i] = 1
    }
    if (r.present.includes(1)) out.push(r)
  }
  return { kind: 'vector', series: out }
}

/** Fraction of observations between lower and upper, interpolating inside buckets (Prometheus's BucketFraction). */
export function bucketFraction(lower: number, upper: number, buckets: Bucket[]): number {
  buckets.sort((a, b) => (a.upper < b.upper ? -1 : a.upper > b.upper ? 1 : 0))
  if (buckets[buckets.length - 1].upper !== Infinity) return NaN
  const bs: Bucket[] = []
  for (const b of buckets) {
    const last = bs[bs.length - 1]
    if (last && last.upper === b.upper) last.count += b.count
    else bs.push({ ...b })
  }
  const count = bs[bs.length - 1].count
  if (count === 0 || Number.isNaN(lower) || Number.isNaN(upper)) return NaN
  if (lower >= upper) return 0
  let rank = 0, lowerRank = 0, upperRank = 0, lowerSet = false, upperSet = false
  for (let i = 0; i < bs.length; i++) {
    const b = bs[i]
    const lowerBound = i > 0 ? bs[i - 1].upper : -Infinity
    const upperBound = b.upper
    const interp = (v: number): number => rank + (b.count - rank) * (v - lowerBound) / (upperBound - lowerBound)
    if (!lowerSet && lowerBound >= lower) { lowerRank = rank; lowerSet = true }
    if (!upperSet && lowerBound >= upper) { upperRank = rank; upperSet = true }
    if (lowerSet && upperSet) break
    if (!lowerSet && lowerBound < lower && upperBound > lower) { lowerRank = interp(lower); lowerSet = true }
    if (!upperSet && lowerBound < upper && upperBound > upper) { upperRank = interp(upper); upperSet = true }
    if (lowerSet && upperSet) break
    rank = b.count
  }
  if (!lowerSet || lowerRank > count) lowerRank = count
  if (!upperSet || upperRank > count) upperRank = count
  return (upperRank - lowerRank) / count
}

export function histogramFraction(ev: Evaluator, lower: Float64Array, upper: Float64Array, v: VectorValue, g: Grid, vPos: PosRange): VectorValue {
  return perBucketGroup(ev, v, g, vPos, (i, buckets) => bucketFraction(lower[i], upper[i], buckets))
}

function perBucketGroup(ev: Evaluator, v: VectorValue, g: Grid, vPos: PosRange, fn: (step: number, buckets: Bucket[]) => number): VectorValue {
  const groups = new Map<string, { labels: Labels; members: { s: VSeries; upper: number }[] }>()
  for (const s of v.series) {
    const upper = parseGoFloat(s.labels.le ?? '')
    if (upper === undefined) {
      ev.warn(`PromQL warning: bucket label "le" is missing or has a malformed value of ${JSON.stringify(s.labels.le ?? '')} for metric name ${JSON.stringify(s.labels.__name__ ?? '')}`, vPos)
      continue
    }
    const labels: Record<string, string> = { ...s.labels }
    delete labels.le
    const key = labelsKey(labels)
    let grp = groups.get(key)
    if (!grp) { grp = { labels, members: [] }; groups.set(key, grp) }
    grp.members.push({ s, upper })
  }
  const out: VSeries[] = []
  for (const grp of groups.values()) {
    const r = VSeries.empty(grp.labels, true, g.n)
    for (let i = 0; i < g.n; i++) {
      const buckets: Bucket[] = []
      for (const m of grp.members) if (m.s.present[i]) buckets.push({ upper: m.upper, count: m.s.values[i] })
      if (buckets.length === 0) continue
      r.values[i] = fn(i, buckets)
      r.present[i] = 1
    }
    if (r.present.includes(1)) out.push(r)
  }
  return { kind: 'vector', series: out }
}
