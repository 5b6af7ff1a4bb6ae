/**
 * The Prometheus HTTP API of a real `serve`, with data sent by remote write: exact JSON
 * shapes, GET and POST forms, time and duration formats, Prometheus's error types and
 * status codes, the points limit, timeouts, cancellation when the client goes away, the
 * metadata endpoints, and the results cache counting hits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeFleet, remoteWriteFleet, SCRAPE_MS } from '../fleet.js'
import { metricValues, startTestServer, type TestServer } from './server.js'

let server: TestServer
const NOW = Date.now()
const START = Math.floor((NOW - 61 * 60_000) / SCRAPE_MS) * SCRAPE_MS
const SAMPLES = 240
const END = START + (SAMPLES - 1) * SCRAPE_MS
const sec = (ms: number) => (ms / 1000).toFixed(3)

interface Answer {
  status: number
  body: {
    status: string
    data?: { resultType?: string; result?: unknown } & Record<string, unknown>
    errorType?: string
    error?: string
    warnings?: string[]
  }
  text: string
  contentType: string | null
}

async function get(path: string, params: Record<string, string> | [string, string][] = {}): Promise<Answer> {
  const response = await fetch(`${server.url}${path}?${new URLSearchParams(params)}`)
  const text = await response.text()
  return { status: response.status, body: JSON.parse(text) as Answer['body'], text, contentType: response.headers.get('content-type') }
}

async function post(path: string, params: Record<string, string> | [string, string][]): Promise<Answer> {
  const response = await fetch(`${server.url}${path}`, { method: 'POST', body: new URLSearchParams(params) })
  const text = await response.text()
  return { status: response.status, body: JSON.parse(text) as Answer['body'], text, contentType: response.headers.get('content-type') }
}

beforeAll(async () => {
  server = await startTestServer()
  const fleet = makeFleet({ pools: 3, hostsPerPool: 2, start: START, samplesPerSeries: SAMPLES })
  const sent = await remoteWriteFleet(fleet, [server.writeUrl], server.snappy)
  expect(await server.waitForNumber('SELECT count() FROM samples', sent, 30_000)).toBe(sent)
})

afterAll(async () => {
  await server?.stop()
})

describe('/api/v1/query', () => {
  it('answers an instant vector in Prometheus JSON, by GET and by POST', async () => {
    const params = { query: 'node_memory_MemTotal_bytes{host="pool0-host0"}', time: sec(END) }
    const expected =
      `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"node_memory_MemTotal_bytes","host":"pool0-host0","instance":"pool0-host0:9100","job":"node","pool":"pool0","region":"eu-west","role":"web"},"value":[${END / 1000},"17179869184"]}]}}`
    for (const answer of [await get('/api/v1/query', params), await post('/api/v1/query', params)]) {
      expect(answer.status).toBe(200)
      expect(answer.contentType).toMatch(/^application\/json/)
      expect(answer.text).toBe(expected)
    }
  })

  it('answers scalars and strings', async () => {
    expect((await get('/api/v1/query', { query: '1 / 0', time: '1.5' })).text).toBe('{"status":"success","data":{"resultType":"scalar","result":[1.500,"+Inf"]}}')
    expect((await get('/api/v1/query', { query: '"hi"', time: '100' })).text).toBe('{"status":"success","data":{"resultType":"string","result":[100,"hi"]}}')
  })

  it('accepts RFC 3339 times and defaults the time to now', async () => {
    const a = await get('/api/v1/query', { query: 'count(node_memory_MemTotal_bytes)', time: new Date(END).toISOString() })
    expect(a.body.data?.result).toEqual([{ metric: {}, value: [END / 1000, '6'] }])
    const b = await get('/api/v1/query', { query: 'time()' })
    const t = (b.body.data?.result as [number, string])[0]
    expect(Math.abs(t * 1000 - Date.now())).toBeLessThan(10_000)
  })

  const ERRORS: { name: string; params: Record<string, string>; status: number; type: string; message: RegExp }[] = [
    { name: 'a query that does not parse', params: { query: 'sum(' }, status: 400, type: 'bad_data', message: /^invalid parameter "query": 1:5: parse error/ },
    { name: 'a type error', params: { query: 'rate(node_load1)' }, status: 400, type: 'bad_data', message: /expected type range vector/ },
    { name: 'no query', params: {}, status: 400, type: 'bad_data', message: /query/ },
    { name: 'a bad time', params: { query: '1', time: 'yesterday' }, status: 400, type: 'bad_data', message: /^invalid parameter "time": cannot parse "yesterday" to a valid timestamp$/ },
    { name: 'a bad timeout', params: { query: '1', timeout: 'soon' }, status: 400, type: 'bad_data', message: /^invalid parameter "timeout"/ },
    {
      name: 'many-to-many matching',
      params: { query: 'node_memory_MemTotal_bytes * on (region) node_memory_MemTotal_bytes', time: sec(END) },
      status: 422,
      type: 'execution',
      message: /many-to-many matching not allowed/,
    },
  ]
  it.each(ERRORS)('answers $status $type for $name', async (c) => {
    const answer = await get('/api/v1/query', c.params)
    expect(answer.status).toBe(c.status)
    expect(answer.body.status).toBe('error')
    expect(answer.body.errorType).toBe(c.type)
    expect(answer.body.error).toMatch(c.message)
  })

  it('answers 503 timeout when the timeout parameter runs out', async () => {
    const answer = await get('/api/v1/query', { query: 'max_over_time(rate(node_cpu_seconds_total[5m])[1h:1s])', time: sec(END), timeout: '0.001' })
    expect(answer.status).toBe(503)
    expect(answer.body.errorType).toBe('timeout')
  })
})

describe('/api/v1/query_range', () => {
  it('answers a matrix with every step, by GET and POST, with durations in either form', async () => {
    const params = { query: 'sum(queue_depth)', start: sec(END - 120_000), end: sec(END), step: '1m' }
    const a = await get('/api/v1/query_range', params)
    const b = await post('/api/v1/query_range', { ...params, step: '60' })
    expect(a.status).toBe(200)
    expect(b.text).toBe(a.text)
    const result = a.body.data?.result as { metric: object; values: [number, string][] }[]
    expect(a.body.data?.resultType).toBe('matrix')
    expect(result).toHaveLength(1)
    expect(result[0].values.map((p) => p[0])).toEqual([(END - 120_000) / 1000, (END - 60_000) / 1000, END / 1000])
    expect(result[0].values.every((p) => typeof p[1] === 'string' && Number(p[1]) > 0)).toBe(true)
  })

  const ERRORS: { name: string; params: Record<string, string>; message: string }[] = [
    { name: 'end before start', params: { query: '1', start: '10', end: '0', step: '1' }, message: 'invalid parameter "end": end timestamp must not be before start time' },
    { name: 'a zero step', params: { query: '1', start: '0', end: '10', step: '0' }, message: 'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer' },
    { name: 'over 11,000 points', params: { query: '1', start: '0', end: '11001', step: '1' }, message: 'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)' },
    { name: 'a missing step', params: { query: '1', start: '0', end: '10' }, message: 'invalid parameter "step": cannot parse "" to a valid duration' },
  ]
  it.each(ERRORS)('answers 400 bad_data for $name', async (c) => {
    const answer = await get('/api/v1/query_range', c.params)
    expect(answer.status).toBe(400)
    expect(answer.body).toEqual({ status: 'error', errorType: 'bad_data', error: c.message })
  })

  it('takes exactly 11,000 points', async () => {
    expect((await get('/api/v1/query_range', { query: '1', start: '0', end: '10999', step: '1' })).status).toBe(200)
  })

  it('serves a repeated range query from the results cache', async () => {
    const params = { query: 'avg by (pool) (rate(node_cpu_seconds_total{mode="user"}[5m]))', start: sec(START + 600_000), end: sec(END - 900_000), step: '30' }
    const first = await get('/api/v1/query_range', params)
    const hitsBefore = metricValues(await (await fetch(`${server.url}/metrics`)).text(), 'metrichouse_query_cache_hits_total')
    const second = await get('/api/v1/query_range', params)
    const hitsAfter = metricValues(await (await fetch(`${server.url}/metrics`)).text(), 'metrichouse_query_cache_hits_total')
    expect(second.text).toBe(first.text)
    const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0)
    expect(sum(hitsAfter)).toBeGreaterThan(sum(hitsBefore))
  })

  it('stops a query whose client went away', async () => {
    const controller = new AbortController()
    const request = fetch(`${server.url}/api/v1/query_range?${new URLSearchParams({ query: 'max_over_time(rate(node_cpu_seconds_total[5m])[1h:100ms])', start: sec(END - 1_800_000), end: sec(END), step: '15' })}`, { signal: controller.signal })
    setTimeout(() => controller.abort(), 100)
    await expect(request).rejects.toThrow()
    const deadline = Date.now() + 60_000
    let canceled = 0
    while (Date.now() < deadline && canceled === 0) {
      await new Promise((r) => setTimeout(r, 200))
      canceled = metricValues(await (await fetch(`${server.url}/metrics`)).text(), 'metrichouse_query_api_requests_total').get('{endpoint="query_range",code="503"}') ?? 0
    }
    expect(canceled).toBe(1)
  }, 90_000)
})

describe('metadata endpoints', () => {
  it('lists series for match[] selectors, GET and POST', async () => {
    const params: [string, string][] = [
      ['match[]', 'queue_depth'],
      ['match[]', 'node_memory_MemTotal_bytes{host="pool0-host0"}'],
      ['start', sec(START)],
      ['end', sec(END)],
    ]
    for (const answer of [await get('/api/v1/series', params), await post('/api/v1/series', params)]) {
      expect(answer.status).toBe(200)
      const data = answer.body.data as unknown as Record<string, string>[]
      expect(data.map((s) => `${s.__name__}/${s.host}`).sort()).toEqual(['node_memory_MemTotal_bytes/pool0-host0', 'queue_depth/pool2-host0', 'queue_depth/pool2-host1'])
    }
  })

  it('refuses /series without match[] and bad selectors', async () => {
    expect((await get('/api/v1/series')).body).toEqual({ status: 'error', errorType: 'bad_data', error: 'no match[] parameter provided' })
    const bad = await get('/api/v1/series', { 'match[]': '{job=~".*"}' })
    expect(bad.status).toBe(400)
    expect(bad.body.error).toMatch(/^invalid parameter "match\[\]"/)
  })

  it('lists label names and values, with limit', async () => {
    const names = await get('/api/v1/labels', { start: sec(START), end: sec(END) })
    expect(names.body.data).toEqual(['__name__', 'code', 'host', 'instance', 'job', 'mode', 'pool', 'queue', 'region', 'role'])
    const roles = await get('/api/v1/label/role/values', { 'match[]': 'node_memory_MemTotal_bytes' })
    expect(roles.body.data).toEqual(['db', 'queue', 'web'])
    const limited = await get('/api/v1/label/role/values', { limit: '2' })
    expect(limited.body.data).toEqual(['db', 'queue'])
    expect(limited.body.warnings).toEqual(['results truncated due to limit'])
    const bad = await get('/api/v1/label/1bad/values')
    expect(bad.status).toBe(400)
    expect(bad.body.errorType).toBe('bad_data')
  })

  it('treats SQL in matchers, label names and queries as data', async () => {
    const before = await server.sqlNumber('SELECT count() FROM samples')
    const hostile = `'; DROP TABLE samples; --\\' OR 1=1 --`
    for (const answer of [
      await get('/api/v1/series', { 'match[]': `queue_depth{pool=${JSON.stringify(hostile)}}` }),
      await get('/api/v1/labels', { 'match[]': `{__name__=${JSON.stringify(hostile)}}` }),
      await get('/api/v1/label/U__x_27_/values', { 'match[]': `{__name__=~${JSON.stringify(hostile + '|queue_depth')}}` }),
      await get('/api/v1/query', { query: `count(queue_depth{pool!=${JSON.stringify(hostile)}, pool=~${JSON.stringify('.*' + hostile + '|pool2')}})`, time: sec(END) }),
    ]) {
      expect(answer.status, answer.text).toBe(200)
    }
    expect((await get('/api/v1/series', { 'match[]': `queue_depth{pool=${JSON.stringify(hostile)}}` })).body.data).toEqual([])
    expect((await get('/api/v1/query', { query: `count(queue_depth{pool=~${JSON.stringify('.*' + hostile + '|pool2')}})`, time: sec(END) })).body.data?.result).toEqual([{ metric: {}, value: [END / 1000, '2'] }])
    expect(await server.sqlNumber('SELECT count() FROM samples')).toBe(before)
  })

  it('answers metadata (none kept) and buildinfo in the shapes Grafana reads', async () => {
    expect((await get('/api/v1/metadata')).text).toBe('{"status":"success","data":{}}')
    const info = await get('/api/v1/status/buildinfo')
    expect(Object.keys(info.body.data ?? {}).sort()).toEqual(['branch', 'buildDate', 'buildUser', 'goVersion', 'revision', 'version'])
  })
})
