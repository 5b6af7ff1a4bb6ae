/**
 * POST /api/v1/import/prometheus on a real `serve`: Prometheus text and OpenMetrics pushes
 * land in ClickHouse through the same WAL as remote write and are queryable; TYPE/HELP/UNIT
 * become metadata; a malformed line refuses the whole body; size, encoding and validation
 * refusals answer as remote write does.
 */
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from './server.js'

let server: TestServer
const T = Math.floor(Date.now() / 1000) * 1000 - 60_000

async function push(body: string | Buffer, opts: { contentType?: string; encoding?: string; query?: string } = {}) {
  const headers: Record<string, string> = { 'Content-Type': opts.contentType ?? 'text/plain; version=0.0.4' }
  if (opts.encoding) headers['Content-Encoding'] = opts.encoding
  const response = await fetch(`${server.url}/api/v1/import/prometheus${opts.query ?? ''}`, { method: 'POST', body: typeof body === 'string' ? body : new Uint8Array(body), headers })
  return { status: response.status, text: await response.text() }
}

async function instant(query: string, timeMs: number): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const response = await fetch(`${server.url}/api/v1/query?${new URLSearchParams({ query, time: String(timeMs / 1000) })}`)
  const body = (await response.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } }
  return body.data.result
}

beforeAll(async () => {
  // A small decompressed limit, so a gzip bomb is cheap to build.
  server = await startTestServer({ 'limits-max-decompressed-bytes': String(1 << 20) })
})

afterAll(async () => {
  await server?.stop()
})

describe('POST /api/v1/import/prometheus', () => {
  it('stores a gzipped Prometheus text push with extra labels, histograms, summaries, NaN and +Inf', async () => {
    const text = [
      '# HELP push_jobs_total Jobs processed.',
      '# TYPE push_jobs_total counter',
      `push_jobs_total{queue="a\\"b"} 42 ${T}`,
      '# TYPE push_rpc_seconds histogram',
      `push_rpc_seconds_bucket{le="0.1"} 3 ${T}`,
      `push_rpc_seconds_bucket{le="+Inf"} 5 ${T}`,
      `push_rpc_seconds_sum 1.25 ${T}`,
      `push_rpc_seconds_count 5 ${T}`,
      '# TYPE push_lat summary',
      `push_lat{quantile="0.99"} NaN ${T}`,
      `push_lat_sum +Inf ${T}`,
      `push_lat_count 7 ${T}`,
      '',
    ].join('\n')
    const answer = await push(gzipSync(text), { encoding: 'gzip', query: '?extra_label=job=batch&extra_label=instance=runner-1' })
    expect(answer.status, answer.text).toBe(204)
    expect(await server.waitForNumber("SELECT count() FROM samples WHERE metric_name LIKE 'push\\_%'", 8)).toBe(8)
    expect(await instant('push_jobs_total', T)).toEqual([{ metric: { __name__: 'push_jobs_total', instance: 'runner-1', job: 'batch', queue: 'a"b' }, value: [T / 1000, '42'] }])
    expect((await instant('push_rpc_seconds_bucket{le="+Inf"}', T))[0].value[1]).toBe('5')
    expect((await instant('push_lat', T))[0].value[1]).toBe('NaN')
    expect((await instant('push_lat_sum', T))[0].value[1]).toBe('+Inf')
    expect(await server.waitForNumber("SELECT count() FROM metric_metadata FINAL WHERE metric_family_name LIKE 'push\\_%'", 3, 30_000)).toBe(3)
    expect((await server.sql("SELECT type, help FROM metric_metadata FINAL WHERE metric_family_name = 'push_jobs_total'")).trim()).toBe('counter\tJobs processed.')
  }, 60_000)

  it('stores an OpenMetrics push at its timestamps in seconds, and a sample without one at the server time', async () => {
    const before = Date.now()
    const answer = await push(`# TYPE om_items gauge\n# UNIT om_items items\nom_items 3 ${T / 1000}.25\nom_now 1\n# EOF\n`, { contentType: 'application/openmetrics-text; version=1.0.0; charset=utf-8' })
    expect(answer.status, answer.text).toBe(204)
    expect(await server.waitForNumber(`SELECT count() FROM samples WHERE metric_name = 'om_items' AND timestamp = fromUnixTimestamp64Milli(${T + 250})`, 1)).toBe(1)
    expect(await server.waitForNumber("SELECT count() FROM samples WHERE metric_name = 'om_now'", 1)).toBe(1)
    const ts = await server.sqlNumber("SELECT toUnixTimestamp64Milli(max(timestamp)) FROM samples WHERE metric_name = 'om_now'")
    expect(ts).toBeGreaterThanOrEqual(before - 1000)
    expect(ts).toBeLessThanOrEqual(Date.now())
  })

  it('refuses a body with a malformed line whole, naming the line, and stores none of it', async () => {
    const answer = await push(`bad_push_a 1 ${T}\nbad_push_b 2 ${T}\nbad_push_c{x="1" 3\n`)
    expect(answer.status).toBe(400)
    expect(answer.text.trim()).toBe('line 3: expected "," or "}" after the value of label "x" at column 18')
    // A later push has landed, so the refused one would have too.
    expect((await push(`after_bad_push 1 ${T}\n`)).status).toBe(204)
    expect(await server.waitForNumber("SELECT count() FROM samples WHERE metric_name = 'after_bad_push'", 1)).toBe(1)
    expect(await server.sqlNumber("SELECT count() FROM samples WHERE metric_name LIKE 'bad\\_push%'")).toBe(0)
  })

  const REFUSALS: { name: string; body: () => string | Buffer; opts?: Parameters<typeof push>[1]; status: number; message: RegExp }[] = [
    { name: 'a gzip bomb over the decompressed limit', body: () => gzipSync(Buffer.alloc(4 << 20, 'a')), opts: { encoding: 'gzip' }, status: 413, message: /^gzip body inflates to more than the limit of 1048576 bytes/ },
    { name: 'a body that is not gzip', body: () => 'up 1\n', opts: { encoding: 'gzip' }, status: 400, message: /^malformed gzip body/ },
    { name: 'an unknown encoding', body: () => 'up 1\n', opts: { encoding: 'br' }, status: 415, message: /^unsupported Content-Encoding "br"/ },
    { name: 'invalid UTF-8', body: () => Buffer.from([0x75, 0x70, 0x7b, 0x61, 0x3d, 0x22, 0xff, 0x22, 0x7d, 0x20, 0x31, 0x0a]), status: 400, message: /^the body is not valid UTF-8/ },
    { name: 'an extra_label without a value', body: () => 'up 1\n', opts: { query: '?extra_label=job' }, status: 400, message: /^invalid extra_label "job"/ },
    { name: 'an extra_label setting __name__', body: () => 'up 1\n', opts: { query: '?extra_label=__name__=x' }, status: 400, message: /^invalid extra_label "__name__=x"/ },
    { name: 'a sample older than the raw retention', body: () => `too_old_push 1 ${Date.now() - 30 * 86_400_000}\n`, status: 400, message: /^rejected 1 sample of 1 of 1 series \(nothing was stored\): series 0: \{__name__="too_old_push"\}: 1 samples older than the raw retention/ },
    { name: 'a repeated label name', body: () => 'up{ok="1",ok="2"} 1\nup{ok="2"} 1\n', status: 400, message: /^rejected 1 sample of 1 of 2 series \(1 valid series stored\)/ },
  ]
  for (const c of REFUSALS) {
    it(`answers ${c.status} for ${c.name}`, async () => {
      const answer = await push(c.body(), c.opts)
      expect(answer.status).toBe(c.status)
      expect(answer.text).toMatch(c.message)
    })
  }

  it('counts pushes by format and code in the receiver metrics', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text()
    expect(text).toMatch(/^metrichouse_adapter_requests_total\{protocol="text",code="204"\} [1-9]/m)
    expect(text).toMatch(/^metrichouse_adapter_requests_total\{protocol="openmetrics",code="204"\} 1$/m)
    expect(text).toMatch(/^metrichouse_adapter_requests_rejected_total\{reason="malformed_text"\} [1-9]/m)
  })
})
