/**
 * The HA election, step by step on a fake clock, against both stores: the real Redis on
 * 127.0.0.1:6379 (keys under a prefix of this run) and memory. Two trackers over one store
 * stand for two adapters.
 */
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { Registry } from 'prom-client'
import { afterAll, describe, expect, it } from 'vitest'
import { HaTracker, MemoryElectionStore, RedisElectionStore, type ElectionStore } from './ha-tracker.js'

const FAILOVER = 30_000
const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 })
const prefix = `metrichouse:test:ha:${randomUUID()}:`

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`)
  if (keys.length > 0) await redis.del(...keys)
  redis.disconnect()
})

// [ms since start, adapter (0 or 1), cluster, replica, accepted]
type Step = [number, 0 | 1, string, string, boolean]

const SCENARIOS: { name: string; steps: Step[] }[] = [
  {
    name: 'elects the first replica to send and refuses the other',
    steps: [
      [0, 0, 'c1', 'a', true],
      [1_000, 0, 'c1', 'b', false],
      [2_000, 1, 'c1', 'b', false],
      [3_000, 1, 'c1', 'a', true],
    ],
  },
  {
    name: 'keeps the elected replica while it sends, across adapters',
    steps: [
      [0, 0, 'c1', 'a', true],
      [15_000, 1, 'c1', 'a', true],
      [35_000, 0, 'c1', 'b', false],
      [50_000, 1, 'c1', 'a', true],
      [75_000, 0, 'c1', 'b', false],
    ],
  },
  {
    name: 'fails over once the elected replica is silent for the timeout',
    steps: [
      [0, 0, 'c1', 'a', true],
      [10_000, 0, 'c1', 'b', false],
      [29_000, 1, 'c1', 'b', false],
      [31_000, 1, 'c1', 'b', true],
      [32_000, 0, 'c1', 'b', true],
      [33_000, 0, 'c1', 'a', false],
    ],
  },
  {
    name: 'elects per cluster',
    steps: [
      [0, 0, 'c1', 'a', true],
      [0, 0, 'c2', 'b', true],
      [1_000, 1, 'c2', 'a', false],
      [1_000, 1, 'c1', 'b', false],
    ],
  },
]

const stores: [string, () => ElectionStore][] = [
  ['Redis', () => new RedisElectionStore(redis, `${prefix}${randomUUID()}:`)],
  ['memory', () => new MemoryElectionStore()],
]

describe.each(stores)('HaTracker over %s', (_name, makeStore) => {
  for (const { name, steps } of SCENARIOS) {
    it(name, async () => {
      const store = makeStore()
      let now = 1_700_000_000_000
      const adapters = [0, 1].map(() => new HaTracker({ store, failoverTimeoutMs: FAILOVER, registry: new Registry(), now: () => now }))
      const start = now
      for (const [at, adapter, cluster, replica, want] of steps) {
        now = start + at
        expect(await adapters[adapter].accepts(cluster, replica), `at ${at} ms, adapter ${adapter}: ${cluster}/${replica}`).toBe(want)
      }
    })
  }
})

describe('RedisElectionStore', () => {
  it('keeps the election across a new client (an adapter restart)', async () => {
    const keyPrefix = `${prefix}restart:`
    const now = 1_700_000_000_000
    await new RedisElectionStore(redis, keyPrefix).claim('c1', 'a', now, FAILOVER)
    const other = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 })
    try {
      const tracker = new HaTracker({ store: new RedisElectionStore(other, keyPrefix), failoverTimeoutMs: FAILOVER, registry: new Registry(), now: () => now + 1_000 })
      expect(await tracker.accepts('c1', 'b')).toBe(false)
      expect(await tracker.accepts('c1', 'a')).toBe(true)
    } finally {
      other.disconnect()
    }
  })
})
