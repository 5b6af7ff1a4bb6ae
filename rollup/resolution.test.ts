import { describe, expect, it } from 'vitest'
import { preferredTier, resolveTiers, rollupsCompleteUntil, type TierSpan } from './resolution.js'

const MIN = 60_000
const HOUR = 3_600_000
const DAY = 86_400_000
// 2026-11-26 17:20:00 UTC
const NOW = Date.UTC(2026, 10, 26, 17, 20)
const RETENTION = { rawMs: 7 * DAY, oneMinuteMs: 30 * DAY, oneHourMs: 365 * DAY }
const hour = (ms: number) => Math.floor(ms / HOUR) * HOUR
const ceil = (ms: number) => Math.ceil(ms / HOUR) * HOUR

describe('preferredTier', () => {
  const cases: { name: string; step: number; range?: number; rawOnly?: boolean; tier: string }[] = [
    { name: 'an instant query reads raw', step: 0, tier: 'raw' },
    { name: 'a 15 s step reads raw', step: 15_000, tier: 'raw' },
    { name: 'a 1 min step reads 1m', step: MIN, tier: '1m' },
    { name: 'a 5 min step reads 1m', step: 5 * MIN, tier: '1m' },
    { name: 'a 1 h step reads 1h', step: HOUR, tier: '1h' },
    { name: 'a 1 h step over rate(x[5m]) reads 1m', step: HOUR, range: 5 * MIN, tier: '1m' },
    { name: 'a 1 h step over rate(x[30s]) reads raw', step: HOUR, range: 30_000, tier: 'raw' },
    { name: 'rawOnly wins over a coarse step', step: DAY, rawOnly: true, tier: 'raw' },
  ]
  for (const c of cases) it(c.name, () => expect(preferredTier(c.step, c.range, c.rawOnly)).toBe(c.tier))
})

describe('resolveTiers', () => {
  const cases: { name: string; start: number; end: number; step: number; range?: number; rawOnly?: boolean; want: TierSpan[] }[] = [
    {
      name: 'a dashboard hour at 15 s step is raw only',
      start: NOW - HOUR,
      end: NOW,
      step: 15_000,
      want: [{ tier: 'raw', start: NOW - HOUR, end: NOW }],
    },
    {
      name: 'a day at 1 min step is 1m up to the last complete hour, raw after it',
      start: NOW - DAY,
      end: NOW,
      step: MIN,
      want: [
        { tier: '1m', start: NOW - DAY, end: hour(NOW - 5 * MIN) - 1 },
        { tier: 'raw', start: hour(NOW - 5 * MIN), end: NOW },
      ],
    },
    {
      name: 'a raw-step range older than the raw retention falls to 1m, then to 1h beyond 1m',
      start: NOW - 40 * DAY,
      end: NOW - 2 * DAY,
      step: 15_000,
      want: [
        { tier: '1h', start: NOW - 40 * DAY, end: ceil(NOW - 30 * DAY) - 1 },
        { tier: '1m', start: ceil(NOW - 30 * DAY), end: ceil(NOW - 7 * DAY) - 1 },
        { tier: 'raw', start: ceil(NOW - 7 * DAY), end: NOW - 2 * DAY },
      ],
    },
    {
      name: 'a 90-day range at 1 h step is 1h, then raw for the incomplete hour',
      start: NOW - 90 * DAY,
      end: NOW,
      step: HOUR,
      want: [
        { tier: '1h', start: NOW - 90 * DAY, end: hour(NOW - 5 * MIN) - 1 },
        { tier: 'raw', start: hour(NOW - 5 * MIN), end: NOW },
      ],
    },
    {
      name: 'a 1m-step range that starts beyond the 1m retention uses 1h for that part',
      start: NOW - 60 * DAY,
      end: NOW - 20 * DAY,
      step: 5 * MIN,
      want: [
        { tier: '1h', start: NOW - 60 * DAY, end: ceil(NOW - 30 * DAY) - 1 },
        { tier: '1m', start: ceil(NOW - 30 * DAY), end: NOW - 20 * DAY },
      ],
    },
    {
      name: 'a range older than every retention still names 1h (it answers no data)',
      start: NOW - 500 * DAY,
      end: NOW - 400 * DAY,
      step: MIN,
      want: [{ tier: '1h', start: NOW - 500 * DAY, end: NOW - 400 * DAY }],
    },
    {
      name: 'rawOnly reads raw whatever the range',
      start: NOW - 30 * DAY,
      end: NOW,
      step: HOUR,
      rawOnly: true,
      want: [{ tier: 'raw', start: NOW - 30 * DAY, end: NOW }],
    },
  ]
  for (const c of cases) {
    it(c.name, () => {
      expect(resolveTiers({ start: c.start, end: c.end, step: c.step, range: c.range, rawOnly: c.rawOnly, now: NOW, retention: RETENTION })).toEqual(c.want)
    })
  }

  it('covers the range contiguously, oldest first, for any range and step', () => {
    for (let i = 0; i < 500; i++) {
      const start = NOW - Math.floor(Math.random() * 400 * DAY)
      const end = start + Math.floor(Math.random() * (NOW - start))
      const step = [0, 15_000, MIN, 10 * MIN, HOUR, DAY][i % 6]!
      const spans = resolveTiers({ start, end, step, now: NOW, retention: RETENTION })
      expect(spans[0]!.start).toBe(start)
      expect(spans[spans.length - 1]!.end).toBe(end)
      for (let k = 1; k < spans.length; k++) expect(spans[k]!.start).toBe(spans[k - 1]!.end + 1)
    }
  })

  it('refuses a range that ends before it starts', () => {
    expect(() => resolveTiers({ start: NOW, end: NOW - 1, step: 0, now: NOW, retention: RETENTION })).toThrow(RangeError)
  })

  it('treats rollups as complete up to the hour that ended at least the lag ago', () => {
    expect(rollupsCompleteUntil(Date.UTC(2026, 0, 1, 10, 4))).toBe(Date.UTC(2026, 0, 1, 9))
    expect(rollupsCompleteUntil(Date.UTC(2026, 0, 1, 10, 6))).toBe(Date.UTC(2026, 0, 1, 10))
  })
})
