/**
 * The range-query results cache: day splitting on the step grid, extents filled by gaps
 * only, the freshest minutes and `@`/negative offsets never stored, values that JSON cannot
 * hold (NaN, infinities, -0) kept, hit/miss counters; against the memory LRU and a real
 * Redis (127.0.0.1:6379).
 */
import { Redis } from 'ioredis'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { QueryResult } from '../promql/api.js'
import { MemoryCacheBackend, RedisCacheBackend } from './cache-backends.js'
import { cacheable, RangeQueryCache, type CacheBackend } from './results-cache.js'

const DAY = 86_400_000
const NOW = Date.UTC(2026, 10, 26, 12, 0, 0)

/**
 * The evaluator stands for the engine: every step's value is a pure function of the step
 * time (as PromQL's are), and each call is recorded so the test sees what was computed.
 */
function recorder() {
  const calls: [number, number][] = []
  const evaluate = async (query: string, start: number, end: number, step: number): Promise<QueryResult> => {
    calls.push([start, end])
    const points: { t: number; v: number }[] = []
    for (let t = start; t <= end; t += step) points.push({ t, v: t % 7 === 0 ? NaN : t / 1000 })
    const other = points.filter((p) => p.t % (2 * step) === 0).map((p) => ({ t: p.t, v: -0 }))
    return {
      value: { type: 'matrix', series: [{ labels: { a: '1' }, points }, ...(other.length ? [{ labels: { a: '2', q: query }, points: other }] : [])] },
      warnings: [],
      infos: [],
    }
  }
  return { calls, evaluate }
}

function directAnswer(start: number, end: number, step: number, query = 'q') {
  const r = recorder()
  return r.evaluate(query, start, end, step)
}

let redis: Redis
beforeAll(() => {
  redis = new Redis('redis://127.0.0.1:6379/0', { maxRetriesPerRequest: 1 })
})
afterAll(async () => {
  const keys = await redis.keys('metrichouse-test:*')
  if (keys.length) await redis.del(...keys)
  redis.disconnect()
})

const BACKENDS: [string, () => CacheBackend][] = [
  ['memory', () => new MemoryCacheBackend({ maxBytes: 64 << 20, ttlMs: 3_600_000 })],
  ['redis', () => new RedisCacheBackend(redis, { ttlMs: 60_000, keyPrefix: `metrichouse-test:${process.pid}:${Math.random()}:` })],
]

describe.each(BACKENDS)('RangeQueryCache with the %s backend', (name, makeBackend) => {
  function setup() {
    const r = recorder()
    const registry = new Registry()
    const cache = new RangeQueryCache({ backend: makeBackend(), evaluatorFor: () => r.evaluate, registry, lookbackDeltaMs: 300_000, now: () => NOW, maxFreshnessMs: 600_000 })
    const counter = async (metric: string) => (await registry.getSingleMetric(metric)?.get())?.values.reduce((n, v) => n + v.value, 0) ?? 0
    return { r, cache, counter }
  }

  it('answers exactly what the engine answers, across days, then from the cache alone', async () => {
    const { r, cache, counter } = setup()
    const start = NOW - 3 * DAY + 12_345
    const end = NOW - DAY
    const step = 60_000
    const first = await cache.rangeQuery('q', start, end, step)
    expect(first).toEqual(await directAnswer(start, end, step))
    // Split at the UTC day boundaries, each piece on the query's step grid.
    expect(r.calls.length).toBe(3)
    for (const [s] of r.calls) expect((s - start) % step).toBe(0)
    r.calls.length = 0
    const second = await cache.rangeQuery('q', start, end, step)
    expect(second).toEqual(first)
    expect(r.calls).toEqual([])
    expect(await counter('metrichouse_query_cache_hits_total')).toBe(3)
    expect(await counter('metrichouse_query_cache_misses_total')).toBe(3)
  })

  it('evaluates only the gap when a dashboard moves forward', async () => {
    const { r, cache } = setup()
    const step = 30_000
    const start = NOW - 6 * 3_600_000
    await cache.rangeQuery('q', start, start + 3_600_000, step)
    r.calls.length = 0
    const moved = await cache.rangeQuery('q', start + 1_800_000, start + 2 * 3_600_000, step)
    expect(moved).toEqual(await directAnswer(start + 1_800_000, start + 2 * 3_600_000, step))
    expect(r.calls).toEqual([[start + 3_600_000 + step, start + 2 * 3_600_000]])
  })

  it('never stores the freshest minutes', async () => {
    const { r, cache } = setup()
    const step = 15_000
    const start = NOW - 3_600_000
    const answer = await cache.rangeQuery('q', start, NOW, step)
    expect(answer).toEqual(await directAnswer(start, NOW, step))
    r.calls.length = 0
    await cache.rangeQuery('q', start, NOW, step)
    // Only the part newer than now - 10m is computed again.
    expect(r.calls).toEqual([[NOW - 600_000 + step, NOW]])
  })

  it('keys by start modulo step: a shifted grid is computed, not mixed up', async () => {
    const { r, cache } = setup()
    const step = 60_000
    const start = NOW - 2 * 3_600_000
    await cache.rangeQuery('q', start, start + 3_600_000, step)
    r.calls.length = 0
    const shifted = await cache.rangeQuery('q', start + 10_000, start + 3_600_000 + 10_000, step)
    expect(shifted).toEqual(await directAnswer(start + 10_000, start + 3_600_000 + 10_000, step))
    expect(r.calls.length).toBe(1)
  })

  it('does not cache queries with @ or a negative offset', async () => {
    const { r, cache } = setup()
    const start = NOW - 2 * 3_600_000
    for (const q of ['foo @ end()', 'foo offset -5m', 'foo @ 1700000000']) {
      r.calls.length = 0
      await cache.rangeQuery(q, start, start + 3_600_000, 60_000)
      await cache.rangeQuery(q, start, start + 3_600_000, 60_000)
      expect(r.calls.length).toBe(2)
    }
  })
})

describe('cacheable', () => {
  it.each([
    ['rate(x[5m])', true],
    ['x offset 5m', true],
    ['x offset -5m', false],
    ['x @ start()', false],
    ['sum(x) @ 100', false],
  ])('%s -> %s', (q, want) => {
    expect(cacheable(q)).toBe(want)
  })
})

describe('a Redis that fails', () => {
  it('costs speed, never answers: every query is evaluated', async () => {
    const broken = new Redis('redis://127.0.0.1:1/0', { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true, retryStrategy: () => null })
    broken.on('error', () => {})
    const r = recorder()
    const cache = new RangeQueryCache({ backend: new RedisCacheBackend(broken, { ttlMs: 1000, keyPrefix: 'x:' }), evaluatorFor: () => r.evaluate, registry: new Registry(), lookbackDeltaMs: 300_000, now: () => NOW })
    const start = NOW - 2 * 3_600_000
    expect(await cache.rangeQuery('q', start, start + 3_600_000, 60_000)).toEqual(await directAnswer(start, start + 3_600_000, 60_000))
    broken.disconnect()
  })
})
