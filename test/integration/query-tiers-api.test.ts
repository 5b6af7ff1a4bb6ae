/**
 * The rollup tiers through the Prometheus HTTP API with the results cache on, as users hit
 * them: the cache evaluates a range query day by day, and every day alone is shorter than
 * `query.rollup_min_range`, yet a 27-hour query at step 1 h must read the tiers (the tier is
 * decided from the whole query), answer what raw samples answer for the functions rollups
 * keep exactly, and a one-hour query over the same data must still read raw.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { queryServiceFromConfig } from '../../cli/query-wiring.js'
import { loadConfig } from '../../config/load.js'
import { startHttpServer, type RunningHttpServer } from '../../http/server.js'
import { silentLogger } from '../../observability/logger.js'
import { createEngine } from '../../promql/engine.js'
import { ClickHouseQuerier } from '../../query/clickhouse-querier.js'
import { SeriesLoader } from '../../query/series-loader.js'
import { refreshRollupsNow } from '../../rollup/refresh.js'
import { rollupsCompleteUntil } from '../../rollup/resolution.js'
import { openStore, type StoreClients } from '../../store/connection.js'
import { ClickHouseSampleStore } from '../../store/sample-store.js'
import { publicSchema } from '../../rollup/public-schema.js'
import { migrate } from '../../store/schema.js'
import { fleetAsLoadSeries, makeFleet } from '../fleet.js'
import { metricValues } from './server.js'

const HOUR = 3_600_000
const NOW = Date.now()
// 27 whole, rolled-up hours ending at the newest complete hour: the query spans two or three
// UTC days, so the cache evaluates it in two or three pieces, each shorter than 24 h.
const END = rollupsCompleteUntil(NOW) - HOUR
const START = END - 27 * HOUR
const STEP_S = 3600

let dir: string
let store: StoreClients
let http: RunningHttpServer
let registry: Registry
let url: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'metrichouse-tiers-api-'))
  store = await openStore({ dataDir: dir, database: 'default' })
  await migrate(store.readWrite, publicSchema({ rawRetentionMs: 7 * 86_400_000, rollup: { maxHoursPerRefresh: 48 } }))
  // 60 s samples from two hours before the range to its end, 7 s past each minute as scrapes
  // are: a window (t - 1h, t] then holds the samples of the bucket [t - 1h, t) exactly.
  const first = START - 2 * HOUR + 7_000
  const fleet = makeFleet({ pools: 3, hostsPerPool: 2, start: first, samplesPerSeries: Math.floor((END - first) / 60_000) + 1, intervalMs: 60_000 })
  const loader = await SeriesLoader.create(new ClickHouseSampleStore(store.insertRaw))
  await loader.load(fleetAsLoadSeries(fleet))
  await refreshRollupsNow(store.readWrite)
  // The configuration's defaults: cache on, rollup_min_range 24h.
  const config = loadConfig({ flags: { 'data-dir': dir }, env: {} })
  expect(config.query.cache.enabled).toBe(true)
  expect(config.query.rollupMinRangeMs).toBe(24 * HOUR)
  registry = new Registry()
  const service = queryServiceFromConfig(config, store.readOnly, registry, silentLogger)
  http = await startHttpServer({ listen: { host: '127.0.0.1', port: 0 }, auth: config.auth, logger: silentLogger, registry, routes: service.routes, isReady: () => true })
  url = `http://127.0.0.1:${http.address.port}`
}, 180_000)

afterAll(async () => {
  await http?.close()
  await store?.close()
  await rm(dir, { recursive: true, force: true })
})

type Matrix = { metric: Record<string, string>; values: [number, string][] }[]

async function queryRange(query: string, start: number, end: number, stepS: number): Promise<Matrix> {
  const response = await fetch(`${url}/api/v1/query_range`, {
    method: 'POST',
    body: new URLSearchParams({ query, start: String(start / 1000), end: String(end / 1000), step: String(stepS) }),
  })
  const body = (await response.json()) as { status: string; data: { result: Matrix }; error?: string }
  expect(response.status, body.error).toBe(200)
  return body.data.result
}

async function selectsByTier(): Promise<Record<string, number>> {
  const exposition = await registry.metrics()
  const values = metricValues(exposition, 'metrichouse_query_selects_total')
  return { raw: values.get('{tier="raw"}') ?? 0, '1m': values.get('{tier="1m"}') ?? 0, '1h': values.get('{tier="1h"}') ?? 0 }
}

/** The same query evaluated by the engine over raw samples only. */
async function rawAnswer(query: string, start: number, end: number, step: number): Promise<Map<string, [number, number][]>> {
  const result = await createEngine().rangeQuery(new ClickHouseQuerier(store.readOnly), query, start, end, step)
  if (result.value.type !== 'matrix') throw new Error('expected a matrix')
  return new Map(result.value.series.map((s) => [JSON.stringify(Object.entries(s.labels).sort()), s.points.map((p) => [p.t, p.v] as [number, number])]))
}

function keyed(matrix: Matrix): Map<string, [number, number][]> {
  return new Map(matrix.map((s) => [JSON.stringify(Object.entries(s.metric).sort()), s.values.map(([t, v]) => [Math.round(t * 1000), Number(v)] as [number, number])]))
}

describe('range queries through the HTTP API with the results cache on', () => {
  it.each([
    { query: 'max_over_time(node_memory_MemAvailable_bytes[1h])', tier: '1h' },
    { query: 'min_over_time(node_memory_MemAvailable_bytes[1h])', tier: '1h' },
    { query: 'queue_depth', tier: '1h' },
    { query: 'max_over_time(node_memory_MemAvailable_bytes[5m])', tier: '1m' },
  ])('a 27-hour query at step 1h reads the $tier tier: $query', async ({ query, tier }) => {
    const before = await selectsByTier()
    const answer = await queryRange(query, START, END, STEP_S)
    const after = await selectsByTier()
    expect(after[tier]! - before[tier]!).toBeGreaterThan(0)
    expect(after.raw - before.raw).toBe(0)
    expect(answer.length).toBeGreaterThan(0)
    // Repeated: answered from the cache, the same points.
    expect(await queryRange(query, START, END, STEP_S)).toEqual(answer)
  })

  it('answers max_over_time and min_over_time over whole hours from the tier exactly as from raw', async () => {
    for (const query of ['max_over_time(node_memory_MemAvailable_bytes[1h])', 'min_over_time(node_memory_MemAvailable_bytes[1h])']) {
      const fromApi = keyed(await queryRange(`${query} # ${Math.random()}`, START, END, STEP_S))
      const fromRaw = await rawAnswer(query, START, END, STEP_S * 1000)
      expect([...fromApi.keys()].sort()).toEqual([...fromRaw.keys()].sort())
      for (const [key, points] of fromRaw) expect(fromApi.get(key)).toEqual(points)
    }
  })

  it('reads raw for a query shorter than rollup_min_range over the same hours', async () => {
    const before = await selectsByTier()
    await queryRange('max_over_time(node_memory_MemAvailable_bytes[1h])', END - 3 * HOUR, END, STEP_S)
    const after = await selectsByTier()
    expect(after.raw - before.raw).toBeGreaterThan(0)
    expect(after['1h'] - before['1h'] + after['1m'] - before['1m']).toBe(0)
  })
})
