import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { PayloadTooLargeError, ServiceUnavailableError } from '../errors/http-errors.js'
import { createWalMetrics } from './metrics.js'
import { comparePositions } from './position.js'
import { RECORD_HEADER_BYTES } from './record.js'
import { countingMetrics, makePayload, makeTempDir, payloadNumber, readAll, recordingLogger } from './test-fixtures.js'
import { WalFullError, WalPositionError, WalUnavailableError, WriteAheadLog, type WalOptions } from './write-ahead-log.js'

let tmp: Awaited<ReturnType<typeof makeTempDir>>
beforeEach(async () => {
  tmp = await makeTempDir()
})
afterEach(async () => {
  await tmp.remove()
})

function openWal(opts: Partial<WalOptions> = {}): Promise<WriteAheadLog> {
  return WriteAheadLog.open({ dir: tmp.dir, logger: recordingLogger(), ...opts })
}

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => /^\d+$/.test(n)).sort()
}

describe('WriteAheadLog append and read', () => {
  const cases = [
    { name: 'small records in one segment', segmentBytes: 1 << 20, sizes: [10, 20, 30, 40] },
    { name: 'records across many segments', segmentBytes: 1000, sizes: Array.from({ length: 50 }, (_, i) => 50 + i * 7) },
    { name: 'a record bigger than a segment gets its own', segmentBytes: 500, sizes: [100, 2000, 100, 100, 3000, 10] },
    { name: 'records that exactly fill a segment', segmentBytes: 2 * (RECORD_HEADER_BYTES + 91), sizes: [91, 91, 91, 91, 91] },
  ]
  for (const c of cases) {
    it(`round-trips ${c.name}`, async () => {
      const wal = await openWal({ segmentBytes: c.segmentBytes })
      const positions = []
      for (const [i, size] of c.sizes.entries()) positions.push(await wal.append(makePayload(i, size)))
      const records = await readAll(wal)
      expect(records.map((r) => payloadNumber(r.data))).toEqual(c.sizes.map((_, i) => i))
      expect(records.map((r) => r.position)).toEqual(positions)
      for (let i = 1; i < positions.length; i++) expect(comparePositions(positions[i - 1], positions[i])).toBeLessThan(0)
      for (const [i, p] of positions.entries()) {
        const framed = RECORD_HEADER_BYTES + Math.max(8, c.sizes[i])
        // A record starts a new segment only when it would not fit in the current one.
        if (p.offset > 0) expect(p.offset + framed).toBeLessThanOrEqual(c.segmentBytes)
      }
      expect(wal.end()).toEqual(await wal.read(wal.start(), { maxRecords: 1e9, maxBytes: 1e9 }).then((r) => r.next))
      await wal.close()
    })
  }

  it('gives the same records and next for the same from and limits (read determinism)', async () => {
    const wal = await openWal({ segmentBytes: 4096 })
    for (let i = 0; i < 200; i++) await wal.append(makePayload(i, 100 + ((i * 37) % 300)))
    const limitsList = [
      { maxRecords: 1, maxBytes: 1 << 20 },
      { maxRecords: 13, maxBytes: 1 << 20 },
      { maxRecords: 1000, maxBytes: 2000 },
      { maxRecords: 1000, maxBytes: 1 },
    ]
    for (const limits of limitsList) {
      let pos = wal.start()
      while (comparePositions(pos, wal.end()) < 0) {
        const a = await wal.read(pos, limits)
        const b = await wal.read(pos, limits)
        expect(b).toEqual(a)
        expect(a.records.length).toBeGreaterThan(0)
        expect(a.records.length).toBeLessThanOrEqual(limits.maxRecords)
        const bytes = a.records.reduce((s, r) => s + r.data.byteLength, 0)
        if (a.records.length > 1) expect(bytes).toBeLessThanOrEqual(limits.maxBytes)
        // `until` rebuilds exactly the same batch even with looser limits and a grown log.
        const again = await wal.read(pos, { maxRecords: 1e9, maxBytes: 1e9, until: a.next })
        expect(again).toEqual(a)
        pos = a.next
      }
    }
    await wal.close()
  })

  it('stops a read at the durable end and continues from next once more is appended', async () => {
    const wal = await openWal({ segmentBytes: 300 })
    await wal.append(makePayload(0, 100))
    const first = await wal.read(wal.start(), { maxRecords: 100, maxBytes: 1 << 20 })
    expect(first.records).toHaveLength(1)
    expect(first.next).toEqual(wal.end())
    for (let i = 1; i < 10; i++) await wal.append(makePayload(i, 100))
    const rest = await readAll(wal, first.next)
    expect(rest.map((r) => payloadNumber(r.data))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9])
    await wal.close()
  })

  it('refuses positions before the start and past the end', async () => {
    const wal = await openWal({ segmentBytes: 100 })
    for (let i = 0; i < 5; i++) await wal.append(makePayload(i, 80))
    await wal.removeBefore({ segment: 2, offset: 0 })
    await expect(wal.read({ segment: 1, offset: 0 }, { maxRecords: 1, maxBytes: 1 })).rejects.toBeInstanceOf(WalPositionError)
    const end = wal.end()
    await expect(wal.read({ ...end, offset: end.offset + 1 }, { maxRecords: 1, maxBytes: 1 })).rejects.toBeInstanceOf(
      WalPositionError,
    )
    await wal.close()
  })
})

describe('WriteAheadLog group commit', () => {
  it('shares fsyncs between concurrent appends and resolves every one', async () => {
    const metrics = countingMetrics()
    const wal = await openWal({ metrics, segmentBytes: 256 * 1024 })
    const n = 500
    const positions = await Promise.all(Array.from({ length: n }, (_, i) => wal.append(makePayload(i, 1000))))
    expect(new Set(positions.map((p) => `${p.segment}:${p.offset}`)).size).toBe(n)
    expect(metrics.appends).toBe(n)
    expect(metrics.fsyncs).toBeLessThan(n / 10)
    expect(metrics.fsyncs).toBe(metrics.writes)
    const records = await readAll(wal)
    expect(records.map((r) => payloadNumber(r.data))).toEqual(Array.from({ length: n }, (_, i) => i))
    await wal.close()
  })

  it('waits groupCommitMaxDelayMs to gather appends into one write', async () => {
    const metrics = countingMetrics()
    const wal = await openWal({ metrics, groupCommitMaxDelayMs: 20 })
    const appends = [wal.append(makePayload(0, 10))]
    await new Promise((r) => setTimeout(r, 5))
    appends.push(wal.append(makePayload(1, 10)), wal.append(makePayload(2, 10)))
    await Promise.all(appends)
    expect(metrics.writes).toBe(1)
    await wal.close()
  })

  it('with fsync off still writes in rounds and never fsyncs', async () => {
    const metrics = countingMetrics()
    const wal = await openWal({ metrics, fsync: false })
    await Promise.all(Array.from({ length: 50 }, (_, i) => wal.append(makePayload(i, 100))))
    expect(metrics.fsyncs).toBe(0)
    expect((await readAll(wal)).length).toBe(50)
    await wal.close()
  })
})

describe('WriteAheadLog lifecycle', () => {
  it('reopens after a clean close with the same id, records and end', async () => {
    const wal = await openWal({ segmentBytes: 2000 })
    for (let i = 0; i < 40; i++) await wal.append(makePayload(i, 150))
    const { id } = wal
    const end = wal.end()
    await wal.close()
    const logger = recordingLogger()
    const again = await WriteAheadLog.open({ dir: tmp.dir, segmentBytes: 2000, logger })
    expect(again.id).toBe(id)
    expect(again.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(again.end()).toEqual(end)
    expect((await readAll(again)).map((r) => payloadNumber(r.data))).toEqual(Array.from({ length: 40 }, (_, i) => i))
    expect(logger.lines.filter((l) => l.level !== 'info')).toEqual([])
    const p = await again.append(makePayload(40, 150))
    expect(comparePositions(p, end)).toBeGreaterThanOrEqual(0)
    await again.close()
  })

  it('flushes queued appends on close and rejects appends after it', async () => {
    const wal = await openWal()
    const pending = Array.from({ length: 20 }, (_, i) => wal.append(makePayload(i, 100)))
    await wal.close()
    await expect(Promise.all(pending)).resolves.toHaveLength(20)
    await expect(wal.append(makePayload(99, 10))).rejects.toBeInstanceOf(WalUnavailableError)
  })

  it('makes a different id for a different directory', async () => {
    const a = await openWal()
    const other = await makeTempDir()
    try {
      const b = await WriteAheadLog.open({ dir: join(other.dir, 'nested', 'wal'), logger: recordingLogger() })
      expect(b.id).not.toBe(a.id)
      await b.close()
    } finally {
      await other.remove()
    }
    await a.close()
  })
})

describe('WriteAheadLog size limit and removeBefore', () => {
  it('rejects with WalFullError past maxBytes and accepts again after removeBefore', async () => {
    const framed = RECORD_HEADER_BYTES + 100
    const wal = await openWal({ segmentBytes: 3 * framed, maxBytes: 9 * framed })
    const positions = []
    for (let i = 0; i < 9; i++) positions.push(await wal.append(makePayload(i, 100)))
    expect(wal.sizeBytes()).toBe(9 * framed)
    const err = await wal.append(makePayload(9, 100)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(WalFullError)
    expect(err).toBeInstanceOf(ServiceUnavailableError)
    expect((err as WalFullError).status).toBe(503)
    expect((err as WalFullError).retryAfterSeconds).toBe(5)
    await wal.removeBefore(positions[4]) // inside segment 1: only segment 0 goes
    expect(wal.start()).toEqual({ segment: 1, offset: 0 })
    expect(wal.sizeBytes()).toBe(6 * framed)
    await expect(wal.append(makePayload(9, 100))).resolves.toEqual({ segment: 3, offset: 0 })
    expect((await readAll(wal)).map((r) => payloadNumber(r.data))).toEqual([3, 4, 5, 6, 7, 8, 9])
    await wal.close()
  })

  it('accepts appends again when maxBytes is reached inside the active segment and everything is flushed', async () => {
    const framed = RECORD_HEADER_BYTES + 100
    const wal = await openWal({ segmentBytes: 100 * framed, maxBytes: 5 * framed })
    for (let i = 0; i < 5; i++) await wal.append(makePayload(i, 100))
    await expect(wal.append(makePayload(5, 100))).rejects.toBeInstanceOf(WalFullError)
    await wal.removeBefore(wal.end()) // nothing to delete: the bytes are in the active segment
    // The flushed bytes no longer count; the log moves to a new segment so they can go.
    await expect(wal.append(makePayload(5, 100))).resolves.toEqual({ segment: 1, offset: 0 })
    await wal.removeBefore(wal.end())
    expect(await segmentFiles(tmp.dir)).toEqual(['00000001'])
    expect(wal.sizeBytes()).toBe(framed)
    await expect(wal.append(makePayload(6, 100))).resolves.toEqual({ segment: 1, offset: framed })
    await wal.close()
  })

  it('counts queued appends against maxBytes', async () => {
    const framed = RECORD_HEADER_BYTES + 100
    const wal = await openWal({ maxBytes: 5 * framed })
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => wal.append(makePayload(i, 100))))
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5)
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason)).toSatisfy(
      (reasons: unknown[]) => reasons.length === 3 && reasons.every((e) => e instanceof WalFullError),
    )
    await wal.close()
  })

  it('rejects a record that could never fit as too large', async () => {
    const wal = await openWal({ maxBytes: 1000 })
    await expect(wal.append(new Uint8Array(1000))).rejects.toBeInstanceOf(PayloadTooLargeError)
    await wal.close()
  })

  const removeCases = [
    { name: 'a position at a segment start', pos: { segment: 2, offset: 0 }, left: ['00000002', '00000003', '00000004'] },
    { name: 'a position inside a segment', pos: { segment: 3, offset: 109 }, left: ['00000003', '00000004'] },
    { name: 'the start', pos: { segment: 0, offset: 0 }, left: ['00000000', '00000001', '00000002', '00000003', '00000004'] },
    { name: 'a position past the end (keeps the active segment)', pos: { segment: 99, offset: 0 }, left: ['00000004'] },
  ]
  for (const c of removeCases) {
    it(`removeBefore ${c.name} deletes only whole earlier segments`, async () => {
      const framed = RECORD_HEADER_BYTES + 100
      const wal = await openWal({ segmentBytes: 2 * framed })
      for (let i = 0; i < 10; i++) await wal.append(makePayload(i, 100))
      expect(await segmentFiles(tmp.dir)).toHaveLength(5)
      await wal.removeBefore(c.pos)
      expect(await segmentFiles(tmp.dir)).toEqual(c.left)
      const sizes = await Promise.all(c.left.map((n) => stat(join(tmp.dir, n)).then((s) => s.size)))
      expect(wal.sizeBytes()).toBe(sizes.reduce((a, b) => a + b, 0))
      const first = Number(c.left[0])
      const records = await readAll(wal)
      expect(records.map((r) => payloadNumber(r.data))).toEqual(Array.from({ length: 10 - 2 * first }, (_, i) => 2 * first + i))
      await wal.close()
    })
  }
})

describe('WriteAheadLog metrics', () => {
  it('registers its metrics on the registry it is given', async () => {
    const registry = new Registry()
    const wal = await openWal({ metrics: createWalMetrics(registry), segmentBytes: 500 })
    await Promise.all(Array.from({ length: 10 }, (_, i) => wal.append(makePayload(i, 100))))
    const text = await registry.metrics()
    expect(text).toMatch(/^metrichouse_wal_appends_total 10$/m)
    expect(text).toMatch(/^metrichouse_wal_bytes 1090$/m)
    expect(text).toMatch(/^metrichouse_wal_segments 3$/m)
    expect(text).toMatch(/^metrichouse_wal_fsync_duration_seconds_count [1-9]\d*$/m)
    expect(text).toMatch(/^metrichouse_wal_corrupt_records_total 0$/m)
    await wal.close()
  })
})
