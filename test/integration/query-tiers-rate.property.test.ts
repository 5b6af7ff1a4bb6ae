/**
 * Property: `rate` and `increase` answered from the rollup tiers equal, for windows on bucket
 * edges, what the engine answers from the raw samples — extrapolation included (the first
 * and last sample's own times and values, the window's sample count, the zero point), whatever
 * the scrape jitter, gaps, counter resets (between and inside buckets) and stale markers.
 * Real schema, real store path, real rollup refresh; the engine reads through the ClickHouse
 * querier with the tier planner, checked to have read the tier.
 *
 * One thing is left out of the data on purpose: a sample exactly on a bucket's first
 * millisecond belongs to that bucket, while a window (t - range, t] ending there leaves it
 * out, so such windows are not exact (docs/query.md says so).
 */
import fc from 'fast-check'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { QueryResult } from '../../promql/api.js'
import { createEngine } from '../../promql/engine.js'
import { ClickHouseQuerier } from '../../query/clickhouse-querier.js'
import { SeriesLoader, type LoadSeries } from '../../query/series-loader.js'
import { rollupTierPlanner } from '../../query/tier-source.js'
import { publicSchema } from '../../rollup/public-schema.js'
import { refreshRollupsNow } from '../../rollup/refresh.js'
import type { Tier } from '../../rollup/resolution.js'
import { openStore, type StoreClients } from '../../store/connection.js'
import { ClickHouseSampleStore } from '../../store/sample-store.js'
import { migrate } from '../../store/schema.js'

const HOUR = 3_600_000
const MINUTE = 60_000
// Four closed hours, well inside the raw retention and rolled up.
const H0 = Math.floor(Date.now() / HOUR) * HOUR - 6 * HOUR
const H_END = H0 + 4 * HOUR
const RETENTION = { rawMs: 7 * 86_400_000, oneMinuteMs: 30 * 86_400_000, oneHourMs: 365 * 86_400_000 }

let dir: string
let store: StoreClients
let loader: SeriesLoader
let raw: ClickHouseQuerier
let tiered: ClickHouseQuerier
const tiersRead: Tier[][] = []
const engine = createEngine()

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'metrichouse-tiers-rate-'))
  store = await openStore({ dataDir: dir, database: 'default' })
  await migrate(store.readWrite, publicSchema({ rawRetentionMs: RETENTION.rawMs, rollup: { maxHoursPerRefresh: 24 } }))
  loader = await SeriesLoader.create(new ClickHouseSampleStore(store.insertRaw))
  raw = new ClickHouseQuerier(store.readOnly)
  tiered = new ClickHouseQuerier(store.readOnly, { tiers: rollupTierPlanner({ retention: RETENTION }), onSelect: (tiers) => tiersRead.push([...tiers]) })
}, 60_000)

afterAll(async () => {
  await store?.close()
  await rm(dir, { recursive: true, force: true })
})

/** A counter over the four hours: jittered scrapes, gaps of minutes, resets, stale markers. */
const counterArb = fc
  .record({
    steps: fc.array(
      fc.record({
        gapMs: fc.oneof({ weight: 12, arbitrary: fc.integer({ min: 1, max: 40_000 }) }, { weight: 1, arbitrary: fc.integer({ min: 60_000, max: 1_500_000 }) }),
        delta: fc.integer({ min: 0, max: 400 }).map((x) => x / 4),
        reset: fc.integer({ min: 0, max: 12 }).map((x) => x === 0),
        stale: fc.integer({ min: 0, max: 25 }).map((x) => x === 0),
      }),
      { minLength: 20, maxLength: 400 },
    ),
    startOffset: fc.integer({ min: 1, max: 30 * MINUTE }),
    initial: fc.integer({ min: 0, max: 10_000 }),
  })
  .map(({ steps, startOffset, initial }) => {
    const timestamps: number[] = []
    const values: number[] = []
    const stale: number[] = []
    let t = H0 + startOffset
    let v = initial
    for (const step of steps) {
      t += step.gapMs
      // Never on a bucket's first millisecond (see the header).
      if (t % MINUTE === 0) t += 1
      if (t >= H_END) break
      v = step.reset ? step.delta : v + step.delta
      timestamps.push(t)
      values.push(step.stale ? NaN : v)
      stale.push(step.stale ? 1 : 0)
    }
    return { timestamps, values, stale }
  })

function points(result: QueryResult): Map<string, Map<number, number>> {
  if (result.value.type !== 'matrix') throw new Error('expected a matrix')
  return new Map(result.value.series.map((s) => [JSON.stringify(s.labels), new Map(s.points.map((p) => [p.t, p.v]))]))
}

function expectSameAnswers(fromTier: Map<string, Map<number, number>>, fromRaw: Map<string, Map<number, number>>): void {
  expect([...fromTier.keys()].sort()).toEqual([...fromRaw.keys()].sort())
  for (const [key, want] of fromRaw) {
    const got = fromTier.get(key)!
    expect([...got.keys()]).toEqual([...want.keys()])
    for (const [t, v] of want) {
      const g = got.get(t)!
      // Same arithmetic on the same inputs, up to the order of float sums across buckets.
      if (Math.abs(g - v) > 1e-9 * Math.max(1, Math.abs(v))) expect({ series: key, t, got: g }).toEqual({ series: key, t, got: v })
    }
  }
}

let run = 0

describe('rate and increase from the rollup tiers', () => {
  it('equal the raw answer for windows on bucket edges (1m tier: step 1m; 1h tier: step 1h)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(counterArb, { minLength: 1, maxLength: 4 }), async (counters) => {
        const name = `prop_${run++}_total`
        const series: LoadSeries[] = counters.map((c, i) => ({ labels: { __name__: name, instance: `i${i}` }, ...c }))
        await loader.load(series)
        await refreshRollupsNow(store.readWrite, 4)
        const cases = [
          { query: `increase(${name}[5m])`, step: MINUTE, tier: '1m' },
          { query: `rate(${name}[10m])`, step: MINUTE, tier: '1m' },
          { query: `increase(${name}[1h])`, step: HOUR, tier: '1h' },
          { query: `rate(${name}[2h])`, step: HOUR, tier: '1h' },
        ]
        for (const c of cases) {
          // Windows inside the rolled-up hours, on the step's edges.
          const start = c.step === HOUR ? H0 + 2 * HOUR : H0 + 20 * MINUTE
          tiersRead.length = 0
          const fromTier = points(await engine.rangeQuery(tiered, c.query, start, H_END, c.step))
          expect(tiersRead, c.query).toEqual([[c.tier]])
          expectSameAnswers(fromTier, points(await engine.rangeQuery(raw, c.query, start, H_END, c.step)))
        }
      }),
      { numRuns: 12 },
    )
  }, 300_000)
})
