import { describe, expect, it } from 'vitest'
import { formatTimestamp, formatValue, queryDataJson } from './api-format.js'

describe('formatValue writes sample values as Prometheus 2.42 does', () => {
  // Expected strings taken from the Debian prometheus 2.42 binary's /api/v1/query answers.
  const CASES: [number, string][] = [
    [1, '1'],
    [1.5, '1.5'],
    [-0, '-0'],
    [0, '0'],
    [1e21, '1e+21'],
    [1.5e-7, '1.5e-07'],
    [1e-6, '0.000001'],
    [123456789012345680000, '123456789012345680000'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    [5e-324, '5e-324'],
    [0.1 + 0.2, '0.30000000000000004'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
    [NaN, 'NaN'],
  ]
  it.each(CASES)('%s -> %s', (v, want) => {
    expect(formatValue(v)).toBe(want)
  })
})

describe('formatTimestamp writes seconds with exactly three fraction digits when not whole', () => {
  const CASES: [number, string][] = [
    [1500, '1.500'],
    [1050, '1.050'],
    [-1250, '-1.250'],
    [0, '0'],
    [30_000, '30'],
    [1_700_000_000_001, '1700000000.001'],
  ]
  it.each(CASES)('%s ms -> %s', (ms, want) => {
    expect(formatTimestamp(ms)).toBe(want)
  })
})

describe('queryDataJson', () => {
  it('shapes every result type as the Prometheus API does', () => {
    expect(queryDataJson({ type: 'scalar', t: 1500, v: 2 })).toBe('{"resultType":"scalar","result":[1.500,"2"]}')
    expect(queryDataJson({ type: 'string', t: 1000, v: 'a"b' })).toBe('{"resultType":"string","result":[1,"a\\"b"]}')
    expect(queryDataJson({ type: 'vector', samples: [{ labels: { __name__: 'up', job: 'x' }, t: 0, v: NaN }] })).toBe(
      '{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"x"},"value":[0,"NaN"]}]}',
    )
    expect(queryDataJson({ type: 'matrix', series: [{ labels: {}, points: [{ t: 0, v: 1.5e-7 }, { t: 30_000, v: 1 }] }] })).toBe(
      '{"resultType":"matrix","result":[{"metric":{},"values":[[0,"1.5e-07"],[30,"1"]]}]}',
    )
    expect(queryDataJson({ type: 'vector', samples: [] })).toBe('{"resultType":"vector","result":[]}')
  })
})
