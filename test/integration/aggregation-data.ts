/**
 * Test data and PromQL references for stream aggregation, shared by the serve test and the
 * Kafka test: counters with a reset and a series that appears later, gauges, latencies;
 * every sample sent twice (each request repeats the previous step), one instance 30 s
 * behind the rest (late, within the lag), one instance sent minutes late (dropped).
 *
 * Samples sit 5 s before each 15 s step, so the subquery `[1m:15s]` evaluated at an
 * interval's end sees exactly the samples of (end - 1m, end]: the reference for counter
 * increases, `(x - x offset 15s) >= 0 or x` summed over the interval, is the change between
 * consecutive samples with a reset counted as the value after it, which is what the
 * aggregator computes.
 */
import { expect } from 'vitest'
import type { SeriesToEncode } from '../../proto/encode-v1.js'
import { prng } from '../prng.js'

export const STEP_MS = 15_000
export const STEPS = 14 * 4
export const LAG = '2m'
/** The instance whose samples arrive after their interval closed. */
export const STRAGGLER = 'straggler'

export const RULES_YAML = `# stream aggregation rules of the aggregation tests
- match: 'agg_requests_total'
  interval: 1m
  without: [instance]
  outputs: [increase, total, rate_sum]
- match: 'agg_load'
  interval: 1m
  without: [instance]
  outputs: [sum_samples, count_samples, count_series, min, max, avg]
- match: 'agg_latency'
  interval: 1m
  by: [instance, job]
  outputs: ['quantiles(0.5, 0.9)', last]
- match: 'agg_clock'
  interval: 1m
  outputs: [count_samples]
`

export interface AggregationData {
  t0: number
  /** Requests in sending order (each repeats the step before it: duplicates). */
  requests: SeriesToEncode[][]
  /** Sent after the rest landed: every sample of it is late. */
  stragglerRequest: SeriesToEncode[]
  /** Moves the watermark past every interval. */
  clockRequest: SeriesToEncode[]
  stragglerSamples: number
}

function labels(name: string, instance: string, job: string) {
  return [
    { name: '__name__', value: name },
    { name: 'instance', value: instance },
    { name: 'job', value: job },
  ]
}

export function aggregationData(seed: number): AggregationData {
  const rand = prng(seed)
  const t0 = Math.floor((Date.now() - 40 * 60_000) / 60_000) * 60_000
  const at = (k: number) => t0 + k * STEP_MS - 5000
  const instances: { instance: string; job: string; from: number; delaySteps: number }[] = []
  for (const job of ['a', 'b']) for (const instance of ['i0', 'i1', 'i2']) instances.push({ instance, job, from: 1, delaySteps: 0 })
  instances.push({ instance: 'late', job: 'a', from: 1, delaySteps: 2 })
  instances.push({ instance: 'i3', job: 'b', from: 21, delaySteps: 0 })
  const counters = new Map<string, number>()
  // Per step, the series each instance produced at that step.
  const produced: SeriesToEncode[][] = []
  for (let k = 1; k <= STEPS; k++) {
    const step: SeriesToEncode[] = []
    for (const inst of instances) {
      if (k < inst.from) continue
      const key = `${inst.instance}/${inst.job}`
      let c = (counters.get(key) ?? Math.floor(rand() * 1000)) + Math.floor(rand() * 50)
      if (inst.instance === 'i1' && k === 17) c = Math.floor(rand() * 5) // a counter reset
      counters.set(key, c)
      const t = at(k)
      step.push({ labels: labels('agg_requests_total', inst.instance, inst.job), samples: [{ timestampMs: t, value: c }], delay: inst.delaySteps } as SeriesToEncode & { delay: number })
      step.push({ labels: labels('agg_load', inst.instance, inst.job), samples: [{ timestampMs: t, value: Math.floor(rand() * 100) }], delay: inst.delaySteps } as SeriesToEncode & { delay: number })
      step.push({ labels: labels('agg_latency', inst.instance, inst.job), samples: [{ timestampMs: t, value: Math.floor(rand() * 1000) / 8 }], delay: inst.delaySteps } as SeriesToEncode & { delay: number })
    }
    produced.push(step)
  }
  // Request r repeats what was due at step r - 1 (duplicates), then carries what is due at
  // step r (including delayed instances' earlier samples).
  const due: SeriesToEncode[][] = produced.map(() => [])
  produced.forEach((step, i) => {
    for (const s of step as (SeriesToEncode & { delay: number })[]) {
      const at = Math.min(produced.length - 1, i + s.delay)
      due[at].push({ labels: s.labels, samples: s.samples })
    }
  })
  const requests = due.map((d, i) => [...(i > 0 ? due[i - 1] : []), ...d])
  const stragglerRequest: SeriesToEncode[] = [
    { labels: labels('agg_load', STRAGGLER, 'a'), samples: Array.from({ length: 20 }, (_, i) => ({ timestampMs: at(i + 10), value: 1e6 })) },
  ]
  const clockRequest: SeriesToEncode[] = [{ labels: [{ name: '__name__', value: 'agg_clock' }], samples: [{ timestampMs: at(STEPS) + 10 * 60_000, value: 1 }] }]
  return { t0, requests, stragglerRequest, clockRequest, stragglerSamples: 20 }
}

export type RangeQuery = (expr: string, start: number, end: number, stepMs: number) => Promise<{ metric: Record<string, string>; values: [number, string][] }[]>

function keyed(result: Awaited<ReturnType<RangeQuery>>, drop: string[]): Map<string, Map<number, number>> {
  const out = new Map<string, Map<number, number>>()
  for (const s of result) {
    const labels = Object.entries(s.metric)
      .filter(([k]) => k !== '__name__' && !drop.includes(k))
      .sort()
      .map(([k, v]) => `${k}=${v}`)
      .join(',')
    out.set(labels, new Map(s.values.map(([t, v]) => [Math.round(t * 1000), Number(v)])))
  }
  return out
}

const NOT_STRAGGLER = `instance!="${STRAGGLER}"`
const INCREASE = `sum without (instance) (sum_over_time((((agg_requests_total - agg_requests_total offset 15s) >= 0) or agg_requests_total)[1m:15s]))`

/** [aggregated series, PromQL over the raw data, label to ignore, first interval to compare (minutes after t0)] */
export const COMPARISONS: [string, string, string[], number][] = [
  ['agg_requests_total:1m_without_instance_increase', INCREASE, [], 3],
  ['agg_requests_total:1m_without_instance_total - agg_requests_total:1m_without_instance_total offset 1m', INCREASE, [], 3],
  // rate_sum: every series' rate over 60 s, once no series is new in the interval (i3 starts at minute 5).
  ['agg_requests_total:1m_without_instance_rate_sum', `${INCREASE} / 60`, [], 7],
  ['agg_load:1m_without_instance_sum_samples', `sum without (instance) (sum_over_time(agg_load{${NOT_STRAGGLER}}[1m]))`, [], 1],
  ['agg_load:1m_without_instance_count_samples', `sum without (instance) (count_over_time(agg_load{${NOT_STRAGGLER}}[1m]))`, [], 1],
  ['agg_load:1m_without_instance_count_series', `count without (instance) (count_over_time(agg_load{${NOT_STRAGGLER}}[1m]))`, [], 1],
  ['agg_load:1m_without_instance_min', `min without (instance) (min_over_time(agg_load{${NOT_STRAGGLER}}[1m]))`, [], 1],
  ['agg_load:1m_without_instance_max', `max without (instance) (max_over_time(agg_load{${NOT_STRAGGLER}}[1m]))`, [], 1],
  ['agg_load:1m_without_instance_avg', `sum without (instance) (sum_over_time(agg_load{${NOT_STRAGGLER}}[1m])) / sum without (instance) (count_over_time(agg_load{${NOT_STRAGGLER}}[1m]))`, [], 1],
  ['agg_latency:1m_by_instance_job_quantiles{quantile="0.5"}', 'quantile_over_time(0.5, agg_latency[1m])', ['quantile'], 1],
  ['agg_latency:1m_by_instance_job_quantiles{quantile="0.9"}', 'quantile_over_time(0.9, agg_latency[1m])', ['quantile'], 1],
  ['agg_latency:1m_by_instance_job_last', 'last_over_time(agg_latency[1m])', [], 1],
]

/** Asserts each aggregated series equals its PromQL reference at every interval end of the data. */
export async function expectAggregatesMatchPromQL(query: RangeQuery, data: AggregationData): Promise<number> {
  const lastEnd = data.t0 + 14 * 60_000
  let compared = 0
  for (const [aggregated, reference, drop, fromMinute] of COMPARISONS) {
    const start = data.t0 + fromMinute * 60_000
    const got = keyed(await query(aggregated, start, lastEnd, 60_000), drop)
    const want = keyed(await query(reference, start, lastEnd, 60_000), drop)
    expect([...got.keys()].sort(), aggregated).toEqual([...want.keys()].sort())
    for (const [series, wantPoints] of want) {
      const gotPoints = got.get(series)!
      expect([...gotPoints.keys()], `${aggregated} ${series}`).toEqual([...wantPoints.keys()])
      for (const [t, v] of wantPoints) {
        const g = gotPoints.get(t)!
        expect(Math.abs(g - v) <= 1e-9 * Math.max(1, Math.abs(v)), `${aggregated} {${series}} at ${new Date(t).toISOString()}: aggregated ${g}, PromQL ${v}`).toBe(true)
        compared++
      }
    }
  }
  return compared
}
