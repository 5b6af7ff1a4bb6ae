import { beforeEach, describe, expect, it } from 'vitest'
import type { Querier, QueryResult, SelectHints, SeriesData } from './api.js'
import { PromQLCanceledError, PromQLExecutionError, PromQLParseError, PromQLTimeoutError } from './api.js'
import { createEngine } from './engine.js'
import { MemoryQuerier } from './memory-querier.js'

const MIN = 60_000

function samples(values: (number | 'stale' | null)[], step = MIN): { t: number; v: number; stale?: boolean }[] {
  return values.flatMap((v, i) => (v === null ? [] : v === 'stale' ? [{ t: i * step, v: NaN, stale: true }] : [{ t: i * step, v }]))
}

function vector(r: QueryResult): Record<string, number> {
  if (r.value.type !== 'vector') throw new Error(`expected vector, got ${r.value.type}`)
  const out: Record<string, number> = {}
  for (const s of r.value.samples) out[JSON.stringify(s.labels)] = s.v
  return out
}

describe('engine evaluation (Prometheus 3.x semantics)', () => {
  const engine = createEngine()
  let q: MemoryQuerier

  beforeEach(() => {
    q = new MemoryQuerier()
    q.add({ __name__: 'up', job: 'a' }, samples([1, 1, 'stale', null, null, null, null, null, null, 1]))
    q.add({ __name__: 'counter_total', job: 'a' }, samples([0, 10, 20, 5, 15, 25, 35, 45, 55, 65, 75]))
    q.add({ __name__: 'gauge', job: 'a', instance: '1' }, samples([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]))
    q.add({ __name__: 'gauge', job: 'b', instance: '1' }, samples([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110]))
    for (const [le, v] of [['1', 2], ['2', 6], ['+Inf', 8]] as const) q.add({ __name__: 'req_bucket', job: 'a', le }, samples([v]))
    for (const [le, v] of [['1', 5], ['2', 4], ['+Inf', 10]] as const) q.add({ __name__: 'bad_bucket', job: 'a', le }, samples([v]))
  })

  const cases: [name: string, query: string, time: number, expected: Record<string, number> | number][] = [
    ['a sign binds looser than ^', '-1 ^ 2', 0, -1],
    ['lookback is left-open: a sample exactly 5m old is not seen', 'gauge{job="a"}', 15 * MIN, {}],
    ['lookback sees a sample 1ms less than 5m old', 'gauge{job="a"}', 15 * MIN - 1, { '{"__name__":"gauge","job":"a","instance":"1"}': 11 }],
    ['a staleness marker ends the series at once', 'up', 2 * MIN + 30_000, {}],
    ['the sample after a marker is visible again', 'up', 9 * MIN, { '{"__name__":"up","job":"a"}': 1 }],
    ['increase extrapolates and handles the counter reset', 'increase(counter_total[5m])', 5 * MIN, { '{"job":"a"}': (25 - 10 + 20) * 300 / 240 }],
    ['rate divides by the range', 'rate(counter_total[5m])', 10 * MIN, { '{"job":"a"}': 40 * 300 / 240 / 300 }],
    ['irate uses the last two samples', 'irate(counter_total[5m])', 10 * MIN, { '{"job":"a"}': 10 / 60 }],
    ['resets counts decreases', 'resets(counter_total[10m])', 10 * MIN, { '{"job":"a"}': 1 }],
    ['a negative offset reads the future', 'gauge{job="a"} offset -2m', 3 * MIN, { '{"__name__":"gauge","job":"a","instance":"1"}': 6 }],
    ['@ fixes the evaluation time', 'gauge{job="b"} @ 120', 10 * MIN, { '{"__name__":"gauge","job":"b","instance":"1"}': 30 }],
    ['arithmetic drops the metric name', 'gauge{job="a"} * 2', 0, { '{"job":"a","instance":"1"}': 2 }],
    ['a filter comparison keeps the metric name', 'gauge > 5', 0, { '{"__name__":"gauge","job":"b","instance":"1"}': 10 }],
    ['last_over_time keeps the metric name', 'last_over_time(gauge{job="a"}[1m])', 0, { '{"__name__":"gauge","job":"a","instance":"1"}': 1 }],
    ['group_left copies labels from the one side', 'gauge{job="a"} + on(instance) group_left(job) gauge{job="b"} * 0', 0, { '{"job":"b","instance":"1"}': 1 }],
    ['sum by keeps only the grouping labels', 'sum by (instance) (gauge)', 0, { '{"instance":"1"}': 11 }],
    ['regex matchers are anchored RE2', 'gauge{job=~"a|"}', 0, { '{"__name__":"gauge","job":"a","instance":"1"}': 1 }],
    ['subquery steps align to multiples of the step', 'count_over_time(gauge{job="a"}[5m:1m])', 5 * MIN + 30_000, { '{"job":"a","instance":"1"}': 5 }],
    ['label_replace expands Go templates', 'label_replace(gauge{job="a"}, "x", "${1}-$1x$$", "job", "(.*)")', 0, { '{"__name__":"gauge","job":"a","instance":"1","x":"a-$"}': 1 }],
    ['histogram_quantile interpolates inside the bucket', 'histogram_quantile(0.5, req_bucket)', 0, { '{"job":"a"}': 1.5 }],
    ['histogram_quantile makes buckets monotonic', 'histogram_quantile(0.9, bad_bucket)', 0, { '{"job":"a"}': 2 }],
    ['scalar of one element is its value', 'scalar(gauge{job="b"}) + 1', 0, 11],
  ]
  it.each(cases)('%s', async (_name, query, time, expected) => {
    const r = await engine.instantQuery(q, query, time)
    if (typeof expected === 'number') {
      expect(r.value).toMatchObject({ type: 'scalar' })
      if (r.value.type === 'scalar') expect(r.value.v).toBeCloseTo(expected, 10)
      return
    }
    const got = vector(r)
    expect(Object.keys(got).sort()).toEqual(Object.keys(expected).sort())
    for (const k of Object.keys(expected)) expect(got[k]).toBeCloseTo(expected[k], 10)
  })

  it('removes the name at the end and fails when that makes two series identical', async () => {
    await expect(engine.instantQuery(q, 'rate({__name__=~"gauge|counter_total", job="a"}[5m])', 5 * MIN)).resolves.toBeDefined()
    q.add({ __name__: 'gauge2', job: 'a', instance: '1' }, samples([1, 2, 3]))
    await expect(engine.instantQuery(q, 'rate({__name__=~"gauge|gauge2", job="a"}[5m])', 2 * MIN)).rejects.toThrow('vector cannot contain metrics with the same labelset')
  })

  it('reports annotations with the position of the culprit, as Prometheus\'s API', async () => {
    const r = await engine.instantQuery(q, 'sum(rate(gauge[5m])) + quantile(1.5, gauge)', 5 * MIN)
    expect(r.infos).toEqual(['PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "gauge" (1:10)'])
    expect(r.warnings).toEqual(['PromQL warning: quantile value should be between 0 and 1, got 1.5 (1:33)'])
  })

  it('keeps names until the end with delayed name removal, drops them at once without it', async () => {
    const query = 'rate(gauge{job="a"}[5m]) > rate(gauge{job="a"}[5m]) - 1'
    expect(Object.keys(vector(await engine.instantQuery(q, query, 5 * MIN)))).toEqual(['{"__name__":"gauge","job":"a","instance":"1"}'])
    const eager = createEngine({ delayedNameRemoval: false })
    expect(Object.keys(vector(await eager.instantQuery(q, query, 5 * MIN)))).toEqual(['{"job":"a","instance":"1"}'])
    q.add({ __name__: 'gauge2', job: 'a', instance: '1' }, samples([1, 2, 3]))
    await expect(eager.instantQuery(q, 'abs({__name__=~"gauge|gauge2", job="a"})', 2 * MIN)).rejects.toThrow('vector cannot contain metrics with the same labelset')
  })

  it('rejects one-to-one matching with duplicates on the right', async () => {
    await expect(engine.instantQuery(q, 'counter_total + ignoring(job, instance) gauge', 0)).rejects.toThrow(PromQLExecutionError)
    await expect(engine.instantQuery(q, 'counter_total + ignoring(job, instance) gauge', 0)).rejects.toThrow(/many-to-many matching not allowed/)
  })

  it('returns range results sorted by labels with one point per step', async () => {
    const r = await engine.rangeQuery(q, 'gauge', 0, 2 * MIN, MIN)
    expect(r.value).toEqual({
      type: 'matrix',
      series: [
        { labels: { __name__: 'gauge', job: 'a', instance: '1' }, points: [{ t: 0, v: 1 }, { t: MIN, v: 2 }, { t: 2 * MIN, v: 3 }] },
        { labels: { __name__: 'gauge', job: 'b', instance: '1' }, points: [{ t: 0, v: 10 }, { t: MIN, v: 20 }, { t: 2 * MIN, v: 30 }] },
      ],
    })
  })

  it('answers a range query of a scalar with one unlabelled series', async () => {
    const r = await engine.rangeQuery(q, 'time()', 0, MIN, MIN)
    expect(r.value).toEqual({ type: 'matrix', series: [{ labels: {}, points: [{ t: 0, v: 0 }, { t: MIN, v: 60 }] }] })
  })

  it('passes the time bounds, range, step, function and grouping to storage', async () => {
    await engine.rangeQuery(q, 'sum by (job) (rate(counter_total[5m] offset 1m))', 10 * MIN, 20 * MIN, MIN)
    const h = q.selects.at(-1)!.hints
    expect(h).toMatchObject({ start: 10 * MIN - MIN - 5 * MIN + 1, end: 20 * MIN - MIN, step: MIN, range: 5 * MIN, func: 'rate', lookbackDelta: 5 * MIN })
    await engine.instantQuery(q, 'sum without (instance) (gauge)', 0)
    expect(q.selects.at(-1)!.hints).toMatchObject({ func: 'sum', grouping: ['instance'], by: false })
    await engine.instantQuery(q, 'up @ 100', 10 * MIN, { rawOnly: true })
    expect(q.selects.at(-1)!.hints).toMatchObject({ start: 100_000 - 5 * MIN + 1, end: 100_000, step: 0, range: 0, rawOnly: true })
  })
})

describe('engine limits and errors', () => {
  const q = new MemoryQuerier()
  q.add({ __name__: 'x' }, samples(Array.from({ length: 100 }, (_, i) => i)))

  it('rejects more than 11,000 points per series as bad data', async () => {
    await expect(createEngine().rangeQuery(q, 'x', 0, 11_001_000, 1000)).rejects.toThrow(PromQLParseError)
    await expect(createEngine().rangeQuery(q, 'x', 0, 11_001_000, 1000)).rejects.toThrow('exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)')
    await expect(createEngine().rangeQuery(q, 'x', 0, 11_000_000, 1000)).resolves.toBeDefined()
  })

  it('rejects a range query of a range vector', async () => {
    await expect(createEngine().rangeQuery(q, 'x[5m]', 0, MIN, MIN)).rejects.toThrow('invalid expression type "range vector" for range query, must be Scalar or instant Vector')
  })

  it('stops at maxSamples with an execution error', async () => {
    await expect(createEngine({ maxSamples: 10 }).rangeQuery(q, 'x', 0, 50 * MIN, MIN)).rejects.toThrow('query processing would load too many samples into memory in query execution')
  })

  it('refuses a subquery with more steps than the sample limit instead of allocating them', async () => {
    await expect(createEngine().instantQuery(q, 'count_over_time(x[100y:1ms])', 0)).rejects.toThrow(PromQLExecutionError)
  })

  it('stops count_values at the sample limit when its output (one series per distinct value) outgrows the input', async () => {
    const many = new MemoryQuerier()
    // 20 series x 600 steps, every value distinct: 12,000 output series of 600 points each.
    for (let k = 0; k < 20; k++) many.add({ __name__: 'noise', k: String(k) }, Array.from({ length: 600 }, (_, i) => ({ t: i * 1000, v: k * 1000 + i })))
    const limited = createEngine({ maxSamples: 200_000 })
    await expect(limited.rangeQuery(many, 'count_values("v", noise)', 0, 599_000, 1000)).rejects.toThrow(/too many samples/)
    // The same query within the limit answers: the bound is on what it holds, not on the query.
    const r = await limited.rangeQuery(many, 'count_values("v", noise)', 0, 9_000, 1000)
    expect(r.value.type === 'matrix' && r.value.series.length).toBe(200)
  })

  it('turns the deadline into a timeout and a caller abort into a cancellation', async () => {
    const slow: Querier = {
      select: (_m, _h: SelectHints, signal?: AbortSignal) => new Promise<SeriesData[]>((resolve, reject) => {
        const timer = setTimeout(() => resolve([]), 5_000)
        signal?.addEventListener('abort', () => { clearTimeout(timer); reject(new Error('aborted')) })
      }),
    }
    await expect(createEngine({ timeoutMs: 20 }).instantQuery(slow, 'x', 0)).rejects.toThrow(PromQLTimeoutError)
    const ctl = new AbortController()
    setTimeout(() => ctl.abort(), 20)
    await expect(createEngine().instantQuery(slow, 'x', 0, { signal: ctl.signal })).rejects.toThrow(PromQLCanceledError)
  })
})
