/**
 * The aggregation of one stream (the WAL, or one Kafka partition): batches in, outputs of
 * closed intervals out. Pure and deterministic: the same state and the same batch give the
 * same outputs and the same next state, which is what makes exactly-once possible (a
 * replayed batch is recomputed from the state saved before it; aggregation/batch-aggregation.ts).
 *
 * Time is the samples' own, never the wall clock (a replay at another hour must close the
 * same intervals):
 * - intervals are (end - interval, end], end a multiple of the interval since the epoch,
 *   the window PromQL's `[interval]` selects at `end`; an output sample has timestamp end;
 * - the watermark is the newest timestamp the stream has seen in matched series; after a
 *   batch, intervals with end <= watermark - lag close and are emitted;
 * - a sample at or before the end of a closed interval is late: dropped, counted;
 * - per input series, samples must move forward in time: a repeated timestamp (a duplicate)
 *   or an older one (out of order) is dropped and counted, as Prometheus's TSDB rejects it.
 * NaN values (stale markers included) carry no value to aggregate and are skipped.
 *
 * Counters (total, increase, rate_sum): the change between consecutive samples of a series,
 * `v - prev`, or `v` when `v < prev` (a reset), belongs to the interval of the later sample.
 * A series' first sample counts from 0 for total/increase once the rule has seen one
 * staleness interval of data (vmagent's rule: earlier, a "new" series may just be one the
 * aggregator had not seen yet), never for the `_prometheus` variants and rate_*.
 */
import { compareUtf8 } from '../proto/fingerprint.js'
import type { Label, Sample } from '../proto/types.js'
import type { SeriesSamples } from '../store/rowbinary-encoder.js'
import { groupLabels, ruleMatches, type AggregationRule, type OutputSpec } from './rules.js'

/** The last sample of an input series: the base of its next counter delta, and its order. */
interface SeriesTrack {
  lastTs: number
  lastValue: number
}

/** One input series within one interval of one group (rate_* and count_series). */
interface SeriesInInterval {
  /** Timestamp of the series' sample before this interval (its first sample if it is new). */
  prevTs: number
  increase: number
  lastTs: number
}

/** What one group (output series) accumulated over one interval. */
interface GroupInterval {
  metricName: string
  labels: Label[]
  sum: number
  count: number
  min: number
  max: number
  lastTs: number
  last: number
  /** Counter increase, first samples of new series counted from 0 (after the warm-up). */
  increase: number
  /** Counter increase, first samples never counted (Prometheus's increase). */
  increasePrometheus: number
  series?: Map<bigint, SeriesInInterval>
  values?: number[]
}

interface RunningTotal {
  total: number
  totalPrometheus: number
  /** End of the last interval the group had samples in: a total unseen for staleness_interval is dropped. */
  lastEnd: number
}

interface RuleState {
  tracks: Map<bigint, SeriesTrack>
  /** Open intervals by end, then groups by key. */
  open: Map<number, Map<string, GroupInterval>>
  totals: Map<string, RunningTotal>
  /** End of the newest closed interval: samples at or before it are late. */
  closedUpTo: number
  /** Timestamp of the first sample the rule saw: the warm-up of first-sample counting starts there. */
  firstTs: number | undefined
}

/** Everything a stream's aggregation needs to continue: serialised after every batch. */
export interface StreamState {
  /** Identifies the rules the state was built for; another set of rules starts afresh. */
  rulesKey: string
  watermark: number
  rules: RuleState[]
}

export interface DroppedSamples {
  late: number
  duplicate: number
  outOfOrder: number
}

export interface ObserveResult {
  /** Output series of the intervals this batch closed, one sample per closed interval. */
  outputs: SeriesSamples[]
  /** matched[i]: input series i matched at least one rule. */
  matched: Uint8Array
  /** Samples aggregated (a sample matched by two rules counts twice). */
  aggregated: number
  dropped: DroppedSamples
}

interface GroupRef {
  key: string
  metricName: string
  labels: Label[]
}

export interface StreamAggregatorOptions {
  /** How long after an interval's end (in sample time) its late samples are still taken. */
  lagMs: number
  fingerprint: (labels: readonly Label[]) => bigint
}

const MATCH_CACHE_MAX = 1_000_000

/** A key that identifies a rule set, to tell whether a saved state belongs to it. */
export function rulesKey(rules: readonly AggregationRule[], lagMs: number): string {
  return JSON.stringify({ lagMs, rules })
}

export function emptyState(rules: readonly AggregationRule[], lagMs: number): StreamState {
  return {
    rulesKey: rulesKey(rules, lagMs),
    watermark: -Infinity,
    rules: rules.map(() => ({ tracks: new Map(), open: new Map(), totals: new Map(), closedUpTo: -Infinity, firstTs: undefined })),
  }
}

/** Prometheus's quantile: linear interpolation between the closest ranks of the sorted values. */
export function quantile(phi: number, sorted: ArrayLike<number>): number {
  if (sorted.length === 0) return NaN
  const rank = phi * (sorted.length - 1)
  const lower = Math.max(0, Math.floor(rank))
  const upper = Math.min(sorted.length - 1, lower + 1)
  const weight = rank - Math.floor(rank)
  return sorted[lower] * (1 - weight) + sorted[upper] * weight
}

function needsSeries(rule: AggregationRule): boolean {
  return rule.outputs.some((o) => o.kind === 'rate_sum' || o.kind === 'rate_avg' || o.kind === 'count_series')
}

function needsValues(rule: AggregationRule): boolean {
  return rule.outputs.some((o) => o.kind === 'quantiles')
}

export class StreamAggregator {
  // Per rule, series id -> its group (null: the rule does not match). Derived, not saved.
  private readonly groupCache: Map<bigint, GroupRef | null>[]

  constructor(
    private readonly rules: readonly AggregationRule[],
    private readonly opts: StreamAggregatorOptions,
    private state: StreamState = emptyState(rules, opts.lagMs),
  ) {
    this.groupCache = rules.map(() => new Map())
  }

  snapshot(): StreamState {
    return this.state
  }

  observe(batch: readonly SeriesSamples[]): ObserveResult {
    const matched = new Uint8Array(batch.length)
    const dropped: DroppedSamples = { late: 0, duplicate: 0, outOfOrder: 0 }
    let aggregated = 0
    let watermark = this.state.watermark
    for (let r = 0; r < this.rules.length; r++) {
      const rule = this.rules[r]
      const rs = this.state.rules[r]
      for (let i = 0; i < batch.length; i++) {
        const s = batch[i]
        const group = this.groupOf(r, s)
        if (!group) continue
        matched[i] = 1
        for (const sample of s.samples) {
          if (Number.isNaN(sample.value)) continue
          const t = sample.timestampMs
          if (t > watermark) watermark = t
          if (t <= rs.closedUpTo) {
            dropped.late++
            continue
          }
          const track = rs.tracks.get(s.ref.id)
          if (track && t <= track.lastTs) {
            if (t === track.lastTs) dropped.duplicate++
            else dropped.outOfOrder++
            continue
          }
          rs.firstTs ??= t
          this.add(rule, rs, group, s.ref.id, track, sample)
          aggregated++
        }
      }
    }
    this.state.watermark = watermark
    const outputs = new Map<string, SeriesSamples>()
    for (let r = 0; r < this.rules.length; r++) this.close(this.rules[r], this.state.rules[r], watermark, outputs)
    return { outputs: [...outputs.values()], matched, aggregated, dropped }
  }

  private groupOf(r: number, s: SeriesSamples): GroupRef | null {
    const cache = this.groupCache[r]
    let g = cache.get(s.ref.id)
    if (g !== undefined) return g
    const rule = this.rules[r]
    if (ruleMatches(rule, s.ref.labels)) {
      const labels = groupLabels(rule, s.ref.labels)
      let key = s.ref.metricName
      for (const l of labels) key += `\xff${l.name}\xff${l.value}`
      g = { key, metricName: s.ref.metricName, labels }
    } else {
      g = null
    }
    if (cache.size >= MATCH_CACHE_MAX) cache.clear()
    cache.set(s.ref.id, g)
    return g
  }

  private add(rule: AggregationRule, rs: RuleState, group: GroupRef, seriesId: bigint, track: SeriesTrack | undefined, sample: Sample): void {
    const t = sample.timestampMs
    const v = sample.value
    const end = Math.ceil(t / rule.intervalMs) * rule.intervalMs
    let groups = rs.open.get(end)
    if (!groups) rs.open.set(end, (groups = new Map()))
    let gi = groups.get(group.key)
    if (!gi) {
      gi = {
        metricName: group.metricName,
        labels: group.labels,
        sum: 0,
        count: 0,
        min: Infinity,
        max: -Infinity,
        lastTs: -Infinity,
        last: NaN,
        increase: 0,
        increasePrometheus: 0,
        series: needsSeries(rule) ? new Map() : undefined,
        values: needsValues(rule) ? [] : undefined,
      }
      groups.set(group.key, gi)
    }
    let delta = 0
    if (track) {
      delta = v >= track.lastValue ? v - track.lastValue : v
      gi.increasePrometheus += delta
      gi.increase += delta
    } else if (rs.firstTs !== undefined && t - rs.firstTs > rule.stalenessMs) {
      gi.increase += v
    }
    gi.sum += v
    gi.count++
    if (v < gi.min) gi.min = v
    if (v > gi.max) gi.max = v
    if (t >= gi.lastTs) {
      gi.lastTs = t
      gi.last = v
    }
    if (gi.series) {
      const si = gi.series.get(seriesId)
      if (si) {
        si.increase += delta
        si.lastTs = t
      } else {
        gi.series.set(seriesId, { prevTs: track ? track.lastTs : t, increase: delta, lastTs: t })
      }
    }
    gi.values?.push(v)
    if (track) {
      track.lastTs = t
      track.lastValue = v
    } else {
      rs.tracks.set(seriesId, { lastTs: t, lastValue: v })
    }
  }

  private close(rule: AggregationRule, rs: RuleState, watermark: number, outputs: Map<string, SeriesSamples>): void {
    if (watermark === -Infinity) return
    const closable = Math.floor((watermark - this.opts.lagMs) / rule.intervalMs) * rule.intervalMs
    if (closable <= rs.closedUpTo) return
    const ends = [...rs.open.keys()].filter((e) => e <= closable).sort((a, b) => a - b)
    for (const end of ends) {
      for (const [key, gi] of rs.open.get(end)!) this.emit(rule, rs, key, gi, end, outputs)
      rs.open.delete(end)
    }
    rs.closedUpTo = closable
    // Relative to what is closed, not to the watermark: with a lag, a series may still be
    // delivering samples well behind the newest one.
    const staleBefore = closable - rule.stalenessMs
    for (const [id, track] of rs.tracks) if (track.lastTs < staleBefore) rs.tracks.delete(id)
    for (const [key, total] of rs.totals) if (total.lastEnd < staleBefore) rs.totals.delete(key)
  }

  private emit(rule: AggregationRule, rs: RuleState, key: string, gi: GroupInterval, end: number, outputs: Map<string, SeriesSamples>): void {
    let running: RunningTotal | undefined
    if (rule.outputs.some((o) => o.kind === 'total' || o.kind === 'total_prometheus')) {
      running = rs.totals.get(key)
      if (!running) rs.totals.set(key, (running = { total: 0, totalPrometheus: 0, lastEnd: end }))
      running.total += gi.increase
      running.totalPrometheus += gi.increasePrometheus
      running.lastEnd = end
    }
    for (const out of rule.outputs) {
      for (const [value, extra] of this.outputValues(out, gi, running)) {
        const name = `${gi.metricName}${rule.suffix}${out.kind}`
        this.put(outputs, name, extra ? [...gi.labels, extra] : gi.labels, end, value)
      }
    }
  }

  /** The values one output yields for a group interval: one, none (rate without a duration), or one per phi. */
  private outputValues(out: OutputSpec, gi: GroupInterval, running: RunningTotal | undefined): [number, Label?][] {
    switch (out.kind) {
      case 'total':
        return [[running!.total]]
      case 'total_prometheus':
        return [[running!.totalPrometheus]]
      case 'increase':
        return [[gi.increase]]
      case 'increase_prometheus':
        return [[gi.increasePrometheus]]
      case 'rate_sum':
      case 'rate_avg': {
        let sum = 0
        let n = 0
        for (const si of gi.series!.values()) {
          const seconds = (si.lastTs - si.prevTs) / 1000
          if (seconds > 0) {
            sum += si.increase / seconds
            n++
          }
        }
        if (n === 0) return []
        return [[out.kind === 'rate_sum' ? sum : sum / n]]
      }
      case 'sum_samples':
        return [[gi.sum]]
      case 'count_samples':
        return [[gi.count]]
      case 'count_series':
        return [[gi.series!.size]]
      case 'min':
        return [[gi.min]]
      case 'max':
        return [[gi.max]]
      case 'avg':
        return [[gi.sum / gi.count]]
      case 'last':
        return [[gi.last]]
      case 'quantiles': {
        const sorted = Float64Array.from(gi.values!).sort()
        return out.phis!.map((phi) => [quantile(phi, sorted), { name: 'quantile', value: String(phi) }])
      }
    }
  }

  private put(outputs: Map<string, SeriesSamples>, name: string, groupLabels: readonly Label[], end: number, value: number): void {
    const labels = [{ name: '__name__', value: name }, ...groupLabels].sort((a, b) => compareUtf8(a.name, b.name))
    let key = name
    for (const l of labels) key += `\xff${l.name}\xff${l.value}`
    let s = outputs.get(key)
    if (!s) {
      s = { ref: { id: this.opts.fingerprint(labels), metricName: name, labels }, samples: [] }
      outputs.set(key, s)
    }
    s.samples.push({ timestampMs: end, value })
  }
}
