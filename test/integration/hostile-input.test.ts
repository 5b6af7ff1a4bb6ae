/**
 * Remote write against hostile and unusual input, over real HTTP into a real `serve` (WAL,
 * flusher, chDB): every bad request gets its 4xx and a plain-text reason, the process
 * stays up, and what was accepted before is still there, exactly. Unusual but valid input
 * (NaN payloads, -0, unsorted labels, remote-write 2.0) is stored as sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SnappyCodec } from '../../proto/snappy.js'
import { RW1_CONTENT_TYPE, RW2_CONTENT_TYPE, isHealthy, metricValues, startTestServer, type TestServer } from './server.js'
import { bitsOf, encodeRw1, encodeRw2, encodeRw2Raw, type TestSeries } from './wire.js'

const BODY_LIMIT = 256 * 1024
const NOW = Date.now()
// Well inside the 7-day raw retention and the 10-minute grace period.
const T0 = NOW - 10 * 60_000

let server: TestServer

// Accepted before the hostile requests; must be intact after them.
const KNOWN: TestSeries[] = Array.from({ length: 5 }, (_, i) => ({
  labels: [
    ['__name__', 'known_metric'],
    ['instance', `host-${i}`],
    ['job', 'known'],
  ],
  samples: Array.from({ length: 10 }, (_, j) => ({ timestampMs: T0 + j * 15_000, value: i * 100 + j + 0.5 })),
}))
const KNOWN_COUNT = 50
const KNOWN_SUM = KNOWN.reduce((sum, s) => sum + s.samples.reduce((n, x) => n + x.value, 0), 0)

/** A one-sample series of the metric the hostile requests use; none of it may be stored. */
function hostile(labels: TestSeries['labels'], timestampMs = NOW - 60_000): TestSeries {
  return { labels, samples: [{ timestampMs, value: 1 }] }
}

/** Deterministic bytes (xorshift32): "random" input that fails the same way every run. */
function pseudoRandomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n)
  let x = seed
  for (let i = 0; i < n; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

interface BadRequest {
  name: string
  body: (snappy: SnappyCodec) => Uint8Array
  contentType?: string
  /** null: no Content-Encoding header at all. */
  contentEncoding?: string | null
  status: number
  reason: string
  /** The self-metric reason label and the samples it counts, for series-level rejects. */
  rejected?: { reason: string; samples: number }
}

const rw1 = (snappy: SnappyCodec, series: TestSeries[]) => snappy.compress(encodeRw1(series))
const validBody = (snappy: SnappyCodec) => rw1(snappy, [hostile([['__name__', 'hostile_metric']])])

const BAD_REQUESTS: BadRequest[] = [
  {
    name: 'truncated snappy',
    body: (snappy) => {
      const full = rw1(snappy, [hostile([['__name__', 'hostile_metric'], ['job', 'x'.repeat(200)]])])
      return full.subarray(0, Math.floor(full.length / 2))
    },
    status: 400,
    reason: 'snappy',
  },
  {
    // A small length preamble in front, so the bytes cannot claim a size over the limit.
    name: 'random bytes',
    body: () => Buffer.concat([Uint8Array.of(0xe8, 0x07), pseudoRandomBytes(1000, 0x9e3779b9)]),
    status: 400,
    reason: 'snappy',
  },
  {
    name: 'valid snappy of invalid protobuf',
    body: (snappy) => snappy.compress(Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02])),
    status: 400,
    reason: 'remote-write 1.0 request',
  },
  { name: 'Content-Type text/plain', body: validBody, contentType: 'text/plain', status: 415, reason: 'unsupported Content-Type' },
  { name: 'Content-Encoding gzip', body: validBody, contentEncoding: 'gzip', status: 415, reason: 'unsupported Content-Encoding' },
  { name: 'no Content-Encoding', body: validBody, contentEncoding: null, status: 415, reason: 'unsupported Content-Encoding' },
  {
    name: 'an unknown proto= message',
    body: validBody,
    contentType: 'application/x-protobuf;proto=io.prometheus.write.v3.Request',
    status: 415,
    reason: 'unsupported remote-write message',
  },
  { name: 'a body over the size limit', body: () => pseudoRandomBytes(BODY_LIMIT + 1024, 7), status: 413, reason: 'larger than the limit' },
  {
    // 0xffffffff as a varint, then a few bytes: must be refused before any allocation.
    name: 'a snappy header claiming 4 GB',
    body: () => Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x41),
    status: 413,
    reason: 'claims 4294967295 bytes',
  },
  {
    name: '10k labels in one series',
    body: (snappy) =>
      rw1(snappy, [hostile([['__name__', 'hostile_metric'], ...Array.from({ length: 10_000 }, (_, i): [string, string] => [`l${String(i).padStart(5, '0')}`, 'v'])])]),
    status: 400,
    reason: 'more than the limit of 40',
    rejected: { reason: 'max_label_names_per_series', samples: 1 },
  },
  {
    name: 'a 1 MB label value',
    body: (snappy) => rw1(snappy, [hostile([['__name__', 'hostile_metric'], ['job', 'x'.repeat(1 << 20)]])]),
    status: 400,
    reason: 'over the limit of 4096',
    rejected: { reason: 'label_value_too_long', samples: 1 },
  },
  {
    name: 'invalid UTF-8 in a label value',
    body: (snappy) => rw1(snappy, [hostile([['__name__', 'hostile_metric'], ['job', Uint8Array.of(0x61, 0xc3, 0x28, 0xff)]])]),
    status: 400,
    reason: 'invalid UTF-8',
  },
  {
    name: 'duplicate label names',
    body: (snappy) => rw1(snappy, [hostile([['__name__', 'hostile_metric'], ['job', 'a'], ['job', 'b']])]),
    status: 400,
    reason: 'label "job" repeated',
    rejected: { reason: 'duplicate_label_names', samples: 1 },
  },
  {
    name: 'a series without __name__',
    body: (snappy) => rw1(snappy, [hostile([['job', 'hostile']])]),
    status: 400,
    reason: 'no __name__ label',
    rejected: { reason: 'missing_metric_name', samples: 1 },
  },
  {
    name: 'a timestamp an hour in the future',
    body: (snappy) => rw1(snappy, [hostile([['__name__', 'hostile_metric']], NOW + 3_600_000)]),
    status: 400,
    reason: 'in the future',
    rejected: { reason: 'too_far_in_future', samples: 1 },
  },
  {
    name: 'a remote-write 2.0 labels_ref out of range',
    body: (snappy) =>
      snappy.compress(encodeRw2Raw(['', '__name__', 'hostile_metric'], [{ labelsRefs: [1, 2, 3, 7], samples: [{ timestampMs: NOW, value: 1 }] }])),
    contentType: RW2_CONTENT_TYPE,
    status: 400,
    reason: 'out of range',
  },
  { name: 'an empty body', body: () => new Uint8Array(0), status: 400, reason: 'empty request body' },
]

/** Samples refused by validation so far in this file, by reason: what /metrics must show. */
const rejectedByReason = new Map<string, number>()
function expectRejected(reason: string, samples: number): void {
  rejectedByReason.set(reason, (rejectedByReason.get(reason) ?? 0) + samples)
}

const SPECIAL_VALUES: { name: string; bits: bigint }[] = [
  { name: 'NaN', bits: bitsOf(NaN) },
  { name: '+Inf', bits: bitsOf(Infinity) },
  { name: '-Inf', bits: bitsOf(-Infinity) },
  { name: '-0', bits: bitsOf(-0) },
  { name: 'stale marker', bits: 0x7ff0000000000002n },
  { name: 'Prometheus NormalNaN', bits: 0x7ff8000000000001n },
]

const hex = (bits: bigint) => bits.toString(16).toUpperCase().padStart(16, '0')

describe('remote write under hostile input', () => {
  beforeAll(async () => {
    server = await startTestServer({ 'limits-max-request-body-bytes': String(BODY_LIMIT) })
    const answer = await server.write(server.snappy.compress(encodeRw1(KNOWN)))
    expect(answer.status).toBe(204)
    expect(await server.waitForNumber(`SELECT count() FROM samples WHERE metric_name = 'known_metric'`, KNOWN_COUNT)).toBe(KNOWN_COUNT)
  })

  afterAll(async () => {
    await server?.stop()
  })

  it.each(BAD_REQUESTS)('answers $status to $name with a plain-text reason and stays up', async (c) => {
    const headers: Record<string, string> = { 'Content-Type': c.contentType ?? RW1_CONTENT_TYPE }
    if (c.contentEncoding !== null) headers['Content-Encoding'] = c.contentEncoding ?? 'snappy'
    const response = await fetch(server.writeUrl, { method: 'POST', body: Buffer.from(c.body(server.snappy)), headers })
    const text = await response.text()
    expect({ status: response.status, text }).toMatchObject({ status: c.status, text: expect.stringContaining(c.reason) })
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/)
    if (c.rejected) expectRejected(c.rejected.reason, c.rejected.samples)
    expect(await isHealthy(server.url)).toBe(true)
  })

  it('answers 400 naming the rejects and their count, and stores the 3 valid series of 5', async () => {
    const series: TestSeries[] = [
      hostile([['__name__', 'partial_metric'], ['n', '0']]),
      hostile([['n', '1']]),
      hostile([['__name__', 'partial_metric'], ['n', '2']]),
      hostile([['__name__', 'partial_metric'], ['n', '3']], NOW + 3_600_000),
      hostile([['__name__', 'partial_metric'], ['n', '4']]),
    ]
    const answer = await server.write(server.snappy.compress(encodeRw1(series)))
    expect(answer.status).toBe(400)
    expect(answer.text).toContain('rejected 2 samples of 2 of 5 series')
    expect(answer.text).toContain('series 1: {n="1"}: no __name__ label')
    expect(answer.text).toMatch(/series 3: \{__name__="partial_metric", n="3"\}: 1 samples more than 600s in the future/)
    expectRejected('missing_metric_name', 1)
    expectRejected('too_far_in_future', 1)
    expect(await server.waitForNumber(`SELECT count() FROM samples WHERE metric_name = 'partial_metric'`, 3)).toBe(3)
    const stored = await server.sql(`SELECT arraySort(groupUniqArray(labels['n'])) FROM series WHERE metric_name = 'partial_metric'`)
    expect(stored.trim()).toBe("['0','2','4']")
  })

  it.each([
    { protocol: '1.0', contentType: RW1_CONTENT_TYPE },
    { protocol: '2.0', contentType: RW2_CONTENT_TYPE },
  ])('stores NaN, ±Inf, -0 and stale markers bit-exact over remote write $protocol', async ({ protocol, contentType }) => {
    const metric = `special_values_v${protocol.replace('.', '_')}`
    const samples = SPECIAL_VALUES.map((v, i) => ({ timestampMs: T0 + i * 1000, value: NaN, bits: v.bits }))
    const labels: [string, string][] = [['__name__', metric], ['job', 'special']]
    const body = protocol === '1.0' ? encodeRw1([{ labels, samples }]) : encodeRw2([{ labels, samples }])
    const answer = await server.write(server.snappy.compress(body), contentType)
    expect(answer.status).toBe(204)
    expect(await server.waitForNumber(`SELECT count() FROM samples WHERE metric_name = '${metric}'`, SPECIAL_VALUES.length)).toBe(SPECIAL_VALUES.length)
    const text = await server.sql(
      `SELECT toUnixTimestamp64Milli(timestamp), hex(reinterpretAsUInt64(value)) FROM samples WHERE metric_name = '${metric}' ORDER BY timestamp`,
    )
    const stored = text.trim().split('\n').map((line) => line.split('\t')[1])
    expect(stored).toEqual(SPECIAL_VALUES.map((v) => hex(v.bits)))
  })

  it('stores a remote-write 2.0 request and answers 204 with the samples written', async () => {
    const series = Array.from({ length: 4 }, (_, i) => ({
      labels: [['__name__', 'rw2_metric'], ['job', 'rw2'], ['instance', `host-${i}`]] as [string, string][],
      samples: Array.from({ length: 3 }, (_, j) => ({ timestampMs: T0 + j * 15_000, value: i * 10 + j })),
    }))
    const answer = await server.write(server.snappy.compress(encodeRw2(series)), RW2_CONTENT_TYPE)
    expect(answer.status).toBe(204)
    expect(answer.headers.get('X-Prometheus-Remote-Write-Samples-Written')).toBe('12')
    expect(await server.waitForNumber(`SELECT count() FROM samples WHERE metric_name = 'rw2_metric'`, 12)).toBe(12)
    expect(await server.sqlNumber(`SELECT sum(value) FROM samples WHERE metric_name = 'rw2_metric'`)).toBe(
      series.reduce((sum, s) => sum + s.samples.reduce((n, x) => n + x.value, 0), 0),
    )
    expect(await server.sqlNumber(`SELECT uniqExact(series_id) FROM samples WHERE metric_name = 'rw2_metric'`)).toBe(4)
  })

  it('accepts unsorted labels, stores them sorted, under the series_id of the sorted form', async () => {
    const unsorted: TestSeries = {
      labels: [['zeta', 'z'], ['__name__', 'unsorted_metric'], ['job', 'j'], ['alpha', 'a']],
      samples: [{ timestampMs: T0, value: 1 }],
    }
    const sorted: TestSeries = {
      labels: [['__name__', 'unsorted_metric'], ['alpha', 'a'], ['job', 'j'], ['zeta', 'z']],
      samples: [{ timestampMs: T0 + 1000, value: 2 }],
    }
    for (const s of [unsorted, sorted]) expect((await server.write(server.snappy.compress(encodeRw1([s])))).status).toBe(204)
    expect(await server.waitForNumber(`SELECT count() FROM samples WHERE metric_name = 'unsorted_metric'`, 2)).toBe(2)
    expect(await server.sqlNumber(`SELECT uniqExact(series_id) FROM samples WHERE metric_name = 'unsorted_metric'`)).toBe(1)
    const keys = await server.sql(`SELECT DISTINCT mapKeys(labels) FROM series WHERE metric_name = 'unsorted_metric'`)
    expect(keys.trim()).toBe("['alpha','job','zeta']")
  })

  it('counts every rejected sample by reason in /metrics', async () => {
    const response = await fetch(`${server.url}/metrics`)
    const values = metricValues(await response.text(), 'metrichouse_adapter_samples_rejected_total')
    const shown = Object.fromEntries([...rejectedByReason.keys()].map((reason) => [reason, values.get(`{reason="${reason}"}`)]))
    expect(shown).toEqual(Object.fromEntries(rejectedByReason))
  })

  it('counts requests refused as a whole by reason in /metrics', async () => {
    const values = metricValues(await (await fetch(`${server.url}/metrics`)).text(), 'metrichouse_adapter_requests_rejected_total')
    const count = (reason: string) => values.get(`{reason="${reason}"}`) ?? 0
    expect(count('unsupported_media_type')).toBe(4)
    expect(count('body_too_large')).toBe(1)
    expect(count('body_invalid')).toBe(1)
    expect(count('malformed_snappy')).toBeGreaterThanOrEqual(1)
    expect(count('malformed_protobuf')).toBeGreaterThanOrEqual(2)
    expect(count('decompressed_too_large')).toBeGreaterThanOrEqual(1)
  })

  it('still holds exactly the samples accepted before the hostile requests, and none of theirs', async () => {
    const text = await server.sql(`SELECT count(), sum(value) FROM samples WHERE metric_name = 'known_metric'`)
    expect(text.trim().split('\t').map(Number)).toEqual([KNOWN_COUNT, KNOWN_SUM])
    expect(await server.sqlNumber(`SELECT count() FROM samples WHERE metric_name = 'hostile_metric'`)).toBe(0)
    expect(await isHealthy(server.url)).toBe(true)
  })
})
