// Malformed input must end in BadRequestError (or, for a cut that happens to leave a
// valid shorter message, a normal decode): never a RangeError, a TypeError or a hang.
import { describe, expect, it } from 'vitest'
import { BadRequestError } from '../errors/http-errors.js'
import { decodeWriteRequestV1 } from './decode-v1.js'
import { decodeWriteRequestV1Cached } from './decode-v1-cached.js'
import { decodeWriteRequestV2 } from './decode-v2.js'
import { encodeWriteRequestV1 } from './encode-v1.js'
import { SeriesCache } from './series-cache.js'

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'))

// Shared across cases, so corrupted requests also meet warm entries of the valid ones.
const seriesCache = new SeriesCache((labels) => ({ labels }), { maxEntries: 64 })
const decodeCached = (b: Uint8Array): unknown => decodeWriteRequestV1Cached(b, seriesCache)

const decoders = [
  ['1.0', (b: Uint8Array) => decodeWriteRequestV1(b)],
  ['1.0 with SeriesCache', decodeCached],
  ['2.0', (b: Uint8Array) => decodeWriteRequestV2(b)],
] as const

function outcome(decode: (b: Uint8Array) => unknown, bytes: Uint8Array): 'ok' | 'bad request' {
  try {
    decode(bytes)
    return 'ok'
  } catch (err) {
    if (err instanceof BadRequestError) return 'bad request'
    throw err
  }
}

// A valid 1.0 request: one series with two labels, a stale sample and an exemplar,
// plus metadata.
const validV1 = encodeWriteRequestV1(
  [{ labels: [{ name: '__name__', value: 'up' }, { name: 'job', value: 'nödé' }], samples: [{ timestampMs: -1000, value: 1 }, { timestampMs: 2, value: NaN, nanBits: 0x7ff0000000000002n }] }],
  [{ metricFamilyName: 'up', type: 'gauge', help: 'Is it up', unit: '' }],
)
// A valid 2.0 request: symbols ['', '__name__', 'up'], one series, metadata, created ts.
const validV2 = hex('22 00 22 08 5f5f6e616d655f5f 22 02 7570 2a 18 0a 02 0102 12 0c 09 000000000000f03f 10 e807 2a 02 08 02 30 05')

describe('malformed remote-write input', () => {
  it('decodes the valid fixtures', () => {
    expect(decodeWriteRequestV1(validV1).series[0].samples[1].nanBits).toBe(0x7ff0000000000002n)
    const v2 = decodeWriteRequestV2(validV2)
    expect(v2.series[0]).toEqual({
      labels: [{ name: '__name__', value: 'up' }],
      samples: [{ timestampMs: 1000, value: 1, nanBits: undefined, startTimestampMs: 0 }],
      histogramCount: 0,
      exemplarCount: 0,
      metadata: { type: 'gauge', help: '', unit: '' },
      createdTimestampMs: 5,
    })
  })

  it.each(decoders)('%s: a request cut at every byte decodes or throws BadRequestError', (_v, decode) => {
    for (const valid of [validV1, validV2]) {
      for (let cut = 0; cut < valid.length; cut++) outcome(decode, valid.subarray(0, cut))
    }
  })

  it.each(decoders)('%s: every single-byte corruption decodes or throws BadRequestError', (_v, decode) => {
    for (const valid of [validV1, validV2]) {
      for (let i = 0; i < valid.length; i++) {
        for (const b of [0x00, 0x07, 0x7f, 0x80, 0xff]) {
          const bytes = valid.slice()
          bytes[i] = b
          outcome(decode, bytes)
        }
      }
    }
  })

  it.each(decoders)('%s: random bytes decode or throw BadRequestError', (_v, decode) => {
    let seed = 12345
    const rand = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) & 0xff
    for (let n = 0; n < 3000; n++) {
      const bytes = new Uint8Array(1 + (n % 64)).map(() => rand())
      outcome(decode, bytes)
    }
  })

  // [name, bytes, decoder version, message fragment]
  const cases: [string, string, '1.0' | '2.0', string][] = [
    ['truncated tag varint', '80', '1.0', 'truncated varint'],
    ['varint longer than 10 bytes', '10 ffffffffffffffffffff01', '1.0', 'longer than 10 bytes'],
    ['wire type 6', '16', '1.0', 'invalid wire type 6'],
    ['wire type 7', '17', '1.0', 'invalid wire type 7'],
    ['field number 0', '02 00', '1.0', 'field number 0'],
    ['stray end-group', '14', '1.0', 'unexpected end of group'],
    ['unterminated group', '13 08 01', '1.0', 'truncated varint'],
    ['mismatched end-group', '13 24', '1.0', 'end of group 4 inside group 2'],
    ['timeseries length past the end', '0a 05 0a 00', '1.0', 'runs past the end'],
    ['huge length prefix', '0a ffffffff0f', '1.0', 'runs past the end'],
    ['label length past its series', '0a 04 0a 05 0a 01', '1.0', 'runs past the end'],
    ['timeseries as varint', '08 01', '1.0', 'wire type 0, expected 2'],
    ['sample value as varint', '0a 04 12 02 08 01', '1.0', 'field 1 has wire type 0, expected 1'],
    ['truncated double', '0a 06 12 04 09 00 00 00', '1.0', 'truncated double'],
    ['truncated fixed32', '7d 0000', '1.0', 'truncated fixed32'],
    ['truncated fixed64', '79 0000', '1.0', 'truncated fixed64'],
    ['invalid UTF-8 in a label name', '0a 07 0a 05 0a 03 61 ff 62', '1.0', 'invalid UTF-8'],
    ['overlong UTF-8 in a label value', '0a 06 0a 04 12 02 c0 af', '1.0', 'invalid UTF-8'],
    ['UTF-16 surrogate encoded in UTF-8', '0a 07 0a 05 12 03 ed a0 80', '1.0', 'invalid UTF-8'],
    ['invalid UTF-8 in metadata help', '1a 03 22 01 80', '1.0', 'invalid UTF-8'],
    ['varint past 64 bits', '0a 0d 12 0b 10 ffffffffffffffffff02', '1.0', 'overflows 64 bits'],
    ['label ref out of range', '22 00 2a 04 0a 02 00 05', '2.0', 'label value ref 5 is out of range (1 symbols)'],
    ['odd labels_refs length', '22 00 2a 03 0a 01 00', '2.0', 'odd length 1'],
    ['help ref out of range', '22 00 2a 04 2a 02 18 09', '2.0', 'help ref 9 is out of range'],
    ['unit ref out of range', '22 00 2a 04 2a 02 20 09', '2.0', 'unit ref 9 is out of range'],
    ['invalid UTF-8 in a symbol', '22 01 fe', '2.0', 'invalid UTF-8'],
    ['symbols as varint', '20 01', '2.0', 'wire type 0, expected 2'],
    ['created timestamp as LEN', '2a 02 32 00', '2.0', 'field 6 has wire type 2, expected 0'],
  ]
  it.each(cases)('rejects %s', (_name, bytes, version, fragment) => {
    const decoders = version === '1.0' ? [decodeWriteRequestV1, decodeCached] : [decodeWriteRequestV2]
    for (const decode of decoders) {
      expect(() => decode(hex(bytes))).toThrow(BadRequestError)
      expect(() => decode(hex(bytes))).toThrow(fragment)
    }
  })

  it.each([
    ['an empty body', '', 0],
    ['unknown fields of every wire type, groups included', '48 01 51 0000000000000000 5a 01 00 65 00000000 6b 08 01 73 74 6c', 0],
    ['labels_refs unpacked, one varint per tag', '22 00 22 01 61 2a 04 08 01 08 00', 1],
  ])('accepts %s', (_name, bytes, series) => {
    expect(decodeWriteRequestV2(hex(bytes)).series.length).toBe(series)
    if (series === 0) expect(decodeWriteRequestV1(hex(bytes)).series.length).toBe(0)
  })

  it('keeps a leading byte-order mark in a label value', () => {
    const got = decodeWriteRequestV1(encodeWriteRequestV1([{ labels: [{ name: 'a', value: '\uFEFFx' }], samples: [] }]))
    expect(got.series[0].labels[0].value).toBe('\uFEFFx')
  })
})
