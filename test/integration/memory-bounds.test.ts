/**
 * Memory bounds of the write path at a real `serve`: samples per series and per request are
 * refused with 413 before anything is stored, and the server-wide in-flight budget answers
 * 429 (with Retry-After) while other requests hold it, then 204 once they are gone. The
 * server's own metrics count each refusal.
 */
import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RW1_CONTENT_TYPE, metricValues, startTestServer, type TestServer } from './server.js'
import { encodeRw1, type TestSeries } from './wire.js'

const PER_SERIES = 1000
const PER_REQUEST = 3000
const BUDGET = 64 * 1024
const SERIES = 50

let server: TestServer
const T0 = Date.now() - 30 * 60_000

function seriesOf(name: string, k: number, samples: number): TestSeries {
  return { labels: [['__name__', name], ['k', String(k)]], samples: Array.from({ length: samples }, (_, i) => ({ timestampMs: T0 + i * 100, value: i })) }
}

function body(series: TestSeries[]): Uint8Array {
  return server.snappy.compress(encodeRw1(series))
}

async function inFlightBytes(): Promise<number> {
  return metricValues(await (await fetch(`${server.url}/metrics`)).text(), 'metrichouse_http_in_flight_bytes').get('') ?? 0
}

async function rejected(reason: string): Promise<number> {
  return metricValues(await (await fetch(`${server.url}/metrics`)).text(), 'metrichouse_adapter_requests_rejected_total').get(`{reason="${reason}"}`) ?? 0
}

describe('memory bounds on remote write', () => {
  beforeAll(async () => {
    server = await startTestServer({
      'limits-max-samples-per-series': String(PER_SERIES),
      'limits-max-samples-per-request': String(PER_REQUEST),
      'limits-max-in-flight-bytes': String(BUDGET),
      'limits-max-series-per-request': String(SERIES),
    })
  })

  afterAll(async () => {
    await server?.stop()
  })

  const cases = [
    { name: 'a series with more samples than the per-series limit', series: () => [seriesOf('mb_long', 0, PER_SERIES + 1)], status: 413, text: `over the limit of ${PER_SERIES} per series` },
    { name: 'more samples than the per-request limit', series: () => [0, 1, 2, 3].map((k) => seriesOf('mb_many', k, 800)), status: 413, text: `3200 samples in one request, over the limit of ${PER_REQUEST}` },
    { name: 'more series than the per-request limit (counted before decoding)', series: () => Array.from({ length: SERIES + 1 }, (_, k) => seriesOf('mb_wide', k, 1)), status: 413, text: `${SERIES + 1} series in one request, over the limit of ${SERIES}` },
    { name: 'a request within both limits', series: () => [0, 1].map((k) => seriesOf('mb_ok', k, 800)), status: 204, text: '' },
  ]
  for (const c of cases) {
    it(`answers ${c.status} to ${c.name}`, async () => {
      const answer = await server.write(body(c.series()))
      expect(answer.status).toBe(c.status)
      expect(answer.text).toContain(c.text)
    })
  }

  it('stores nothing of the refused requests and all of the accepted one, and counts the refusals', async () => {
    expect(await server.waitForNumber(`SELECT count() FROM samples WHERE metric_name = 'mb_ok'`, 1600)).toBe(1600)
    expect(await server.sqlNumber(`SELECT count() FROM samples WHERE metric_name IN ('mb_long', 'mb_many', 'mb_wide')`)).toBe(0)
    expect(await rejected('too_many_samples')).toBe(2)
    expect(await rejected('too_many_series')).toBe(1)
  })

  it('answers 429 while in-flight requests hold the memory budget, and 204 once they are gone', async () => {
    // A body of 100 KiB whose first 60 KiB arrive and then nothing: it holds 60 KiB of the budget.
    const held = Buffer.alloc(100 * 1024, 1)
    const slow = http.request(server.writeUrl, {
      method: 'POST',
      agent: false,
      headers: { 'Content-Type': RW1_CONTENT_TYPE, 'Content-Encoding': 'snappy', 'Content-Length': String(held.length) },
    })
    slow.on('error', () => {})
    slow.write(held.subarray(0, 60 * 1024))
    try {
      const big = body([0, 1, 2, 3, 4, 5, 6, 7].map((k) => seriesOf('mb_budget', k, 300)))
      expect(big.length).toBeGreaterThan(BUDGET - 60 * 1024)
      const deadline = Date.now() + 10_000
      // Until the server has the slow body's first bytes, it holds nothing.
      while ((await inFlightBytes()) < 60 * 1024 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      let answer = await server.write(big)
      while (answer.status !== 429 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100))
        answer = await server.write(big)
      }
      expect(answer.status).toBe(429)
      expect(answer.text).toContain('in-flight request memory')
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0)
      expect(await rejected('memory_budget')).toBeGreaterThanOrEqual(1)
    } finally {
      slow.destroy()
    }
    const deadline = Date.now() + 10_000
    let after = await server.write(body([seriesOf('mb_after', 0, 10)]))
    while (after.status !== 204 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100))
      after = await server.write(body([seriesOf('mb_after', 0, 10)]))
    }
    expect(after.status).toBe(204)
  })
})
