// SeriesCache and decodeWriteRequestV1Cached: exactness under hash collisions, bounded
// size, and the cases the random property test rarely reaches.
import { describe, expect, it } from 'vitest'
import { BadRequestError } from '../errors/http-errors.js'
import { decodeWriteRequestV1Cached } from './decode-v1-cached.js'
import { encodeWriteRequestV1 } from './encode-v1.js'
import { SeriesCache } from './series-cache.js'
import type { Label } from './types.js'

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'))
const series = (...pairs: string[]): { labels: Label[]; samples: { timestampMs: number; value: number }[] } => {
  const labels: Label[] = []
  for (let i = 0; i < pairs.length; i += 2) labels.push({ name: pairs[i], value: pairs[i + 1] })
  return { labels, samples: [{ timestampMs: 1, value: 2 }] }
}
const labelSets = [
  series('__name__', 'up', 'job', 'a'),
  series('__name__', 'up', 'job', 'b'),
  series('__name__', 'up'),
  series(),
  series('__name__', 'upjob', 'a', ''),
  series('x', 'y'.repeat(300)),
]

describe('SeriesCache', () => {
  it.each([
    ['the default hash', undefined],
    ['a hash that puts every key in one bucket', () => 7],
    ['a hash that differs only in high bits', (_b: Uint8Array, _v: DataView, s: number, e: number) => (e - s) << 20],
  ])('maps each label set to its own entry with %s', (_name, hash) => {
    const cache = new SeriesCache((labels) => ({ labels }), { hash })
    const body = encodeWriteRequestV1(labelSets)
    const first = decodeWriteRequestV1Cached(body, cache).series.map((s) => s.entry)
    const again = decodeWriteRequestV1Cached(body, cache).series.map((s) => s.entry)
    expect(first.map((e) => e.labels)).toEqual(labelSets.map((s) => s.labels))
    expect(new Set(first).size).toBe(labelSets.length)
    again.forEach((e, i) => expect(e).toBe(first[i]))
    expect(cache.misses).toBe(labelSets.length)
  })

  it('stays within maxEntries and still answers correctly while evicting', () => {
    const cache = new SeriesCache((labels) => ({ labels }), { maxEntries: 4 })
    for (let round = 0; round < 5; round++) {
      for (const s of labelSets) {
        const got = decodeWriteRequestV1Cached(encodeWriteRequestV1([s]), cache).series[0].entry
        expect(got.labels).toEqual(s.labels)
        expect(cache.size).toBeLessThanOrEqual(4)
      }
    }
  })

  it('keeps a series that is used while newer ones arrive (promotion out of the old generation)', () => {
    let computed = 0
    const cache = new SeriesCache((labels) => (computed++, { labels }), { maxEntries: 4 })
    const hot = encodeWriteRequestV1([labelSets[0]])
    decodeWriteRequestV1Cached(hot, cache)
    for (let i = 0; i < 20; i++) {
      decodeWriteRequestV1Cached(encodeWriteRequestV1([series('n', String(i))]), cache)
      decodeWriteRequestV1Cached(hot, cache)
    }
    expect(computed).toBe(21)
  })

  it('rejects maxEntries below 2', () => {
    expect(() => new SeriesCache(() => 1, { maxEntries: 1 })).toThrow(RangeError)
  })
})

describe('decodeWriteRequestV1Cached', () => {
  it('gives one entry to the same labels whether or not other fields sit between them', () => {
    const cache = new SeriesCache((labels) => ({ labels }))
    // Label a=b, Sample{}, Label c=d, versus both Labels first then the Sample.
    const split = hex('0a 12 0a 06 0a 01 61 12 01 62 12 00 0a 06 0a 01 63 12 01 64')
    const joined = hex('0a 12 0a 06 0a 01 61 12 01 62 0a 06 0a 01 63 12 01 64 12 00')
    const a = decodeWriteRequestV1Cached(split, cache).series[0]
    const b = decodeWriteRequestV1Cached(joined, cache).series[0]
    expect(a.entry.labels).toEqual([{ name: 'a', value: 'b' }, { name: 'c', value: 'd' }])
    expect(b.entry).toBe(a.entry)
    expect(a.samples.length).toBe(1)
  })

  it('rejects invalid UTF-8 in labels even after the valid spelling of the series is cached', () => {
    const cache = new SeriesCache((labels) => ({ labels }))
    decodeWriteRequestV1Cached(hex('0a 07 0a 05 0a 03 61 61 62'), cache)
    expect(() => decodeWriteRequestV1Cached(hex('0a 07 0a 05 0a 03 61 ff 62'), cache)).toThrow(BadRequestError)
    expect(() => decodeWriteRequestV1Cached(hex('0a 07 0a 05 0a 03 61 ff 62'), cache)).toThrow('invalid UTF-8')
  })

  it('gives a series without labels an entry computed from no labels', () => {
    const cache = new SeriesCache((labels) => ({ count: labels.length }))
    expect(decodeWriteRequestV1Cached(hex('0a 00'), cache).series[0].entry).toEqual({ count: 0 })
  })
})
