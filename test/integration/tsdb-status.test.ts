/**
 * /api/v1/status/tsdb on a real `serve`, against an oracle computed in TypeScript from the
 * series that were remote-written: every list and the head stats, in Prometheus's shape.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TsdbStatus } from '../../query/tsdb-status.js'
import { makeFleet, remoteWriteFleet, type FleetSeries } from '../fleet.js'
import { startTestServer, type TestServer } from './server.js'

let server: TestServer
let fleet: FleetSeries[]
const NOW = Date.now()
const START = NOW - 20 * 60_000

async function status(params: Record<string, string> = {}): Promise<{ status: number; body: { status: string; data?: TsdbStatus; errorType?: string; error?: string } }> {
  const response = await fetch(`${server.url}/api/v1/status/tsdb?${new URLSearchParams(params)}`)
  return { status: response.status, body: (await response.json()) as never }
}

/** What Prometheus would list: counts sorted by value (descending), then name; the first `limit`. */
function top(counts: Map<string, number>, limit: number): { name: string; value: number }[] {
  return [...counts]
    .map(([name, value]) => ({ name, value }))
    .sort((a, b) => b.value - a.value || (a.name < b.name ? -1 : 1))
    .slice(0, limit)
}

function oracle(limit: number) {
  const byMetric = new Map<string, number>()
  const values = new Map<string, Set<string>>()
  const byPair = new Map<string, number>()
  for (const s of fleet) {
    for (const l of s.labels) {
      if (l.name === '__name__') byMetric.set(l.value, (byMetric.get(l.value) ?? 0) + 1)
      let set = values.get(l.name)
      if (!set) values.set(l.name, (set = new Set()))
      set.add(l.value)
      byPair.set(`${l.name}=${l.value}`, (byPair.get(`${l.name}=${l.value}`) ?? 0) + 1)
    }
  }
  const valueCounts = new Map([...values].map(([name, set]) => [name, set.size]))
  const bytes = new Map([...values].map(([name, set]) => [name, [...set].reduce((n, v) => n + Buffer.byteLength(v), 0)]))
  return {
    numSeries: fleet.length,
    numLabelPairs: [...valueCounts.values()].reduce((a, b) => a + b, 0),
    seriesCountByMetricName: top(byMetric, limit),
    labelValueCountByLabelName: top(valueCounts, limit),
    memoryInBytesByLabelName: top(bytes, limit),
    seriesCountByLabelValuePair: top(byPair, limit),
  }
}

beforeAll(async () => {
  server = await startTestServer()
  fleet = makeFleet({ pools: 4, hostsPerPool: 3, start: START, samplesPerSeries: 20, intervalMs: 60_000 })
  const sent = await remoteWriteFleet(fleet, [server.writeUrl], server.snappy)
  expect(await server.waitForNumber('SELECT count() FROM samples', sent, 30_000)).toBe(sent)
  expect(await server.waitForNumber('SELECT uniqExact(series_id) FROM series', fleet.length, 30_000)).toBe(fleet.length)
}, 60_000)

afterAll(async () => {
  await server?.stop()
})

describe('/api/v1/status/tsdb', () => {
  for (const limit of [10, 3, 1000]) {
    it(`lists what the written series hold, ${limit} entries per list`, async () => {
      const { status: code, body } = await status(limit === 10 ? {} : { limit: String(limit) })
      expect(code, JSON.stringify(body)).toBe(200)
      expect(body.status).toBe('success')
      const data = body.data!
      const want = oracle(limit)
      expect(data.headStats.numSeries).toBe(want.numSeries)
      expect(data.headStats.numLabelPairs).toBe(want.numLabelPairs)
      expect(data.headStats.minTime).toBe(START)
      expect(data.headStats.maxTime).toBeGreaterThan(START)
      expect(data.seriesCountByMetricName).toEqual(want.seriesCountByMetricName)
      expect(data.labelValueCountByLabelName).toEqual(want.labelValueCountByLabelName)
      expect(data.memoryInBytesByLabelName).toEqual(want.memoryInBytesByLabelName)
      expect(data.seriesCountByLabelValuePair).toEqual(want.seriesCountByLabelValuePair)
    })
  }

  it('refuses a limit that is not a positive number', async () => {
    for (const limit of ['0', '-1', 'ten']) {
      const { status: code, body } = await status({ limit })
      expect(code).toBe(400)
      expect(body.errorType).toBe('bad_data')
    }
  })
})
