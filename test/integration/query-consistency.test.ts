/**
 * One consistent state of the store per query (query/read-snapshot.ts): a writer keeps
 * remote-writing series that are equal (or in a fixed ratio) at every instant, each request
 * carrying all of them at one timestamp, while the WAL flushes every 100 ms; queries through
 * the HTTP API that combine those series must answer as Prometheus would, every time. Before
 * the snapshot, a flush landing between two selectors' statements tore the answers (23 of 59
 * `count_over_time(a) - count_over_time(b)` queries non-zero; `errors / total` at 0.5495).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeRw1, type TestSeries } from './wire.js'
import { startTestServer, type TestServer } from './server.js'

let server: TestServer

beforeAll(async () => {
  server = await startTestServer({ 'flush-interval': '100ms' })
}, 60_000)

afterAll(async () => {
  await server?.stop()
})

/** Requests of one sample per series, all at one timestamp, until stopped. */
function startWriter(): { stop: () => Promise<number> } {
  let running = true
  let n = 0
  let lastT = 0
  const done = (async () => {
    while (running) {
      n++
      const t = Math.max(Date.now(), lastT + 1)
      lastT = t
      const series: TestSeries[] = [
        { labels: [['__name__', 'tear_a'], ['k', 'a']], samples: [{ timestampMs: t, value: 1 }] },
        { labels: [['__name__', 'tear_b'], ['k', 'b']], samples: [{ timestampMs: t, value: 1 }] },
        { labels: [['__name__', 'tear_errors_total'], ['job', 'j']], samples: [{ timestampMs: t, value: n }] },
        { labels: [['__name__', 'tear_requests_total'], ['job', 'j']], samples: [{ timestampMs: t, value: 2 * n }] },
      ]
      const answer = await server.write(server.snappy.compress(encodeRw1(series)))
      if (answer.status !== 204 && answer.status !== 200) throw new Error(`remote write answered ${answer.status}: ${answer.text}`)
      await new Promise((r) => setTimeout(r, 15))
    }
    return n
  })()
  return {
    stop: async () => {
      running = false
      return done
    },
  }
}

interface Sample {
  metric: Record<string, string>
  value?: [number, string]
  values?: [number, string][]
}

async function api(path: string, params: Record<string, string>): Promise<Sample[]> {
  const response = await fetch(`${server.url}${path}`, { method: 'POST', body: new URLSearchParams(params) })
  const body = (await response.json()) as { status: string; error?: string; data: { result: Sample[] } }
  expect(response.status, body.error).toBe(200)
  return body.data.result
}

/** The values of every sample or point of a result. */
function valuesOf(result: Sample[]): number[] {
  return result.flatMap((s) => (s.value ? [Number(s.value[1])] : (s.values ?? []).map((p) => Number(p[1]))))
}

const CASES = [
  { name: 'count_over_time of two series written together', query: 'count_over_time(tear_a[5m]) - ignoring(k) count_over_time(tear_b[5m])', want: 0 },
  { name: 'errors / total of counters in a fixed ratio', query: 'rate(tear_errors_total[1m]) / rate(tear_requests_total[1m])', want: 0.5 },
  { name: 'the sum of two equal gauges, twice', query: 'sum(count_over_time(tear_a[1m])) / sum(count_over_time(tear_b[1m]))', want: 1 },
]

describe('one state of the store per query, while a writer flushes', () => {
  it('answers every instant and range query as Prometheus does: no torn answer in any run', async () => {
    const writer = startWriter()
    // Some data first, so that every query has something to combine.
    await new Promise((r) => setTimeout(r, 1500))
    const torn: string[] = []
    let answered = 0
    try {
      for (let round = 0; round < 10; round++) {
        for (const c of CASES) {
          const now = Date.now() / 1000
          const instant = await api('/api/v1/query', { query: c.query, time: now.toFixed(3) })
          const range = await api('/api/v1/query_range', { query: c.query, start: (now - 20).toFixed(3), end: now.toFixed(3), step: '2' })
          for (const [kind, result] of [['instant', instant], ['range', range]] as const) {
            const values = valuesOf(result)
            if (values.length > 0) answered++
            for (const v of values) if (v !== c.want) torn.push(`${c.name} (${kind}): ${v}`)
          }
        }
      }
    } finally {
      const written = await writer.stop()
      expect(written).toBeGreaterThan(50)
    }
    // Nearly every query had data to combine (the first ones may precede the first flush).
    expect(answered).toBeGreaterThan(10 * CASES.length)
    expect(torn).toEqual([])
  }, 180_000)
})
