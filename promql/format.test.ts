import { describe, expect, it } from 'vitest'
import { formatFloat, formatGoG } from './format.js'
import { formatDuration } from './printer.js'
import { parseDuration } from './lexer.js'

describe('Go float formatting', () => {
  const cases: [number, string, string][] = [
    [1, '1', '1'],
    [0.1, '0.1', '0.1'],
    [1e6, '1000000', '1e+06'],
    [123456789, '123456789', '1.23456789e+08'],
    [1e-7, '0.0000001', '1e-07'],
    [2.5e-5, '0.000025', '2.5e-05'],
    [-3.25, '-3.25', '-3.25'],
    [1e21, '1000000000000000000000', '1e+21'],
    [Infinity, '+Inf', '+Inf'],
    [-Infinity, '-Inf', '-Inf'],
    [NaN, 'NaN', 'NaN'],
    [0.30000000000000004, '0.30000000000000004', '0.30000000000000004'],
  ]
  it.each(cases)('%d -> %s (f) / %s (g)', (v, f, g) => {
    expect(formatFloat(v)).toBe(f)
    expect(formatGoG(v)).toBe(g)
  })
})

describe('durations', () => {
  it.each([['1h30m', 5_400_000], ['1ms', 1], ['2w1d', 15 * 86_400_000], ['0', 0], ['1y', 365 * 86_400_000]] as const)('%s = %d ms and prints back', (text, ms) => {
    expect(parseDuration(text)).toBe(ms)
    if (ms > 0) expect(parseDuration(formatDuration(ms))).toBe(ms)
  })
  it.each(['1m1h', '5', '1x', ''])('rejects %j', (bad) => {
    expect(() => parseDuration(bad)).toThrow(/not a valid duration string/)
  })
})
