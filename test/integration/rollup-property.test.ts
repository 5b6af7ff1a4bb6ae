/**
 * Property: whatever the arrival order, batch split, duplicates, stale markers, gaps and
 * counter resets, every samples_1m and samples_1h row equals the reference computed in
 * TypeScript from the raw samples (rollup/buckets.ts), and the counter increase combined
 * from the rows equals the increase taken pair by pair over the raw samples. Samples go in
 * through the real store path (ClickHouseSampleStore, TSV, dedup tokens); part of them
 * arrive after their hour was already rolled up, so the recomputation of late hours is
 * exercised too.
 */
import fc from 'fast-check'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Sample } from '../../proto/types.js'
import { bucketIncrease, bucketsFromSamples, cleanSamples, combineBuckets, increaseOfSamples, kindOfMetric, type Bucket, type RawSample } from '../../rollup/buckets.js'
import { refreshRollupsNow } from '../../rollup/refresh.js'
import { openStore, type StoreClients } from '../../store/connection.js'
import { ClickHouseSampleStore } from '../../store/sample-store.js'
import { publicSchema } from '../../rollup/public-schema.js'
import { migrate } from '../../store/schema.js'
import type { SeriesSamples } from '../../store/rowbinary-encoder.js'

const HOUR = 3_600_000
const STALE_BITS = 0x7ff0000000000002n
// Closed hours well inside the raw retention.
const H0 = Math.floor(Date.now() / HOUR) * HOUR - 6 * HOUR

let dir: string
let store: StoreClients
let sampleStore: ClickHouseSampleStore

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'mh-rollup-prop-'))
  store = await openStore({ dataDir: dir, database: 'default' })
  await migrate(store.readWrite, publicSchema({ rawRetentionMs: 7 * 86_400_000, rollup: { maxHoursPerRefresh: 24 } }))
  sampleStore = new ClickHouseSampleStore(store.insertRaw)
})

afterAll(async () => {
  await store.close()
  rmSync(dir, { recursive: true, force: true })
})

interface GenSeries {
  kind: 'counter' | 'gauge'
  samples: RawSample[]
}

/** A series over about two hours: jittered scrape times, gaps, resets, stale markers, duplicates. */
const seriesArb: fc.Arbitrary<GenSeries> = fc
  .record({
    kind: fc.constantFrom('counter' as const, 'gauge' as const),
    steps: fc.array(
      fc.record({
        gapMs: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 40_000 }) }, { weight: 1, arbitrary: fc.integer({ min: 60_000, max: 1_500_000 }) }),
        delta: fc.integer({ min: 0, max: 400 }).map((x) => x / 4),
        reset: fc.boolean().map((b) => b && Math.random() < 0.15),
        stale: fc.integer({ min: 0, max: 20 }).map((x) => x === 0),
        duplicate: fc.integer({ min: 0, max: 15 }).map((x) => x === 0),
      }),
      { minLength: 1, maxLength: 80 },
    ),
    startOffset: fc.integer({ min: 0, max: HOUR }),
  })
  .map(({ kind, steps, startOffset }) => {
    const samples: RawSample[] = []
    let t = H0 + startOffset
    let v = 0
    for (const step of steps) {
      t += step.gapMs
      if (kind === 'counter') v = step.reset ? step.delta : v + step.delta
      else v = step.delta - 50
      if (step.stale) {
        samples.push({ t, v: NaN, stale: true })
        continue
      }
      samples.push({ t, v })
      if (step.duplicate) samples.push({ t, v })
    }
    return { kind, samples }
  })

interface Arrival {
  series: number
  sample: RawSample
}

const scenarioArb = fc.record({
  series: fc.array(seriesArb, { minLength: 1, maxLength: 3 }),
  // arrival order: a permutation key per sample, how many arrive late, batch sizes
  orderSeed: fc.integer({ min: 1, max: 2 ** 30 }),
  shuffle: fc.constantFrom('in-order', 'shuffled', 'mostly-in-order'),
  lateFraction: fc.double({ min: 0, max: 0.5, noNaN: true }),
  // number of inserts per phase (a remote-write request carries about one sample per series)
  batches: fc.integer({ min: 1, max: 12 }),
})

/** Small deterministic PRNG so a failing case replays from fast-check's seed alone. */
function prng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

function toSample(s: RawSample): Sample {
  return s.stale ? { timestampMs: s.t, value: NaN, nanBits: STALE_BITS } : { timestampMs: s.t, value: s.v }
}

interface Row {
  series_id: string
  timestamp: string
  count: number
  first_timestamp: string
  last_timestamp: string
  first_value: number | null
  last_value: number | null
  reset_sum: number | null
  resets: number
  min_value: number | null
  max_value: number | null
  sum_value: number | null
}

function ms(text: string): number {
  return Date.parse(text.replace(' ', 'T') + 'Z')
}

function rowToBucket(r: Row): Bucket {
  const num = (x: number | null) => (x === null ? NaN : x)
  return {
    start: ms(r.timestamp),
    count: r.count,
    firstT: ms(r.first_timestamp),
    lastT: ms(r.last_timestamp),
    firstV: num(r.first_value),
    lastV: num(r.last_value),
    resetSum: num(r.reset_sum),
    resets: r.resets,
    min: num(r.min_value),
    max: num(r.max_value),
    sum: num(r.sum_value),
  }
}

function expectClose(actual: number, expected: number, what: string): void {
  if (Number.isNaN(expected)) {
    expect(actual, what).toBeNaN()
    return
  }
  expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected)))
}

function expectBucketsEqual(actual: readonly Bucket[], expected: readonly Bucket[], what: string): void {
  expect(actual.map((b) => b.start), `${what}: bucket starts`).toEqual(expected.map((b) => b.start))
  actual.forEach((a, i) => {
    const e = expected[i]!
    const where = `${what} bucket ${new Date(e.start).toISOString()}`
    expect([a.count, a.firstT, a.lastT, a.resets], where).toEqual([e.count, e.firstT, e.lastT, e.resets])
    for (const key of ['firstV', 'lastV', 'min', 'max', 'resetSum', 'sum'] as const) expectClose(a[key], e[key], `${where} ${key}`)
  })
}

async function tierRows(table: 'samples_1m' | 'samples_1h', metric: string, seriesId: bigint): Promise<Bucket[]> {
  const rs = await store.readWrite.query({
    query: `SELECT series_id, timestamp, count, first_timestamp, last_timestamp, first_value, last_value, reset_sum, resets, min_value, max_value, sum_value
            FROM ${table} FINAL WHERE metric_name = {m:String} AND series_id = {id:UInt64} ORDER BY timestamp`,
    query_params: { m: metric, id: seriesId.toString() },
    format: 'JSONEachRow',
  })
  return (await rs.json<Row>()).map(rowToBucket)
}

let run = 0

describe('rollup tiers against the TypeScript reference', () => {
  it('match every 1m and 1h bucket for any arrival order, batch split, late and duplicate sample', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        run++
        const started = Date.now()
        const metrics = scenario.series.map((s, i) => (s.kind === 'counter' ? `prop${run}_s${i}_total` : `prop${run}_s${i}_bytes`))
        const ids = scenario.series.map((_, i) => BigInt(run * 100 + i + 1))
        const rand = prng(scenario.orderSeed)
        let arrivals: Arrival[] = scenario.series.flatMap((s, i) => s.samples.map((sample) => ({ series: i, sample })))
        if (scenario.shuffle === 'shuffled') arrivals = arrivals.map((a) => ({ a, k: rand() })).sort((x, y) => x.k - y.k).map((x) => x.a)
        if (scenario.shuffle === 'mostly-in-order') {
          arrivals = arrivals.map((a) => ({ a, k: a.sample.t + (rand() < 0.2 ? (rand() - 0.5) * 600_000 : 0) })).sort((x, y) => x.k - y.k).map((x) => x.a)
        }
        // The late ones arrive after a refresh has rolled their hours up already.
        const lateCount = Math.floor(arrivals.length * scenario.lateFraction)
        const phases = [arrivals.slice(0, arrivals.length - lateCount), arrivals.slice(arrivals.length - lateCount)]
        for (const [p, phase] of phases.entries()) {
          // random cut points: batches of uneven size
          const cuts = [...new Set(Array.from({ length: scenario.batches - 1 }, () => Math.floor(rand() * phase.length)))].sort((a, b) => a - b)
          const bounds = [0, ...cuts, phase.length]
          for (let batchNo = 0; batchNo + 1 < bounds.length; batchNo++) {
            const batch = phase.slice(bounds[batchNo], bounds[batchNo + 1])
            if (batch.length === 0) continue
            const bySeries = new Map<number, Sample[]>()
            for (const a of batch) bySeries.set(a.series, [...(bySeries.get(a.series) ?? []), toSample(a.sample)])
            const rows: SeriesSamples[] = [...bySeries].map(([s, samples]) => ({
              ref: { id: ids[s]!, metricName: metrics[s]!, labels: [{ name: '__name__', value: metrics[s]! }] },
              samples,
            }))
            await sampleStore.insertSamples(rows, `prop-${run}-${p}-${batchNo}`)
          }
          const r0 = Date.now()
          await refreshRollupsNow(store.readWrite)
          if (process.env.ROLLUP_PROP_TRACE) console.log(`run ${run} phase ${p}: refresh ${Date.now() - r0} ms, total ${Date.now() - started} ms`)
        }
        for (const [i, s] of scenario.series.entries()) {
          const kind = kindOfMetric(metrics[i]!)
          const oneMinute = await tierRows('samples_1m', metrics[i]!, ids[i]!)
          const oneHour = await tierRows('samples_1h', metrics[i]!, ids[i]!)
          expectBucketsEqual(oneMinute, bucketsFromSamples(s.samples, 60_000, kind), `${metrics[i]} 1m`)
          expectBucketsEqual(oneHour, bucketsFromSamples(s.samples, HOUR, kind), `${metrics[i]} 1h`)
          // The 1m rows of each hour combine into that hour's row.
          for (const h of oneHour) {
            const inHour = oneMinute.filter((m) => m.start >= h.start && m.start < h.start + HOUR)
            expectBucketsEqual([combineBuckets(inHour, kind, h.start)], [h], `${metrics[i]} 1m combined into 1h`)
          }
          const clean = cleanSamples(s.samples)
          if (kind === 'counter' && clean.length > 0) {
            expectClose(bucketIncrease(combineBuckets(oneMinute, kind)), increaseOfSamples(clean), `${metrics[i]} increase from 1m rows`)
            expectClose(bucketIncrease(combineBuckets(oneHour, kind)), increaseOfSamples(clean), `${metrics[i]} increase from 1h rows`)
          }
        }
      }),
      { numRuns: 40 },
    )
  }, 120_000)
})
