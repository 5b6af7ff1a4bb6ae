import { deserialize, serialize } from 'node:v8'
import { describe, expect, it } from 'vitest'
import { Fingerprinter } from '../proto/fingerprint.js'
import type { SeriesSamples } from '../store/rowbinary-encoder.js'
import { parseAggregationRules } from './rules.js'
import { StreamAggregator, type StreamState } from './stream-aggregator.js'

const fingerprinter = await Fingerprinter.create()

/** `name{a="b"}` with [t, v] pairs (t in seconds). */
function series(text: string, points: [number, number][]): SeriesSamples {
  const m = /^([a-z_]+)\{(.*)\}$/.exec(text)!
  const labels = [{ name: '__name__', value: m[1] }]
  for (const pair of m[2].split(',').filter(Boolean)) {
    const [name, value] = pair.split('=')
    labels.push({ name, value: value.replace(/"/g, '') })
  }
  labels.sort((a, b) => (a.name < b.name ? -1 : 1))
  return { ref: { id: fingerprinter.fingerprint(labels), metricName: m[1], labels }, samples: points.map(([t, value]) => ({ timestampMs: t * 1000, value })) }
}

/** Outputs as `name{labels} t=v` lines, sorted. */
function lines(outputs: SeriesSamples[]): string[] {
  const out: string[] = []
  for (const s of outputs) {
    const labels = s.ref.labels.filter((l) => l.name !== '__name__').map((l) => `${l.name}="${l.value}"`).join(',')
    for (const p of s.samples) out.push(`${s.ref.metricName}{${labels}} ${p.timestampMs / 1000}=${p.value}`)
  }
  return out.sort()
}

interface Case {
  name: string
  rules: string
  lagS?: number
  batches: SeriesSamples[][]
  want: string[]
  dropped?: { late?: number; duplicate?: number; outOfOrder?: number }
}

const cases: () => Case[] = () => [
  {
    name: 'sums, counts, extremes, average and last per group over (end - 60s, end]',
    rules: `- { match: 'cpu', interval: 1m, without: [instance], outputs: [sum_samples, count_samples, count_series, min, max, avg, last] }`,
    batches: [
      [series('cpu{instance="a",job="x"}', [[10, 1], [40, 3]]), series('cpu{instance="b",job="x"}', [[20, 5], [60, 7]])],
      [series('cpu{instance="a",job="x"}', [[100, 0]])],
    ],
    want: [
      'cpu:1m_without_instance_avg{job="x"} 60=4',
      'cpu:1m_without_instance_count_samples{job="x"} 60=4',
      'cpu:1m_without_instance_count_series{job="x"} 60=2',
      'cpu:1m_without_instance_last{job="x"} 60=7',
      'cpu:1m_without_instance_max{job="x"} 60=7',
      'cpu:1m_without_instance_min{job="x"} 60=1',
      'cpu:1m_without_instance_sum_samples{job="x"} 60=16',
    ],
  },
  {
    name: 'counter resets count the value after the reset; deltas across intervals go to the later one',
    rules: `- { match: 'req_total', interval: 1m, by: [job], outputs: [increase, increase_prometheus, total, rate_sum] }`,
    batches: [
      [series('req_total{instance="a",job="x"}', [[15, 10], [30, 20], [45, 5], [60, 15]])],
      [series('req_total{instance="a",job="x"}', [[75, 25], [90, 45], [105, 45], [120, 50]])],
      [series('req_total{instance="a",job="x"}', [[200, 60]])],
    ],
    // Interval 1: 10 (20-10) + 5 (reset) + 10 = 25 over 45s; the first sample is in the warm-up.
    // Interval 2: 10 + 20 + 0 + 5 = 35 over 60s (from the sample at 60).
    want: [
      'req_total:1m_by_job_increase_prometheus{job="x"} 120=35',
      'req_total:1m_by_job_increase_prometheus{job="x"} 60=25',
      'req_total:1m_by_job_increase{job="x"} 120=35',
      'req_total:1m_by_job_increase{job="x"} 60=25',
      'req_total:1m_by_job_rate_sum{job="x"} 120=0.5833333333333334',
      'req_total:1m_by_job_rate_sum{job="x"} 60=0.5555555555555556',
      'req_total:1m_by_job_total{job="x"} 120=60',
      'req_total:1m_by_job_total{job="x"} 60=25',
    ],
  },
  {
    name: 'a series new after the warm-up counts from 0 in increase, not in increase_prometheus',
    rules: `- { match: 'req_total', interval: 1m, staleness_interval: 1m, by: [job], outputs: [increase, increase_prometheus] }`,
    batches: [
      [series('req_total{instance="a",job="x"}', [[30, 1], [90, 2], [150, 3]]), series('req_total{instance="b",job="x"}', [[170, 4]])],
      [series('req_total{instance="a",job="x"}', [[300, 3]])],
    ],
    want: [
      'req_total:1m_by_job_increase_prometheus{job="x"} 120=1',
      'req_total:1m_by_job_increase_prometheus{job="x"} 180=1',
      'req_total:1m_by_job_increase_prometheus{job="x"} 300=0',
      'req_total:1m_by_job_increase_prometheus{job="x"} 60=0',
      'req_total:1m_by_job_increase{job="x"} 120=1',
      'req_total:1m_by_job_increase{job="x"} 180=5',
      'req_total:1m_by_job_increase{job="x"} 300=0',
      'req_total:1m_by_job_increase{job="x"} 60=0',
    ],
  },
  {
    name: 'late samples within the lag count, later ones are dropped; duplicates and older samples are dropped',
    rules: `- { match: 'g', interval: 1m, outputs: [sum_samples] }`,
    lagS: 30,
    batches: [
      [series('g{instance="a"}', [[10, 1], [70, 2]])],
      // 50 is late but within the lag (the interval ending at 60 closes at watermark 90).
      [series('g{instance="b"}', [[50, 10]]), series('g{instance="a"}', [[70, 100], [65, 100], [95, 3]])],
      // 55: its interval closed at watermark 95.
      [series('g{instance="c"}', [[55, 1000]]), series('g{instance="a"}', [[200, 4]])],
    ],
    want: ['g:1m_sum_samples{instance="a"} 120=5', 'g:1m_sum_samples{instance="a"} 60=1', 'g:1m_sum_samples{instance="b"} 60=10'],
    dropped: { late: 1, duplicate: 1, outOfOrder: 1 },
  },
  {
    name: 'quantiles interpolate between ranks as PromQL quantile_over_time does',
    rules: `- { match: 'lat', interval: 1m, by: [job], outputs: ['quantiles(0, 0.5, 0.9, 1)'] }`,
    batches: [[series('lat{instance="a",job="x"}', [[10, 4], [20, 1], [30, 3]]), series('lat{instance="b",job="x"}', [[15, 2], [100, 0]])]],
    want: [
      'lat:1m_by_job_quantiles{job="x",quantile="0"} 60=1',
      'lat:1m_by_job_quantiles{job="x",quantile="0.5"} 60=2.5',
      'lat:1m_by_job_quantiles{job="x",quantile="0.9"} 60=3.7',
      'lat:1m_by_job_quantiles{job="x",quantile="1"} 60=4',
    ],
  },
  {
    name: 'series no rule matches are left alone',
    rules: `- { match: '{job="x"}', interval: 1m, outputs: [count_samples] }`,
    batches: [[series('a{job="y"}', [[10, 1], [200, 1]])]],
    want: [],
  },
]

describe('StreamAggregator', () => {
  for (const c of cases()) {
    it(c.name, () => {
      const rules = parseAggregationRules(c.rules, 'test.yml')
      const agg = new StreamAggregator(rules, { lagMs: (c.lagS ?? 0) * 1000, fingerprint: (l) => fingerprinter.fingerprint(l) })
      const outputs: SeriesSamples[] = []
      const dropped = { late: 0, duplicate: 0, outOfOrder: 0 }
      for (const batch of c.batches) {
        const r = agg.observe(batch)
        outputs.push(...r.outputs)
        dropped.late += r.dropped.late
        dropped.duplicate += r.dropped.duplicate
        dropped.outOfOrder += r.dropped.outOfOrder
      }
      expect(lines(outputs)).toEqual(c.want)
      expect(dropped).toEqual({ late: 0, duplicate: 0, outOfOrder: 0, ...c.dropped })
    })
  }

  it('continues from a serialised state exactly as it would have without the break', () => {
    for (const c of cases()) {
      const rules = parseAggregationRules(c.rules, 'test.yml')
      const opts = { lagMs: (c.lagS ?? 0) * 1000, fingerprint: (l: Parameters<Fingerprinter['fingerprint']>[0]) => fingerprinter.fingerprint(l) }
      const whole = new StreamAggregator(rules, opts)
      const straight = c.batches.flatMap((b) => lines(whole.observe(b).outputs))
      let agg = new StreamAggregator(rules, opts)
      const resumed: string[] = []
      for (const b of c.batches) {
        agg = new StreamAggregator(rules, opts, deserialize(serialize(agg.snapshot())) as StreamState)
        resumed.push(...lines(agg.observe(b).outputs))
      }
      expect(resumed, c.name).toEqual(straight)
    }
  })
})
