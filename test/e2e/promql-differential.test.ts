/**
 * Differential test: the same remote-write data goes to Debian's Prometheus 2.42 (as a
 * remote-write receiver) and to `metrichouse serve`; the same PromQL runs on both HTTP APIs
 * and the answers must agree: the same series (label sets), the same timestamps, values
 * equal up to float summation order (relative 1e-9).
 *
 * Allowed 2.x vs 3.x differences (metrichouse follows Prometheus 3.x), avoided by the
 * choice of data and times rather than by loosening comparisons:
 * - 3.x range selectors are left-open (t - range, t], 2.x closed [t - range, t]: every
 *   evaluation time here lies between two scrapes (7.5 s off the 15 s grid), so no sample
 *   sits on a window's edge.
 * - 3.x's regex `.` matches a newline; no label value here has one.
 * - 3.x sums and averages with Kahan compensation: hence the 1e-9 relative tolerance.
 * - 3.x renamed holt_winters to double_exponential_smoothing: not queried.
 * - Which of several equal values topk/bottomk keep is not specified (heap order): their
 *   arguments here have no ties (queue depths are integers, so topk reads CPU rates).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSnappyCodec } from '../../proto/snappy.js'
import { makeFleet, remoteWriteFleet, SCRAPE_MS } from '../fleet.js'
import { Metrichouse } from '../peers/metrichouse.js'
import { startPrometheus, type Prometheus } from '../peers/prometheus.js'

const NOW = Date.now()
// 90 minutes of data on the 15 s grid, ending a minute ago.
const START = Math.floor((NOW - 91 * 60_000) / SCRAPE_MS) * SCRAPE_MS
const SAMPLES = 90 * 4
const END = START + (SAMPLES - 1) * SCRAPE_MS
const OFF_GRID = 7_500

let prometheus: Prometheus
let metrichouse: Metrichouse

interface ApiAnswer {
  status: string
  errorType?: string
  error?: string
  data?: { resultType: string; result: unknown }
}

async function api(base: string, path: string, params: Record<string, string>): Promise<ApiAnswer> {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    body: new URLSearchParams(params),
    signal: AbortSignal.timeout(20_000),
  })
  return (await response.json()) as ApiAnswer
}

type Row = { key: string; points: [number, string][] }

/** Vector/matrix/scalar results as comparable rows, sorted by label set. */
function rows(answer: ApiAnswer): Row[] {
  const data = answer.data!
  if (data.resultType === 'scalar') return [{ key: 'scalar', points: [data.result as [number, string]] }]
  const result = data.result as { metric: Record<string, string>; value?: [number, string]; values?: [number, string][] }[]
  return result
    .map((r) => ({ key: JSON.stringify(Object.entries(r.metric).sort()), points: r.values ?? [r.value!] }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
}

function sameValue(a: string, b: string): boolean {
  if (a === b) return true
  const x = Number(a)
  const y = Number(b)
  if (!Number.isFinite(x) || !Number.isFinite(y)) return false
  return Math.abs(x - y) <= 1e-9 * Math.max(Math.abs(x), Math.abs(y))
}

function compare(query: string, ours: ApiAnswer, theirs: ApiAnswer): void {
  expect(ours.status, `${query}: ${ours.error ?? ''}`).toBe(theirs.status)
  if (theirs.status !== 'success') {
    expect(ours.errorType, query).toBe(theirs.errorType)
    return
  }
  expect(ours.data!.resultType, query).toBe(theirs.data!.resultType)
  const a = rows(ours)
  const b = rows(theirs)
  expect(a.map((r) => r.key), query).toEqual(b.map((r) => r.key))
  for (let i = 0; i < a.length; i++) {
    expect(a[i].points.map((p) => p[0]), `${query} ${a[i].key}`).toEqual(b[i].points.map((p) => p[0]))
    const mismatch = a[i].points.findIndex((p, j) => !sameValue(p[1], b[i].points[j][1]))
    expect(mismatch === -1 ? 'equal' : `at ${a[i].points[mismatch][0]}: ours ${a[i].points[mismatch][1]}, prometheus ${b[i].points[mismatch][1]}`, `${query} ${a[i].key}`).toBe('equal')
  }
}

beforeAll(async () => {
  ;[prometheus, metrichouse] = await Promise.all([
    startPrometheus({ remoteWriteReceiver: true, outOfOrderTimeWindow: '3h', maxLifetimeMs: 280_000 }),
    Metrichouse.start({ maxLifetimeMs: 280_000, extraArgs: ['--flush-interval', '100ms'] }),
  ])
  const fleet = makeFleet({ pools: 6, hostsPerPool: 3, start: START, samplesPerSeries: SAMPLES })
  const snappy = await createSnappyCodec()
  const sent = await remoteWriteFleet(fleet, [`${prometheus.url}/api/v1/write`, metrichouse.writeUrl], snappy)
  // Everything flushed into ClickHouse before the first query.
  const deadline = Date.now() + 60_000
  while ((await metrichouse.queryNumber('SELECT count() FROM samples')) < sent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200))
  expect(await metrichouse.queryNumber('SELECT count() FROM samples')).toBe(sent)
}, 240_000)

afterAll(async () => {
  await Promise.allSettled([prometheus?.stop(), metrichouse?.dispose()])
})

const QUERIES = [
  'node_memory_MemAvailable_bytes',
  'node_memory_MemAvailable_bytes{role="web", region=~"eu.*"}',
  'rate(node_cpu_seconds_total[5m])',
  'irate(node_cpu_seconds_total{mode="user"}[1m])',
  'increase(http_requests_total[10m])',
  '100 * (1 - avg by (host) (rate(node_cpu_seconds_total{mode="idle"}[5m])))',
  'avg by (region) (1 - rate(node_cpu_seconds_total{mode="idle", role="web"}[10m]))',
  'sum by (pool, code) (rate(http_requests_total[5m]))',
  'sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))',
  '1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes',
  'max by (pool) (queue_depth)',
  'max_over_time(queue_depth[10m])',
  'avg_over_time(queue_depth[10m])',
  'quantile_over_time(0.9, queue_depth[15m])',
  'topk(3, rate(node_cpu_seconds_total{mode="user"}[5m]))',
  'count by (role) (node_memory_MemTotal_bytes)',
  'resets(node_cpu_seconds_total[30m])',
  'changes(queue_depth[5m])',
  'deriv(queue_depth[10m])',
  'histogram_quantile(0.5, sum by (le) (rate(http_requests_total[5m])))',
  'delta(queue_depth[10m])',
  'stddev by (pool) (queue_depth)',
  'queue_depth offset 10m',
  'sum_over_time(queue_depth[5m:1m])',
  'absent(nonexistent_metric)',
  'label_replace(queue_depth, "p", "$1", "pool", "pool(.*)")',
  'count_values("depth", queue_depth)',
  'bottomk(2, sum by (host) (rate(node_cpu_seconds_total[5m])))',
  'queue_depth > bool 150',
  'time() - timestamp(queue_depth)',
  'vector(1) + on() group_left() scalar(count(queue_depth))',
]

describe('the same PromQL on Prometheus 2.42 and metrichouse, over the same data', () => {
  it.each(QUERIES)('instant query %s agrees', async (query) => {
    for (const t of [END - 20 * 60_000 + OFF_GRID, END - 60_000 + OFF_GRID, END + 2 * 60_000 + OFF_GRID]) {
      const params = { query, time: (t / 1000).toFixed(3) }
      const [ours, theirs] = await Promise.all([api(metrichouse.url, '/api/v1/query', params), api(prometheus.url, '/api/v1/query', params)])
      compare(`${query} @ ${t}`, ours, theirs)
    }
  })

  it.each(QUERIES)('range query %s agrees', async (query) => {
    const params = { query, start: ((START + 15 * 60_000 + OFF_GRID) / 1000).toFixed(3), end: ((END + OFF_GRID) / 1000).toFixed(3), step: '60' }
    const [ours, theirs] = await Promise.all([api(metrichouse.url, '/api/v1/query_range', params), api(prometheus.url, '/api/v1/query_range', params)])
    compare(query, ours, theirs)
  })

  it('agrees on the series, label names and label values APIs', async () => {
    const range = { start: String(START / 1000), end: String(END / 1000) }
    for (const [path, params] of [
      ['/api/v1/series', { 'match[]': 'queue_depth', ...range }],
      ['/api/v1/labels', range],
      ['/api/v1/label/role/values', range],
      ['/api/v1/label/__name__/values', range],
    ] as const) {
      const get = async (base: string) => {
        const response = await fetch(`${base}${path}?${new URLSearchParams(params)}`, { signal: AbortSignal.timeout(10_000) })
        return (await response.json()) as { status: string; data: unknown[] }
      }
      const [ours, theirs] = await Promise.all([get(metrichouse.url), get(prometheus.url)])
      expect(ours.status).toBe('success')
      const norm = (d: unknown[]) => d.map((x) => JSON.stringify(typeof x === 'object' ? Object.entries(x as object).sort() : x)).sort()
      expect(norm(ours.data), path).toEqual(norm(theirs.data))
    }
  })

  it('answers malformed queries with the same error type and status', async () => {
    for (const query of ['rate(foo)', 'sum(', '{job=~".*"}', 'foo[5m] + 1', 'unknown_fn(x)']) {
      const [ours, theirs] = await Promise.all([
        fetch(`${metrichouse.url}/api/v1/query?${new URLSearchParams({ query })}`),
        fetch(`${prometheus.url}/api/v1/query?${new URLSearchParams({ query })}`),
      ])
      expect(ours.status, query).toBe(theirs.status)
      const [a, b] = [(await ours.json()) as ApiAnswer, (await theirs.json()) as ApiAnswer]
      expect(a.errorType, query).toBe(b.errorType)
    }
  })
})
