/**
 * The rollup tiers on the embedded engine: exactly-once through the real WAL flush path,
 * backfill older than the raw retention, migrate's idempotence and TTL upgrades, and the
 * refresh running on its own schedule.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RecordDecoder } from '../../ingester/record-decoder.js'
import { SeriesRegistry } from '../../ingester/series-registry.js'
import { WalFlusher } from '../../wal/wal-flusher.js'
import { silentLogger } from '../../observability/logger.js'
import { encodeWriteRequestV1 } from '../../proto/encode-v1.js'
import { Fingerprinter } from '../../proto/fingerprint.js'
import { createSnappyCodec, type SnappyCodec } from '../../proto/snappy.js'
import { refreshRollupsNow } from '../../rollup/refresh.js'
import { openStore, type StoreClients } from '../../store/connection.js'
import { ClickHouseSampleStore, type SampleStore } from '../../store/sample-store.js'
import { publicSchema, type PublicSchemaOptions } from '../../rollup/public-schema.js'
import { migrate } from '../../store/schema.js'
import { FlushCheckpoint } from '../../wal/checkpoint.js'
import { encodeWalPayload } from '../../wal/wal-payload.js'
import { WriteAheadLog } from '../../wal/write-ahead-log.js'

const DAY = 86_400_000
const HOUR = 3_600_000
const BASE: PublicSchemaOptions = { rawRetentionMs: 7 * DAY, rollup: { maxHoursPerRefresh: 48 } }
let dir: string
let store: StoreClients
let snappy: SnappyCodec
let fingerprinter: Fingerprinter

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'mh-rollup-tiers-'))
  store = await openStore({ dataDir: dir, database: 'default' })
  await migrate(store.readWrite, publicSchema(BASE))
  snappy = await createSnappyCodec()
  fingerprinter = await Fingerprinter.create()
})

afterAll(async () => {
  await store.close()
  rmSync(dir, { recursive: true, force: true })
})

async function text(sql: string, params: Record<string, unknown> = {}): Promise<string> {
  const rs = await store.readWrite.query({ query: sql, query_params: params, format: 'TabSeparated' })
  return (await rs.text()).trim()
}

/** Every column of a tier but computed_at (a recomputation may renew it), in a stable order. */
function tierContent(table: string, metric: string): Promise<string> {
  return text(
    `SELECT * EXCEPT computed_at FROM ${table} FINAL WHERE metric_name = {m:String} ORDER BY series_id, timestamp`,
    { m: metric },
  )
}

/** A store that lands the insert and then fails, as a crash between insert and commit would. */
class CrashAfterInsert implements SampleStore {
  constructor(private readonly inner: SampleStore) {}
  insertSeries: SampleStore['insertSeries'] = (rows, token) => this.inner.insertSeries(rows, token)
  async insertSamples(...args: Parameters<SampleStore['insertSamples']>): Promise<number> {
    await this.inner.insertSamples(...args)
    throw new Error('simulated crash after the insert')
  }
}

describe('exactly-once through every tier', () => {
  it('leaves raw, 1m and 1h unchanged when the same WAL range is flushed twice with its token', async () => {
    const t0 = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR
    const walDir = path.join(dir, 'wal-eo')
    const wal = await WriteAheadLog.open({ dir: walDir, segmentBytes: 1 << 20, logger: silentLogger })
    const checkpoint = await FlushCheckpoint.open(walDir)
    for (let i = 0; i < 30; i++) {
      const series = Array.from({ length: 5 }, (_, s) => ({
        labels: [
          { name: '__name__', value: 'eo_requests_total' },
          { name: 'instance', value: `host-${s}` },
        ],
        // a reset at i = 20: the counter restarts from a small value
        samples: [{ timestampMs: t0 + i * 15_000, value: i < 20 ? i * 10 + s : (i - 20) * 3 }],
      }))
      await wal.append(encodeWalPayload(0n, snappy.compress(encodeWriteRequestV1(series))))
    }
    const flusher = (sampleStore: SampleStore) =>
      new WalFlusher({
        wal,
        checkpoint,
        store: sampleStore,
        decoder: new RecordDecoder(snappy, fingerprinter),
        seriesRegistry: new SeriesRegistry(),
        logger: silentLogger,
        registry: new Registry(),
        maxBatchBytes: 1 << 20,
        idleIntervalMs: 50,
      })
    const real = new ClickHouseSampleStore(store.insertRaw)
    await expect(flusher(new CrashAfterInsert(real)).flushOnce()).rejects.toThrow('simulated crash')
    expect(checkpoint.get().inFlight).toBeDefined()
    await refreshRollupsNow(store.readWrite)
    const before = await Promise.all(['samples', 'samples_1m', 'samples_1h'].map((t) => (t === 'samples' ? text(`SELECT count() FROM samples WHERE metric_name = 'eo_requests_total'`) : tierContent(t, 'eo_requests_total'))))
    expect(before[0]).toBe('150')
    expect(before[1]!.split('\n')).toHaveLength(5 * 8) // 30 samples 15 s apart: 8 minutes per series
    // The restarted flusher inserts the recorded in-flight range again, with the same token.
    expect(await flusher(real).flushOnce()).toBe(30)
    expect(checkpoint.get().inFlight).toBeUndefined()
    await refreshRollupsNow(store.readWrite)
    const after = await Promise.all(['samples', 'samples_1m', 'samples_1h'].map((t) => (t === 'samples' ? text(`SELECT count() FROM samples WHERE metric_name = 'eo_requests_total'`) : tierContent(t, 'eo_requests_total'))))
    expect(after).toEqual(before)
    // 190 before the reset, then 27 after it: what raw samples give for host-0
    const hourRow = await text(
      `SELECT last_value - first_value + reset_sum, resets, count FROM samples_1h FINAL WHERE metric_name = 'eo_requests_total' ORDER BY series_id LIMIT 1`,
    )
    expect(hourRow.split('\t').slice(1)).toEqual(['1', '30'])
    await wal.close?.()
  })
})

describe('backfill', () => {
  const store1 = () => new ClickHouseSampleStore(store.insertRaw)
  const series = (name: string, id: bigint, t: number) => ({
    ref: { id, metricName: name, labels: [{ name: '__name__', value: name }] },
    samples: [0, 1, 2, 3].map((i) => ({ timestampMs: t + i * 20_000, value: 100 + i })),
  })

  it('rolls up samples older than the raw retention, which the raw tier drops at insert', async () => {
    const tenDaysAgo = Math.floor((Date.now() - 10 * DAY) / HOUR) * HOUR
    await store1().insertSamples([series('backfill_ten_days', 1n, tenDaysAgo)], 'backfill-10d')
    await refreshRollupsNow(store.readWrite)
    expect(await text(`SELECT count() FROM samples WHERE metric_name = 'backfill_ten_days'`)).toBe('0')
    expect(await text(`SELECT count, min_value, max_value, sum_value FROM samples_1m FINAL WHERE metric_name = 'backfill_ten_days' ORDER BY timestamp`)).toBe('3\t100\t102\t303\n1\t103\t103\t103')
    expect(await text(`SELECT count, min_value, max_value, last_value FROM samples_1h FINAL WHERE metric_name = 'backfill_ten_days'`)).toBe('4\t100\t103\t103')
  })

  it('rolls samples older than the 1m retention up into 1h, and drops what is older than the 1h retention', async () => {
    const fortyDaysAgo = Math.floor((Date.now() - 40 * DAY) / HOUR) * HOUR
    const fourHundredDaysAgo = Math.floor((Date.now() - 400 * DAY) / HOUR) * HOUR
    await store1().insertSamples([series('backfill_forty_days', 2n, fortyDaysAgo), series('backfill_400_days', 3n, fourHundredDaysAgo)], 'backfill-40d')
    await refreshRollupsNow(store.readWrite)
    expect(await text(`SELECT count, min_value, max_value, sum_value FROM samples_1h FINAL WHERE metric_name = 'backfill_forty_days'`)).toBe('4\t100\t103\t406')
    // the 1m rows the 1h tier was computed from expire a day after their computation
    expect(await text(`SELECT count() FROM samples_1m FINAL WHERE metric_name = 'backfill_forty_days' AND computed_at > now() - INTERVAL 1 HOUR`)).toBe('2')
    const rowsIn = (table: string) => text(`SELECT count() FROM ${table} WHERE metric_name = 'backfill_400_days'`)
    expect([await rowsIn('samples_1m'), await rowsIn('samples_1h')]).toEqual(['0', '0'])
  })
})

describe('migrate', () => {
  const ttlOf = (table: string) => text(`SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = {t:String}`, { t: table })
  const definitionOf = (table: string) => text(`SELECT comment, create_table_query FROM system.tables WHERE database = currentDatabase() AND name = {t:String}`, { t: table })

  it('changes nothing when run again with the same configuration', async () => {
    const before = await text(`SELECT name, uuid, engine_full, comment FROM system.tables WHERE database = currentDatabase() ORDER BY name`)
    await migrate(store.readWrite, publicSchema(BASE))
    expect(await text(`SELECT name, uuid, engine_full, comment FROM system.tables WHERE database = currentDatabase() ORDER BY name`)).toBe(before)
  })

  it('moves every tier to new retentions and recreates the views that depend on them', async () => {
    const refreshView = await definitionOf('samples_1m_refresh')
    await migrate(store.readWrite, publicSchema({ ...BASE, rawRetentionMs: 3 * DAY, oneMinuteRetentionMs: 10 * DAY, oneHourRetentionMs: 100 * DAY }))
    expect(await ttlOf('samples')).toContain(`TTL toDateTime(timestamp) + toIntervalSecond(${3 * 86_400}) SETTINGS`)
    expect(await ttlOf('samples_1m')).toContain(`TTL greatest(timestamp + toIntervalSecond(${10 * 86_400}), toDateTime(computed_at) + toIntervalSecond(86400)) SETTINGS`)
    expect(await ttlOf('samples_1h')).toContain(`TTL timestamp + toIntervalSecond(${100 * 86_400}) SETTINGS`)
    const recreated = await definitionOf('samples_1m_refresh')
    expect(recreated).not.toBe(refreshView)
    expect(recreated).toContain(`toIntervalSecond(${100 * 86_400} + 3600)`)
    // the recreated refresh still works, and a second run is again a no-op
    await refreshRollupsNow(store.readWrite)
    const again = await text(`SELECT name, uuid, engine_full FROM system.tables WHERE database = currentDatabase() ORDER BY name`)
    await migrate(store.readWrite, publicSchema({ ...BASE, rawRetentionMs: 3 * DAY, oneMinuteRetentionMs: 10 * DAY, oneHourRetentionMs: 100 * DAY }))
    expect(await text(`SELECT name, uuid, engine_full FROM system.tables WHERE database = currentDatabase() ORDER BY name`)).toBe(again)
  })

  it('has ClickHouse fill the rollups on its own schedule, with nothing outside it running', async () => {
    await migrate(store.readWrite, publicSchema({ ...BASE, rollup: { ...BASE.rollup, refreshSeconds: 1 } }))
    const t = Math.floor(Date.now() / HOUR) * HOUR - 2 * HOUR
    await new ClickHouseSampleStore(store.insertRaw).insertSamples(
      [{ ref: { id: 9n, metricName: 'scheduled_gauge', labels: [{ name: '__name__', value: 'scheduled_gauge' }] }, samples: [{ timestampMs: t, value: 4 }] }],
      'scheduled-1',
    )
    const deadline = Date.now() + 20_000
    let rows = '0'
    while (Date.now() < deadline && rows !== '1\t1') {
      await new Promise((r) => setTimeout(r, 250))
      rows = await text(`SELECT (SELECT count() FROM samples_1m FINAL WHERE metric_name = 'scheduled_gauge'), (SELECT count() FROM samples_1h FINAL WHERE metric_name = 'scheduled_gauge')`)
    }
    expect(rows).toBe('1\t1')
  })
})
