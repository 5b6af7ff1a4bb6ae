import { describe, expect, it } from 'vitest'
import { expandSeriesValues, parseSeriesLine, UnsupportedSeriesNotationError, type SeriesValue } from './series-notation.js'

const v = (x: number): SeriesValue => ({ v: x })

describe('expandSeriesValues expands the promqltest/promtool notation', () => {
  const cases: [string, SeriesValue[]][] = [
    ['1 2 3', [v(1), v(2), v(3)]],
    ['0+10x3', [v(0), v(10), v(20), v(30)]],
    ['10-1x2', [v(10), v(9), v(8)]],
    ['-1+1x2', [v(-1), v(0), v(1)]],
    ['7x2', [v(7), v(7), v(7)]],
    ['_', [null]],
    ['_x3', [null, null, null]],
    ['stale', [{ v: NaN, stale: true }]],
    ['Inf -Inf +Inf', [v(Infinity), v(-Infinity), v(Infinity)]],
    ['1e3 .5', [v(1000), v(0.5)]],
    ['', []],
  ]
  it.each(cases)('%j', (text, expected) => {
    expect(expandSeriesValues(text)).toEqual(expected)
  })

  it('accumulates increments step by step like Prometheus (float results identical)', () => {
    const got = expandSeriesValues('0.1+0.1x9').map((x) => x!.v)
    let acc = 0.1
    const want = [acc]
    for (let i = 0; i < 9; i++) { acc += 0.1; want.push(acc) }
    expect(got).toEqual(want)
  })

  it('keeps NaN as a value, not a gap', () => {
    expect(Number.isNaN(expandSeriesValues('NaN')[0]!.v)).toBe(true)
  })

  it.each(['1+x3', 'abc', '1+1', '1x'])('rejects %j', (bad) => {
    expect(() => expandSeriesValues(bad)).toThrow(/bad series value/)
  })

  it('reports native histogram notation as unsupported', () => {
    expect(() => expandSeriesValues('{{schema:0 sum:1 count:1}}')).toThrow(UnsupportedSeriesNotationError)
  })
})

describe('parseSeriesLine', () => {
  it('splits labels (quotes and spaces inside braces included) from values', () => {
    expect(parseSeriesLine('foo{a="x y", b="}"} 1 2')).toEqual({ labels: { __name__: 'foo', a: 'x y', b: '}' }, values: [v(1), v(2)] })
    expect(parseSeriesLine('{"my.metric", x="1"} 0+1x1')).toEqual({ labels: { __name__: 'my.metric', x: '1' }, values: [v(0), v(1)] })
    expect(parseSeriesLine('bar 5')).toEqual({ labels: { __name__: 'bar' }, values: [v(5)] })
  })
})
