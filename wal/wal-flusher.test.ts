/**
 * The flusher against the real parts: a WAL on disk and the embedded ClickHouse. The crash
 * cases fail the store around the insert, as a kill would, and check that a new flusher on
 * the same log and checkpoint leaves every sample exactly once.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../observability/logger.js'
import { encodeWriteRequestV1 } from '../proto/encode-v1.js'
import { Fingerprinter } from '../proto/fingerprint.js'
import { createSnappyCodec, type SnappyCodec } from '../proto/snappy.js'
import type { Sample } from '../proto/types.js'
import { openStore, type StoreClients } from '../store/connection.js'
import { ClickHouseSampleStore, type SampleStore } from '../store/sample-store.js'
import { publicSchema } from '../rollup/public-schema.js'
import { migrate } from '../store/schema.js'
import { FlushCheckpoint } from './checkpoint.js'
import { comparePositions } from './position.js'
import { encodeWalPayload } from './wal-payload.js'
import { WriteAheadLog } from './write-ahead-log.js'
import { RecordDecoder } from '../ingester/record-decoder.js'
import { SeriesRegistry } from '../ingester/series-registry.js'
import { WalFlusher } from './wal-flusher.js'

const T0 = Date.now() - 3_600_000
let dir: string
let store: StoreClients
let snappy: SnappyCodec
let fingerprinter: Fingerprinter

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'mh-flusher-'))
  store = await openStore({ dataDir: dir, database: 'default' })
  await migrate(store.readWrite, publicSchema({ rawRetentionMs: 7 * 86_400_000 }))
  snappy = await createSnappyCodec()
  fingerprinter = await Fingerprinter.create()
})

afterAll(async () => {
  await store.close()
  rmSync(dir, { recursive: true, force: true })
})

async function scalar(sql: string): Promise<string> {
  const rs = await store.readWrite.query({ query: sql, format: 'TabSeparated' })
  return (await rs.text()).trim()
}

/** One WAL record: `series` series of metric `name`, one sample each at T0 + i s. */
function record(name: string, i: number, series = 10): Uint8Array {
  const list = []
  for (let s = 0; s < series; s++) {
    list.push({
      labels: [
        { name: '__name__', value: name },
        { name: 'instance', value: `host-${s}` },
      ],
      samples: [{ timestampMs: T0 + i * 1000, value: i * 100 + s }],
    })
  }
  return encodeWalPayload(0n, snappy.compress(encodeWriteRequestV1(list)))
}

async function openWal(name: string) {
  const walDir = path.join(dir, name)
  const wal = await WriteAheadLog.open({ dir: walDir, segmentBytes: 4096, logger: silentLogger })
  const checkpoint = await FlushCheckpoint.open(walDir)
  return { wal, checkpoint }
}

function flusherFor(parts: { wal: WriteAheadLog; checkpoint: FlushCheckpoint }, sampleStore: SampleStore, maxBatchBytes = 1 << 20) {
  return new WalFlusher({
    ...parts,
    store: sampleStore,
    decoder: new RecordDecoder(snappy, fingerprinter),
    seriesRegistry: new SeriesRegistry(),
    logger: silentLogger,
    registry: new Registry(),
    maxBatchBytes,
    idleIntervalMs: 50,
  })
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

class CrashBeforeInsert implements SampleStore {
  insertSeries = async () => {}
  async insertSamples(): Promise<number> {
    throw new Error('simulated crash before the insert')
  }
}

describe('WalFlusher', () => {
  it('moves every record into samples and series, then drops flushed segments', async () => {
    const parts = await openWal('all')
    for (let i = 0; i < 50; i++) await parts.wal.append(record('flush_all', i))
    const segmentsBefore = parts.wal.start()
    const flusher = flusherFor(parts, new ClickHouseSampleStore(store.insertRaw), 2048)
    while ((await flusher.flushOnce()) > 0) {
      /* until empty */
    }
    expect(await scalar(`SELECT count(), sum(value) FROM samples WHERE metric_name = 'flush_all'`)).toBe(`500\t${(100 * 49 * 50) / 2 * 10 + 45 * 50}`)
    expect(await scalar(`SELECT count() FROM series FINAL WHERE metric_name = 'flush_all'`)).toBe('10')
    expect(comparePositions(flusher.committed(), parts.wal.end())).toBe(0)
    expect(comparePositions(parts.wal.start(), segmentsBefore)).toBeGreaterThan(0)
    await parts.wal.close()
  })

  it('stores a batch exactly once when the process dies after the insert and before the commit', async () => {
    const parts = await openWal('after')
    for (let i = 0; i < 20; i++) await parts.wal.append(record('crash_after', i))
    const crashing = flusherFor(parts, new CrashAfterInsert(new ClickHouseSampleStore(store.insertRaw)))
    await expect(crashing.flushOnce()).rejects.toThrow('simulated crash')
    expect(await scalar(`SELECT count() FROM samples WHERE metric_name = 'crash_after'`)).toBe('200')
    expect(parts.checkpoint.get().inFlight).toBeDefined()
    // The log grows before the restart: the rebuilt batch must still be the recorded range.
    for (let i = 20; i < 30; i++) await parts.wal.append(record('crash_after', i))

    const restarted = flusherFor(parts, new ClickHouseSampleStore(store.insertRaw))
    while ((await restarted.flushOnce()) > 0) {
      /* until empty */
    }
    expect(await scalar(`SELECT count(), uniqExact(series_id, timestamp) FROM samples WHERE metric_name = 'crash_after'`)).toBe('300\t300')
    expect(parts.checkpoint.get().inFlight).toBeUndefined()
    await parts.wal.close()
  })

  it('stores a batch once when the process dies before the insert', async () => {
    const parts = await openWal('before')
    for (let i = 0; i < 5; i++) await parts.wal.append(record('crash_before', i))
    await expect(flusherFor(parts, new CrashBeforeInsert()).flushOnce()).rejects.toThrow('simulated crash')
    expect(await scalar(`SELECT count() FROM samples WHERE metric_name = 'crash_before'`)).toBe('0')
    await flusherFor(parts, new ClickHouseSampleStore(store.insertRaw)).flushOnce()
    expect(await scalar(`SELECT count() FROM samples WHERE metric_name = 'crash_before'`)).toBe('50')
    await parts.wal.close()
  })

  it('retries a failing store in its loop and drains on stop', async () => {
    const parts = await openWal('loop')
    let failures = 2
    const real = new ClickHouseSampleStore(store.insertRaw)
    const flaky: SampleStore = {
      insertSeries: (rows, token) => real.insertSeries(rows, token),
      insertSamples: async (series, token) => {
        if (failures-- > 0) throw new Error('ClickHouse unavailable')
        return real.insertSamples(series, token)
      },
    }
    const flusher = new WalFlusher({
      ...parts,
      store: flaky,
      decoder: new RecordDecoder(snappy, fingerprinter),
      seriesRegistry: new SeriesRegistry(),
      logger: silentLogger,
      registry: new Registry(),
      maxBatchBytes: 1 << 20,
      idleIntervalMs: 20,
      maxBackoffMs: 50,
    })
    flusher.start()
    for (let i = 0; i < 10; i++) await parts.wal.append(record('retry_loop', i))
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline && (await scalar(`SELECT count() FROM samples WHERE metric_name = 'retry_loop'`)) !== '100') await new Promise((r) => setTimeout(r, 50))
    await flusher.stop({ drain: true })
    expect(await scalar(`SELECT count() FROM samples WHERE metric_name = 'retry_loop'`)).toBe('100')
    await parts.wal.close()
  })
})

describe('sample values', () => {
  it('keeps every float bit-exact, stale markers and NaN payloads included', async () => {
    const bits = ['7ff0000000000002', '7ff8000000000001', '7ff8000000000000', '7ff0000000000000', 'fff0000000000000', '8000000000000000', '0000000000000001', '7fefffffffffffff', '3fb999999999999a', '0000000000000000']
    const view = new DataView(new ArrayBuffer(8))
    const samples: Sample[] = bits.map((hex, i) => {
      view.setBigUint64(0, BigInt('0x' + hex))
      const value = view.getFloat64(0)
      return { timestampMs: T0 + i, value, nanBits: Number.isNaN(value) ? BigInt('0x' + hex) : undefined }
    })
    const labels = [{ name: '__name__', value: 'bits_exact' }]
    await new ClickHouseSampleStore(store.insertRaw).insertSamples([{ ref: { id: fingerprinter.fingerprint(labels), metricName: 'bits_exact', labels }, samples }], 'bits-exact-1')
    const got = await scalar(`SELECT arrayStringConcat(groupArray(leftPad(lower(hex(reinterpretAsUInt64(value))), 16, '0')), ',') FROM (SELECT value FROM samples WHERE metric_name = 'bits_exact' ORDER BY timestamp)`)
    expect(got.split(',')).toEqual(bits)
  })

  it('keeps metric names with characters TSV must escape', async () => {
    const name = 'odd\tname\\with\nescapes'
    const labels = [{ name: '__name__', value: name }]
    await new ClickHouseSampleStore(store.insertRaw).insertSamples([{ ref: { id: 1n, metricName: name, labels }, samples: [{ timestampMs: T0, value: 1 }] }], 'escapes-1')
    const rs = await store.readWrite.query({ query: `SELECT count() AS n FROM samples WHERE metric_name = {name:String}`, query_params: { name }, format: 'JSONEachRow' })
    expect(await rs.json()).toEqual([{ n: 1 }])
  })
})
