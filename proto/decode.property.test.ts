// Property tests: random requests encoded by protobufjs (with extra, unknown fields
// mixed in) must decode to the same thing through the zero-copy decoders as through
// protobufjs itself.
import { fileURLToPath } from 'node:url'
import protobuf from 'protobufjs'
import { describe, expect, it } from 'vitest'
import { decodeWriteRequestV1 } from './decode-v1.js'
import { decodeWriteRequestV1Cached } from './decode-v1-cached.js'
import { decodeWriteRequestV2 } from './decode-v2.js'
import { encodeWriteRequestV1 } from './encode-v1.js'
import { SeriesCache } from './series-cache.js'
import type { Label, Sample } from './types.js'

const protoPath = (name: string): string => fileURLToPath(new URL(name, import.meta.url))
const v1 = new protobuf.Root().loadSync(protoPath('remote-write-v1.proto'), { keepCase: true })
const v2 = new protobuf.Root().loadSync(protoPath('remote-write-v2.proto'), { keepCase: true })

// The same messages with fields the receiver does not know, of every wire type but groups.
const extended = protobuf.parse(`
syntax = "proto3";
package ext;
message WriteRequest { repeated TimeSeries timeseries = 1; repeated MetricMetadata metadata = 3;
  string x_len = 15; fixed32 x_i32 = 16; }
message TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; repeated Opaque exemplars = 3;
  repeated Opaque histograms = 4; uint64 x_varint = 9; }
message Label { string name = 1; string value = 2; fixed64 x_i64 = 7; }
message Sample { double value = 1; int64 timestamp = 2; sint32 x_sint = 4; }
message Opaque { double sum = 3; }
message MetricMetadata { int32 type = 1; string metric_family_name = 2; string help = 4; string unit = 5; bytes x_bytes = 3; }
message Request { repeated string symbols = 4; repeated TimeSeries2 timeseries = 5; bytes x = 6; }
message TimeSeries2 { repeated uint32 labels_refs = 1; repeated Sample2 samples = 2; repeated Opaque histograms = 3;
  repeated Opaque exemplars = 4; Metadata metadata = 5; int64 created_timestamp = 6; string x = 7; }
message Sample2 { double value = 1; int64 timestamp = 2; int64 start_timestamp = 3; fixed32 x = 11; }
message Metadata { int32 type = 1; uint32 help_ref = 3; uint32 unit_ref = 4; fixed64 x = 5; }
`, { keepCase: true }).root

const STALE_BITS = 0x7ff0000000000002n

function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = Math.imul(a ^ (a >>> 15), a | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const PIECES = ['a', 'Z', '_', '0', 'é', 'ü', '€', '日本', '😀', '\u{10FFFF}', '\uFEFF', ' ', '\n', '"', 'ÿ']

function randomString(rand: () => number): string {
  const shape = rand()
  const len = shape < 0.1 ? 0 : shape < 0.9 ? Math.floor(rand() * 20) : Math.floor(rand() * 400)
  let s = ''
  for (let i = 0; i < len; i++) s += rand() < 0.7 ? String.fromCharCode(97 + Math.floor(rand() * 26)) : PIECES[Math.floor(rand() * PIECES.length)]
  return s
}

function randomValue(rand: () => number): number {
  const k = rand()
  if (k < 0.05) return NaN
  if (k < 0.1) return Infinity
  if (k < 0.15) return -Infinity
  if (k < 0.2) return -0
  if (k < 0.3) return Math.floor(rand() * 1e6)
  return (rand() - 0.5) * 10 ** Math.floor(rand() * 40 - 20)
}

function randomTimestamp(rand: () => number): number {
  const k = rand()
  if (k < 0.1) return 0
  if (k < 0.3) return -Math.floor(rand() * 2 ** 45)
  if (k < 0.35) return Number.MAX_SAFE_INTEGER - Math.floor(rand() * 10)
  if (k < 0.4) return -Number.MAX_SAFE_INTEGER
  return 1_700_000_000_000 + Math.floor(rand() * 1e9)
}

interface RandomSeries {
  labels: Label[]
  samples: { value: number; timestamp: number; start_timestamp: number }[]
  exemplars: number
  histograms: number
}

function randomSeries(rand: () => number): RandomSeries {
  const labels: Label[] = []
  const nl = Math.floor(rand() * 12)
  for (let i = 0; i < nl; i++) labels.push({ name: randomString(rand), value: randomString(rand) })
  const samples = []
  const ns = Math.floor(rand() * 4)
  for (let i = 0; i < ns; i++) {
    samples.push({ value: randomValue(rand), timestamp: randomTimestamp(rand), start_timestamp: rand() < 0.5 ? 0 : randomTimestamp(rand) })
  }
  return { labels, samples, exemplars: Math.floor(rand() * 3), histograms: rand() < 0.1 ? 1 : 0 }
}

const opaque = (n: number): { sum: number }[] => Array.from({ length: n }, (_, i) => ({ sum: i }))
const sameNumber = (a: number, b: number): boolean => Object.is(a, b)

describe('decodeWriteRequestV1 against protobufjs', () => {
  const WriteRequest = v1.lookupType('prometheus.WriteRequest')
  const Extended = extended.lookupType('ext.WriteRequest')
  const TYPES = ['unknown', 'counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset']

  it.each(Array.from({ length: 300 }, (_, i) => i))('agrees on random request %i', (seed) => {
    const rand = prng(seed + 1)
    const series = Array.from({ length: Math.floor(rand() * 8) }, () => randomSeries(rand))
    const metadata = Array.from({ length: Math.floor(rand() * 3) }, () => ({
      type: Math.floor(rand() * 10), // 8 and 9 are from a future schema: read as unknown
      metric_family_name: randomString(rand),
      help: randomString(rand),
      unit: randomString(rand),
      x_bytes: rand() < 0.5 ? new Uint8Array([1, 2, 3]) : new Uint8Array(0),
    }))
    const msg = Extended.fromObject({
      timeseries: series.map((s) => ({
        labels: s.labels.map((l) => ({ ...l, x_i64: rand() < 0.3 ? 42 : 0 })),
        samples: s.samples.map((x) => ({ value: x.value, timestamp: x.timestamp, x_sint: rand() < 0.3 ? -5 : 0 })),
        exemplars: opaque(s.exemplars),
        histograms: opaque(s.histograms),
        x_varint: rand() < 0.3 ? 2 ** 40 : 0,
      })),
      metadata,
      x_len: rand() < 0.5 ? 'unknown' : '',
      x_i32: rand() < 0.5 ? 7 : 0,
    })
    const bytes = Extended.encode(msg).finish()
    const oracle = WriteRequest.toObject(WriteRequest.decode(bytes), { longs: Number, defaults: true, arrays: true }) as {
      timeseries: { labels: Label[]; samples: { value: number; timestamp: number }[]; exemplars: unknown[]; histograms: unknown[] }[]
      metadata: { type: number; metric_family_name: string; help: string; unit: string }[]
    }
    {
      const got = decodeWriteRequestV1(bytes)
      expect(got.version).toBe('1.0')
      expect(got.series.length).toBe(oracle.timeseries.length)
      got.series.forEach((s, i) => {
        const o = oracle.timeseries[i]
        expect(s.labels.map((l) => ({ name: l.name, value: l.value }))).toEqual(o.labels.map((l) => ({ name: l.name, value: l.value })))
        expect(s.samples.length).toBe(o.samples.length)
        s.samples.forEach((x, k) => {
          expect(sameNumber(x.value, o.samples[k].value)).toBe(true)
          expect(x.timestampMs).toBe(o.samples[k].timestamp)
          expect(x.nanBits !== undefined).toBe(Number.isNaN(x.value))
        })
        expect(s.exemplarCount).toBe(o.exemplars.length)
        expect(s.histogramCount).toBe(o.histograms.length)
      })
      expect(got.metadata).toEqual(
        oracle.metadata.map((m) => ({ metricFamilyName: m.metric_family_name, type: TYPES[m.type] ?? 'unknown', help: m.help, unit: m.unit })),
      )
    }
  })
})

describe('decodeWriteRequestV1Cached against decodeWriteRequestV1', () => {
  const Extended = extended.lookupType('ext.WriteRequest')
  // One long-lived cache across all cases (series repeat between requests as between scrapes)
  // and one so small that nearly every lookup evicts.
  const shared = new SeriesCache((labels) => ({ labels }))
  const tiny = new SeriesCache((labels) => ({ labels }), { maxEntries: 2 })

  it.each(Array.from({ length: 300 }, (_, i) => i))('gives the same labels and samples on random request %i', (seed) => {
    const rand = prng(seed + 9000)
    // Draw from a small pool so that the same label sets recur within and across requests.
    const pool = Array.from({ length: 6 }, () => randomSeries(prng(Math.floor(rand() * 20) + 1)))
    const series = Array.from({ length: Math.floor(rand() * 10) }, () => (rand() < 0.6 ? pool[Math.floor(rand() * pool.length)] : randomSeries(rand)))
    const bytes = Extended.encode(
      Extended.fromObject({
        timeseries: series.map((s) => ({
          labels: s.labels.map((l) => ({ ...l, x_i64: rand() < 0.1 ? 42 : 0 })),
          samples: s.samples.map((x) => ({ value: x.value, timestamp: x.timestamp, x_sint: rand() < 0.3 ? -5 : 0 })),
          exemplars: opaque(s.exemplars),
          histograms: opaque(s.histograms),
          x_varint: rand() < 0.3 ? 2 ** 40 : 0,
        })),
        metadata: rand() < 0.3 ? [{ type: 2, metric_family_name: randomString(rand), help: 'h', unit: '' }] : [],
      }),
    ).finish()
    const want = decodeWriteRequestV1(bytes)
    for (const cache of [shared, shared, tiny, tiny]) {
      const got = decodeWriteRequestV1Cached(bytes, cache)
      expect(got.metadata).toEqual(want.metadata)
      expect(got.series.map((s) => s.entry.labels)).toEqual(want.series.map((s) => s.labels))
      expect(got.series.map((s) => s.samples)).toEqual(want.series.map((s) => s.samples))
      expect(got.series.map((s) => [s.exemplarCount, s.histogramCount])).toEqual(want.series.map((s) => [s.exemplarCount, s.histogramCount]))
    }
    expect(tiny.size).toBeLessThanOrEqual(2)
  })
})

describe('decodeWriteRequestV2 against protobufjs', () => {
  const Request = v2.lookupType('io.prometheus.write.v2.Request')
  const Extended = extended.lookupType('ext.Request')
  const TYPES = ['unknown', 'counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset']

  it.each(Array.from({ length: 300 }, (_, i) => i))('agrees on random request %i', (seed) => {
    const rand = prng(seed + 1000)
    const series = Array.from({ length: Math.floor(rand() * 8) }, () => randomSeries(rand))
    const symbols = ['']
    const index = new Map<string, number>([['', 0]])
    const ref = (s: string): number => {
      let i = index.get(s)
      if (i === undefined) {
        i = symbols.length
        symbols.push(s)
        index.set(s, i)
      }
      return i
    }
    const timeseries = series.map((s) => ({
      labels_refs: s.labels.flatMap((l) => [ref(l.name), ref(l.value)]),
      samples: s.samples.map((x) => ({ ...x, x: rand() < 0.2 ? 9 : 0 })),
      histograms: opaque(s.histograms),
      exemplars: opaque(s.exemplars),
      metadata: rand() < 0.5 ? { type: Math.floor(rand() * 9), help_ref: ref(randomString(rand)), unit_ref: ref(randomString(rand)), x: rand() < 0.5 ? 1 : 0 } : undefined,
      created_timestamp: rand() < 0.5 ? randomTimestamp(rand) : 0,
      x: rand() < 0.3 ? 'unknown' : '',
    }))
    const bytes = Extended.encode(Extended.fromObject({ symbols, timeseries, x: rand() < 0.5 ? new Uint8Array([9]) : new Uint8Array(0) })).finish()
    const oracle = Request.toObject(Request.decode(bytes), { longs: Number, defaults: true, arrays: true }) as {
      symbols: string[]
      timeseries: {
        labels_refs: number[]
        samples: { value: number; timestamp: number; start_timestamp: number }[]
        histograms: unknown[]
        exemplars: unknown[]
        metadata?: { type: number; help_ref: number; unit_ref: number }
        created_timestamp: number
      }[]
    }
    const got = decodeWriteRequestV2(bytes)
    expect(got.version).toBe('2.0')
    expect(got.metadata).toEqual([])
    expect(got.series.length).toBe(oracle.timeseries.length)
    got.series.forEach((s, i) => {
      const o = oracle.timeseries[i]
      const labels: Label[] = []
      for (let k = 0; k < o.labels_refs.length; k += 2) labels.push({ name: oracle.symbols[o.labels_refs[k]], value: oracle.symbols[o.labels_refs[k + 1]] })
      expect(s.labels).toEqual(labels)
      s.samples.forEach((x: Sample, k) => {
        expect(sameNumber(x.value, o.samples[k].value)).toBe(true)
        expect(x.timestampMs).toBe(o.samples[k].timestamp)
        expect(x.startTimestampMs).toBe(o.samples[k].start_timestamp)
      })
      expect(s.samples.length).toBe(o.samples.length)
      expect(s.exemplarCount).toBe(o.exemplars.length)
      expect(s.histogramCount).toBe(o.histograms.length)
      expect(s.createdTimestampMs).toBe(o.created_timestamp)
      const m = o.metadata
      expect(s.metadata).toEqual(
        m ? { type: TYPES[m.type] ?? 'unknown', help: oracle.symbols[m.help_ref], unit: oracle.symbols[m.unit_ref] } : { type: 'unknown', help: '', unit: '' },
      )
    })
  })
})

describe('encodeWriteRequestV1', () => {
  it.each(Array.from({ length: 100 }, (_, i) => i))('round-trips random series %i through decodeWriteRequestV1', (seed) => {
    const rand = prng(seed + 5000)
    const series = Array.from({ length: Math.floor(rand() * 10) }, () => {
      const s = randomSeries(rand)
      return { labels: s.labels, samples: s.samples.map((x) => ({ timestampMs: x.timestamp, value: x.value })) }
    })
    const metadata = rand() < 0.5 ? [{ metricFamilyName: randomString(rand), type: 'counter' as const, help: randomString(rand), unit: 'seconds' }] : []
    const got = decodeWriteRequestV1(encodeWriteRequestV1(series, metadata))
    expect(got.series.map((s) => s.labels)).toEqual(series.map((s) => s.labels))
    got.series.forEach((s, i) => {
      expect(s.samples.map((x) => x.timestampMs)).toEqual(series[i].samples.map((x) => x.timestampMs))
      s.samples.forEach((x, k) => expect(sameNumber(x.value, series[i].samples[k].value)).toBe(true))
    })
    expect(got.metadata).toEqual(metadata)
  })

  it('agrees byte for byte with protobufjs on a node_exporter-like request', () => {
    const WriteRequest = v1.lookupType('prometheus.WriteRequest')
    const series = [
      { labels: [{ name: '__name__', value: 'node_load1' }, { name: 'instance', value: 'srv-1:9100' }], samples: [{ timestampMs: 1_700_000_000_000, value: 0.25 }, { timestampMs: -1, value: -2 }] },
    ]
    const ours = encodeWriteRequestV1(series)
    const theirs = WriteRequest.encode(
      WriteRequest.fromObject({ timeseries: series.map((s) => ({ labels: s.labels, samples: s.samples.map((x) => ({ value: x.value, timestamp: x.timestampMs })) })) }),
    ).finish()
    expect(Buffer.from(ours).toString('hex')).toBe(Buffer.from(theirs).toString('hex'))
  })

  it.each([
    ['stale marker', STALE_BITS],
    ['Prometheus normal NaN', 0x7ff8000000000001n],
    ['negative quiet NaN with payload', 0xfff8dead0000beefn],
  ])('keeps the bits of a %s through encode and decode', (_name, bits) => {
    const value = new Float64Array(new BigUint64Array([bits]).buffer)[0]
    const series = [{ labels: [{ name: '__name__', value: 'up' }], samples: [{ timestampMs: 5, value, nanBits: bits }] }]
    const got = decodeWriteRequestV1(encodeWriteRequestV1(series)).series[0].samples[0]
    expect(Number.isNaN(got.value)).toBe(true)
    expect(got.nanBits).toBe(bits)
  })

  it('handles strings and series long enough to need multi-byte lengths', () => {
    const long = 'x'.repeat(20_000)
    const series = [{ labels: [{ name: 'a', value: long }, { name: 'b', value: '日本'.repeat(100) }], samples: Array.from({ length: 3000 }, (_, i) => ({ timestampMs: i, value: i })) }]
    const got = decodeWriteRequestV1(encodeWriteRequestV1(series))
    expect(got.series[0].labels).toEqual(series[0].labels)
    expect(got.series[0].samples.length).toBe(3000)
    expect(got.series[0].samples[2999]).toEqual({ timestampMs: 2999, value: 2999, nanBits: undefined })
  })
})
