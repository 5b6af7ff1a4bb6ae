/**
 * Stream aggregation's exactly-once protocol step by step, against the embedded ClickHouse
 * (in this process): a landing "crashes" at each point between the batch's insert and its
 * state save, or fails and is retried in process; a fresh aggregation (a new process) then
 * replays the batch. Every time, the stored aggregates must equal those of an uninterrupted
 * run, each output sample exactly once.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BatchAggregation } from '../../aggregation/batch-aggregation.js'
import { AggregationMetrics } from '../../aggregation/metrics.js'
import { parseAggregationRules } from '../../aggregation/rules.js'
import { ClickHouseAggregationStateStore, type AggregationStateStore } from '../../aggregation/state-store.js'
import { BatchLander } from '../../ingester/batch-lander.js'
import { SeriesRegistry } from '../../ingester/series-registry.js'
import { silentLogger } from '../../observability/logger.js'
import { Fingerprinter } from '../../proto/fingerprint.js'
import { publicSchema } from '../../rollup/public-schema.js'
import { openStore, type StoreClients } from '../../store/connection.js'
import type { SeriesSamples } from '../../store/rowbinary-encoder.js'
import { ClickHouseSampleStore } from '../../store/sample-store.js'
import { migrate } from '../../store/schema.js'

let dataDir: string
let store: StoreClients
let fingerprinter: Fingerprinter
let stateStore: ClickHouseAggregationStateStore

const RULES = parseAggregationRules(`- { match: 'replay_total', interval: 1m, without: [instance], outputs: [increase, total, count_samples, 'quantiles(0.5)'] }`, 'replay.yml')
const T0 = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'metrichouse-aggregation-replay-'))
  ;[store, fingerprinter] = await Promise.all([openStore({ dataDir, database: 'default' }), Fingerprinter.create()])
  await migrate(store.readWrite, publicSchema({ rawRetentionMs: 30 * 86_400_000, rollups: false }))
  stateStore = new ClickHouseAggregationStateStore(store.readWrite, store.insertRaw)
  await stateStore.migrate()
}, 60_000)

afterAll(async () => {
  await store?.close()
  await rm(dataDir, { recursive: true, force: true })
})

/** Batch k: 6 instances, one counter sample each at k * 20 s (a reset at k = 7 for i0). */
function batch(k: number): SeriesSamples[] {
  const out: SeriesSamples[] = []
  for (let i = 0; i < 6; i++) {
    const labels = [
      { name: '__name__', value: 'replay_total' },
      { name: 'instance', value: `i${i}` },
      { name: 'job', value: 'replay' },
    ]
    const value = i === 0 && k >= 7 ? k - 7 : k * (i + 1)
    out.push({ ref: { id: fingerprinter.fingerprint(labels), metricName: 'replay_total', labels }, samples: [{ timestampMs: T0 + k * 20_000 + 1, value }] })
  }
  return out
}

/** Fails `save` when told to: a crash (or a ClickHouse error) after the batch's insert. */
class FailingSaves implements AggregationStateStore {
  failNext = false
  constructor(private readonly inner: AggregationStateStore) {}
  load(stream: string, position: string) {
    return this.inner.load(stream, position)
  }
  has(stream: string) {
    return this.inner.has(stream)
  }
  async save(stream: string, position: string, state: Buffer) {
    if (this.failNext) {
      this.failNext = false
      throw new Error('crashed before the state was saved')
    }
    await this.inner.save(stream, position, state)
  }
}

function lander(states: AggregationStateStore): BatchLander {
  const stage = new BatchAggregation({
    rules: RULES,
    lagMs: 0,
    keepInput: false,
    dropInput: false,
    store: states,
    fingerprint: (l) => fingerprinter.fingerprint(l),
    metrics: new AggregationMetrics(new Registry()),
    logger: silentLogger,
  })
  return new BatchLander(new ClickHouseSampleStore(store.insertRaw), new SeriesRegistry(), stage)
}

/** Every stored output sample with the number of its copies. */
async function outputs(): Promise<string> {
  const rs = await store.readWrite.query({
    query: `SELECT metric_name, series_id, toUnixTimestamp64Milli(timestamp) AS t, value, count() AS copies FROM samples
WHERE position(metric_name, ':') > 0 GROUP BY metric_name, series_id, t, value ORDER BY metric_name, series_id, t`,
    format: 'TabSeparated',
  })
  return rs.text()
}

const BATCHES = 12

describe('stream aggregation replays', () => {
  it('stores the same aggregates, each once, whatever point a landing fails at', async () => {
    // The reference: an uninterrupted run, alone in the table.
    const straight = lander(stateStore)
    for (let k = 1; k <= BATCHES; k++) await straight.land(batch(k), `ref:${k}`, { stream: 'ref', from: String(k), to: String(k + 1) })
    const reference = await outputs()
    expect(reference.split('\n').filter(Boolean).length).toBeGreaterThan(10)
    await store.readWrite.command({ query: `TRUNCATE TABLE samples` })

    // The same batches under another stream and tokens, with faults:
    //  - batch 3: the state save fails; retried in the same process;
    //  - batch 6: the state save fails; the process "dies"; a new one replays batch 6;
    //  - batch 9: the state is saved but the source never committed; a new process replays batch 9.
    const failing = new FailingSaves(stateStore)
    let current = lander(failing)
    for (let k = 1; k <= BATCHES; k++) {
      const position = { stream: 'faulty', from: String(k), to: String(k + 1) }
      if (k === 3 || k === 6) {
        failing.failNext = true
        await expect(current.land(batch(k), `faulty:${k}`, position)).rejects.toThrow('crashed before the state was saved')
        if (k === 6) current = lander(failing)
      }
      await current.land(batch(k), `faulty:${k}`, position)
      if (k === 9) {
        current = lander(failing)
        await current.land(batch(k), `faulty:${k}`, position)
      }
    }
    expect(await outputs()).toBe(reference)
    expect(reference.split('\n').filter(Boolean).every((line) => line.endsWith('\t1')), 'every output sample stored once').toBe(true)
  }, 120_000)
})
