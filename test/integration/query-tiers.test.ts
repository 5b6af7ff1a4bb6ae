/**
 * Reading selectors from the rollup tiers: with the real schema and the real rollup refresh
 * (rollup/refresh.ts), the points the querier returns for a 1-minute-tier span give, over
 * whole buckets, what raw samples give — max_over_time and min_over_time per hour, and a
 * counter's increase across a reset — while rawOnly and functions rollups cannot answer read raw.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LabelMatcher, SelectHints, SeriesData } from '../../promql/api.js'
import { ClickHouseQuerier } from '../../query/clickhouse-querier.js'
import { SeriesLoader } from '../../query/series-loader.js'
import { rollupTierPlanner } from '../../query/tier-source.js'
import { refreshRollupsNow } from '../../rollup/refresh.js'
import { rollupsCompleteUntil, type Tier } from '../../rollup/resolution.js'
import { openStore, type StoreClients } from '../../store/connection.js'
import { ClickHouseSampleStore } from '../../store/sample-store.js'
import { publicSchema } from '../../rollup/public-schema.js'
import { migrate } from '../../store/schema.js'
import { fleetAsLoadSeries, makeFleet } from '../fleet.js'

const HOUR = 3_600_000
const NOW = Date.now()
const COMPLETE = rollupsCompleteUntil(NOW)
// Three closed, rolled-up hours.
const FROM = COMPLETE - 3 * HOUR
const RETENTION = { rawMs: 7 * 86_400_000, oneMinuteMs: 30 * 86_400_000, oneHourMs: 365 * 86_400_000 }

let dir: string
let store: StoreClients
let raw: ClickHouseQuerier
let tiered: ClickHouseQuerier
const tiersRead: Tier[][] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'metrichouse-tiers-'))
  store = await openStore({ dataDir: dir, database: 'default' })
  await migrate(store.readWrite, publicSchema({ rawRetentionMs: RETENTION.rawMs }))
  const fleet = makeFleet({ pools: 3, hostsPerPool: 2, start: FROM - 10 * 60_000, samplesPerSeries: (3 * HOUR + 20 * 60_000) / 15_000 })
  const loader = await SeriesLoader.create(new ClickHouseSampleStore(store.insertRaw))
  await loader.load(fleetAsLoadSeries(fleet))
  await refreshRollupsNow(store.readWrite)
  raw = new ClickHouseQuerier(store.readOnly)
  tiered = new ClickHouseQuerier(store.readOnly, {
    tiers: rollupTierPlanner({ retention: RETENTION, now: () => NOW }),
    onSelect: (tiers) => tiersRead.push([...tiers]),
  })
}, 120_000)

afterAll(async () => {
  await store?.close()
  await rm(dir, { recursive: true, force: true })
})

const m = (name: string, value: string): LabelMatcher => ({ name, type: '=', value })

function hints(func: string | undefined, over: Partial<SelectHints> = {}): SelectHints {
  return { start: FROM, end: COMPLETE - 1, step: 60_000, range: HOUR, lookbackDelta: 300_000, func, ...over }
}

function byHost(data: SeriesData[]): Map<string, SeriesData> {
  return new Map(data.map((s) => [`${s.labels.host}/${s.labels.mode ?? ''}`, s]))
}

function pointsIn(s: SeriesData, from: number, to: number): { t: number; v: number }[] {
  const out: { t: number; v: number }[] = []
  for (let i = 0; i < s.timestamps.length; i++) if (s.timestamps[i] >= from && s.timestamps[i] < to && s.stale?.[i] !== 1) out.push({ t: s.timestamps[i], v: s.values[i] })
  return out
}

/** Prometheus's counter increase over consecutive samples (no extrapolation). */
function increase(points: { v: number }[]): number {
  let sum = 0
  for (let i = 1; i < points.length; i++) sum += points[i].v >= points[i - 1].v ? points[i].v - points[i - 1].v : points[i].v
  return sum
}

describe('rollup tiers through the ClickHouse Querier', () => {
  it('answers max_over_time and min_over_time per whole hour as raw samples do', async () => {
    for (const func of ['max_over_time', 'min_over_time'] as const) {
      tiersRead.length = 0
      const fromTier = byHost(await tiered.select([m('__name__', 'node_memory_MemAvailable_bytes')], hints(func)))
      expect(tiersRead).toEqual([['1m']])
      const fromRaw = byHost(await raw.select([m('__name__', 'node_memory_MemAvailable_bytes')], hints(func)))
      expect([...fromTier.keys()].sort()).toEqual([...fromRaw.keys()].sort())
      const pick = func === 'max_over_time' ? Math.max : Math.min
      for (const [key, r] of fromRaw) {
        const t = fromTier.get(key)!
        // Far fewer points than raw: one per minute instead of four.
        expect(t.timestamps.length).toBeLessThan(r.timestamps.length / 3)
        for (let h = FROM; h < COMPLETE; h += HOUR) {
          expect(pick(...pointsIn(t, h, h + HOUR).map((p) => p.v))).toBe(pick(...pointsIn(r, h, h + HOUR).map((p) => p.v)))
        }
      }
    }
  })

  it('gives a counter the increase of raw samples across whole buckets, resets included', async () => {
    const fromTier = byHost(await tiered.select([m('__name__', 'node_cpu_seconds_total')], hints('rate')))
    const fromRaw = byHost(await raw.select([m('__name__', 'node_cpu_seconds_total')], hints('rate')))
    // Host 1 of pool 0 restarts in the middle of the data: its counters reset.
    const reset = fromRaw.get('pool0-host1/idle')!
    expect(pointsIn(reset, FROM, COMPLETE).some((p, i, all) => i > 0 && p.v < all[i - 1].v)).toBe(true)
    for (const [key, r] of fromRaw) {
      const t = fromTier.get(key)!
      for (let h = FROM; h < COMPLETE; h += HOUR) {
        const want = increase(pointsIn(r, h, h + HOUR))
        const got = increase(pointsIn(t, h, h + HOUR))
        expect(got).toBeCloseTo(want, 6)
      }
      // And over the three hours at once.
      expect(increase(pointsIn(t, FROM, COMPLETE))).toBeCloseTo(increase(pointsIn(r, FROM, COMPLETE)), 6)
    }
  })

  it('reads raw for rawOnly, instant selectors and functions rollups cannot answer', async () => {
    for (const h of [hints('max_over_time', { rawOnly: true }), hints(undefined, { step: 0 }), hints('avg_over_time'), hints('rate', { step: 15_000, range: 30_000 })]) {
      tiersRead.length = 0
      await tiered.select([m('__name__', 'node_memory_MemAvailable_bytes')], h)
      expect(tiersRead).toEqual([['raw']])
    }
  })

  it('reads raw for the part newer than the rolled-up hours', async () => {
    tiersRead.length = 0
    const data = await tiered.select([m('__name__', 'queue_depth')], hints(undefined, { end: NOW, range: 0 }))
    expect(tiersRead).toEqual([['1m', 'raw']])
    const rawData = await raw.select([m('__name__', 'queue_depth')], hints(undefined, { end: NOW, range: 0 }))
    for (const s of data) {
      const r = rawData.find((x) => x.labels.host === s.labels.host)!
      // The raw part is identical, sample for sample.
      expect(pointsIn(s, COMPLETE, NOW + 1)).toEqual(pointsIn(r, COMPLETE, NOW + 1))
    }
  })
})
