import { describe, expect, it } from 'vitest'
import { BadDataError, parseDurationParam, parseTimeParam } from './api-params.js'

describe('parseTimeParam', () => {
  const OK: [string, number][] = [
    ['1.5', 1500],
    ['1435781451.781', 1435781451781],
    ['-1.25', -1250],
    ['0', 0],
    ['1e3', 1_000_000],
    ['2015-07-01T20:10:51.781Z', 1435781451781],
    ['2015-07-01T20:10:51Z', 1435781451000],
    ['2015-07-01T22:10:51.7819999+02:00', 1435781451781],
  ]
  it.each(OK)('%s -> %s ms', (text, ms) => {
    expect(parseTimeParam(text, 'time')).toBe(ms)
  })
  it.each(['abc', '', '2015-07-01', '1.5s', 'NaN', 'Inf'])('refuses %j with a bad_data message naming the parameter', (text) => {
    expect(() => parseTimeParam(text, 'time')).toThrow(BadDataError)
    expect(() => parseTimeParam(text, 'time')).toThrow(`invalid parameter "time": cannot parse "${text}" to a valid timestamp`)
  })
})

describe('parseDurationParam', () => {
  const OK: [string, number][] = [
    ['15', 15_000],
    ['0.5', 500],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['2d', 172_800_000],
    ['100ms', 100],
    ['0', 0],
  ]
  it.each(OK)('%s -> %s ms', (text, ms) => {
    expect(parseDurationParam(text, 'step')).toBe(ms)
  })
  it.each(['', 'abc', '1x', '1.5m', 'm'])('refuses %j', (text) => {
    expect(() => parseDurationParam(text, 'step')).toThrow(`invalid parameter "step": cannot parse "${text}" to a valid duration`)
  })
})
