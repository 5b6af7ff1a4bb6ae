import { describe, expect, it } from 'vitest'
import { BadRequestError } from '../errors/http-errors.js'
import { encodeRw1, encodeRw2, type TestSample } from '../test/integration/wire.js'
import { countSeries } from './count-series.js'
import { decodeWriteRequestV1 } from './decode-v1.js'
import { decodeWriteRequestV2 } from './decode-v2.js'

function series(n: number): { labels: [string, string][]; samples: TestSample[] }[] {
  return Array.from({ length: n }, (_, i) => ({ labels: [['__name__', 'm'], ['i', String(i)]], samples: [{ timestampMs: 1_700_000_000_000 + i, value: i }] }))
}

describe('countSeries', () => {
  const cases = [0, 1, 7, 1000]
  for (const n of cases) {
    it(`counts ${n} series of a 1.0 and a 2.0 request as their decoders do`, () => {
      const v1 = encodeRw1(series(n))
      const v2 = encodeRw2(series(n))
      expect(countSeries(v1, '1.0')).toBe(n)
      expect(countSeries(v1, '1.0')).toBe(decodeWriteRequestV1(v1).series.length)
      expect(countSeries(v2, '2.0')).toBe(n)
      expect(countSeries(v2, '2.0')).toBe(decodeWriteRequestV2(v2).series.length)
    })
  }

  it('refuses a message cut inside a series as a bad request', () => {
    const v1 = encodeRw1(series(3))
    expect(() => countSeries(v1.subarray(0, v1.length - 3), '1.0')).toThrow(BadRequestError)
  })
})
