/**
 * Metric metadata end to end on a real `serve`: TYPE/HELP/UNIT sent by remote write 1.0
 * (apart from the series, as Prometheus sends it) and 2.0 (per series) is stored and served by
 * /api/v1/metadata in Prometheus's shape, with its `limit`, `limit_per_metric` and `metric`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, RW2_CONTENT_TYPE, type TestServer } from './server.js'
import { encodeRw1, encodeRw2, type TestMetadata } from './wire.js'

let server: TestServer

const RW1_METADATA: TestMetadata[] = [
  { family: 'http_requests_total', type: 'counter', help: 'Requests served.', unit: '' },
  { family: 'node_load1', type: 'gauge', help: '1m load average.', unit: '' },
  { family: 'rpc_duration_seconds', type: 'summary', help: 'RPC latency with "quotes" and \\ backslash.', unit: 'seconds' },
  // Two targets disagree on the help text: Prometheus lists both.
  { family: 'up_time', type: 'gauge', help: 'Old help.', unit: '' },
  { family: 'up_time', type: 'gauge', help: 'New help.', unit: '' },
  // Invalid: refused, the rest kept.
  { family: '1bad name', type: 'gauge', help: '', unit: '' },
  { family: 'long_help', type: 'gauge', help: 'x'.repeat(5000), unit: '' },
]

async function metadata(params: Record<string, string> = {}): Promise<{ status: number; body: { status: string; data?: Record<string, unknown[]>; errorType?: string; error?: string } }> {
  const response = await fetch(`${server.url}/api/v1/metadata?${new URLSearchParams(params)}`)
  return { status: response.status, body: (await response.json()) as never }
}

beforeAll(async () => {
  server = await startTestServer()
  const rw1 = await server.write(server.snappy.compress(encodeRw1([], RW1_METADATA)))
  expect(rw1.status, rw1.text).toBe(204)
  const now = Date.now()
  const rw2 = await server.write(
    server.snappy.compress(
      encodeRw2([
        { labels: [['__name__', 'jobs_done_total'], ['job', 'batch'], ['instance', 'a']], samples: [{ timestampMs: now, value: 1 }], metadata: { type: 'counter', help: 'Jobs done.', unit: '' } },
        { labels: [['__name__', 'jobs_done_total'], ['job', 'batch'], ['instance', 'b']], samples: [{ timestampMs: now, value: 2 }], metadata: { type: 'counter', help: 'Jobs done.', unit: '' } },
        { labels: [['__name__', 'no_metadata'], ['job', 'batch']], samples: [{ timestampMs: now, value: 3 }] },
      ]),
    ),
    RW2_CONTENT_TYPE,
  )
  expect(rw2.status, rw2.text).toBe(204)
  // The receiver writes metadata behind the requests, every few seconds.
  expect(await server.waitForNumber('SELECT count() FROM metric_metadata', 6, 30_000)).toBe(6)
}, 60_000)

afterAll(async () => {
  await server?.stop()
})

describe('/api/v1/metadata', () => {
  it('serves what remote write 1.0 and 2.0 carried, as Prometheus does', async () => {
    const { status, body } = await metadata()
    expect(status).toBe(200)
    expect(body.status).toBe('success')
    const data = body.data!
    expect(Object.keys(data).sort()).toEqual(['http_requests_total', 'jobs_done_total', 'node_load1', 'rpc_duration_seconds', 'up_time'])
    expect(data.http_requests_total).toEqual([{ type: 'counter', help: 'Requests served.', unit: '' }])
    expect(data.rpc_duration_seconds).toEqual([{ type: 'summary', help: 'RPC latency with "quotes" and \\ backslash.', unit: 'seconds' }])
    expect(data.jobs_done_total).toEqual([{ type: 'counter', help: 'Jobs done.', unit: '' }])
    expect(data.up_time).toHaveLength(2)
  })

  const PARAMS: { name: string; params: Record<string, string>; families: string[]; perFamily?: number }[] = [
    { name: 'one metric', params: { metric: 'node_load1' }, families: ['node_load1'] },
    { name: 'an unknown metric', params: { metric: 'absent' }, families: [] },
    { name: 'limit', params: { limit: '2' }, families: ['http_requests_total', 'jobs_done_total'] },
    { name: 'limit 0', params: { limit: '0' }, families: [] },
    { name: 'a negative limit (no limit)', params: { limit: '-1' }, families: ['http_requests_total', 'jobs_done_total', 'node_load1', 'rpc_duration_seconds', 'up_time'] },
    { name: 'limit_per_metric', params: { metric: 'up_time', limit_per_metric: '1' }, families: ['up_time'], perFamily: 1 },
  ]
  for (const c of PARAMS) {
    it(`honours ${c.name}`, async () => {
      const { status, body } = await metadata(c.params)
      expect(status).toBe(200)
      expect(Object.keys(body.data!).sort()).toEqual(c.families)
      if (c.perFamily !== undefined) for (const list of Object.values(body.data!)) expect(list).toHaveLength(c.perFamily)
    })
  }

  it('answers bad_data for a limit that is not a number', async () => {
    for (const params of [{ limit: 'ten' }, { limit_per_metric: '1.5' }] as Record<string, string>[]) {
      const { status, body } = await metadata(params)
      expect(status).toBe(400)
      expect(body.errorType).toBe('bad_data')
      expect(body.error).toBe(`${Object.keys(params)[0]} must be a number`)
    }
  })

  it('counts the entries it refused', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text()
    expect(text).toMatch(/^metrichouse_adapter_metadata_invalid_total 2$/m)
  })
})
