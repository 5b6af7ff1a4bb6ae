import { beforeAll, describe, expect, it } from 'vitest'
import type { AcceptedBatch, AcceptedSeries } from '../adapter/sink.js'
import { decodeWriteRequestV1 } from '../proto/decode-v1.js'
import { encodeWriteRequestV1 } from '../proto/encode-v1.js'
import { Fingerprinter } from '../proto/fingerprint.js'
import { createSnappyCodec, type SnappyCodec } from '../proto/snappy.js'
import { encodeRequestMessages, groupByPartition } from './message-encoder.js'
import { FORMAT_HEADER, readMessageHeaders, REQUEST_HEADER, UnknownMessageFormatError } from './message-format.js'
import { partitionOf } from './partitioner.js'

let snappy: SnappyCodec
let fingerprinter: Fingerprinter

beforeAll(async () => {
  snappy = await createSnappyCodec()
  fingerprinter = await Fingerprinter.create()
})

function series(n: number): AcceptedSeries[] {
  return Array.from({ length: n }, (_, i) => {
    const labels = [
      { name: '__name__', value: 'm' },
      { name: 'instance', value: `i-${i}` },
    ]
    return { ref: { id: fingerprinter.fingerprint(labels), metricName: 'm', labels }, samples: [{ timestampMs: 1000 + i, value: i }] }
  })
}

describe('partitionOf', () => {
  it('is stable, in range, and spreads series over every partition', () => {
    const ids = series(600).map((s) => s.ref.id)
    for (const partitions of [1, 3, 6, 12, 64]) {
      const counts = new Array<number>(partitions).fill(0)
      for (const id of ids) {
        const p = partitionOf(id, partitions)
        expect(p).toBe(partitionOf(id, partitions))
        counts[p]++
      }
      expect(Math.min(...counts), `${partitions} partitions`).toBeGreaterThan(0)
    }
  })
})

describe('encodeRequestMessages', () => {
  it('makes one message per touched partition holding exactly its series, in request order', () => {
    const batch: AcceptedBatch = { series: series(50), metadata: [], sampleCount: 50, requestId: 12345n }
    const messages = encodeRequestMessages(batch, 6, snappy)
    const groups = groupByPartition(batch.series, 6)
    expect(messages.map((m) => m.partition).sort()).toEqual([...groups.keys()].sort())
    for (const m of messages) {
      expect(m.headers[FORMAT_HEADER]).toBe('1')
      expect(m.headers[REQUEST_HEADER]).toBe('12345')
      const decoded = decodeWriteRequestV1(snappy.uncompress(m.value, 1 << 20))
      const names = decoded.series.map((s) => s.labels[1].value)
      expect(names).toEqual(groups.get(m.partition)!.map((s) => s.ref.labels[1].value))
    }
  })

  it('passes the received body through unchanged when every series lands on one partition', () => {
    const original = new Uint8Array([9, 9, 9])
    const batch: AcceptedBatch = { series: series(5), metadata: [], sampleCount: 5, originalRw1Snappy: original }
    const [only] = encodeRequestMessages(batch, 1, snappy)
    expect([...only.value]).toEqual([9, 9, 9])
  })
})

describe('readMessageHeaders', () => {
  const cases = [
    { headers: { [FORMAT_HEADER]: Buffer.from('1'), [REQUEST_HEADER]: Buffer.from('77') }, want: { requestId: '77' } },
    { headers: { [FORMAT_HEADER]: '1' }, want: { requestId: undefined } },
    { headers: { [FORMAT_HEADER]: '2' }, error: true },
    { headers: {}, error: true },
  ]
  for (const c of cases) {
    it(`reads ${JSON.stringify(Object.keys(c.headers))} -> ${c.error ? 'error' : JSON.stringify(c.want)}`, () => {
      if (c.error) expect(() => readMessageHeaders(c.headers)).toThrow(UnknownMessageFormatError)
      else expect(readMessageHeaders(c.headers)).toEqual(c.want)
    })
  }
})

describe('encodeRequestMessages from the received bytes', () => {
  it('cuts each partition its series (and the first one the metadata) out of the body, equal to encoding them', () => {
    const accepted = series(40)
    const metadata = [{ metricFamilyName: 'm', type: 'gauge' as const, help: 'h', unit: '' }]
    const raw = encodeWriteRequestV1(accepted, metadata)
    const cut = encodeRequestMessages({ series: accepted, metadata, sampleCount: 40, originalRw1: raw, originalRw1Snappy: snappy.compress(raw) }, 6, snappy)
    const encoded = encodeRequestMessages({ series: accepted, metadata, sampleCount: 40 }, 6, snappy)
    expect(cut.map((m) => m.partition)).toEqual(encoded.map((m) => m.partition))
    for (let i = 0; i < cut.length; i++) {
      expect(decodeWriteRequestV1(snappy.uncompress(cut[i].value, 1 << 20))).toEqual(decodeWriteRequestV1(snappy.uncompress(encoded[i].value, 1 << 20)))
    }
    expect(decodeWriteRequestV1(snappy.uncompress(cut[0].value, 1 << 20)).metadata).toHaveLength(1)
  })

  it('falls back to encoding when the body does not hold exactly the accepted series', () => {
    const accepted = series(10)
    const raw = encodeWriteRequestV1(series(11))
    const messages = encodeRequestMessages({ series: accepted, metadata: [], sampleCount: 10, originalRw1: raw }, 3, snappy)
    const total = messages.reduce((n, m) => n + decodeWriteRequestV1(snappy.uncompress(m.value, 1 << 20)).series.length, 0)
    expect(total).toBe(10)
  })
})
