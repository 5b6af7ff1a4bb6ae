import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { RECORD_HEADER_BYTES } from './record.js'
import { segmentFileName } from './segment.js'
import { countingMetrics, makePayload, makeTempDir, payloadNumber, readAll, recordingLogger } from './test-fixtures.js'
import { WalUnavailableError, WriteAheadLog, type WalOptions, type WalPosition } from './write-ahead-log.js'

let tmp: Awaited<ReturnType<typeof makeTempDir>>
beforeEach(async () => {
  tmp = await makeTempDir()
})
afterEach(async () => {
  await tmp.remove()
})

const execFileAsync = promisify(execFile)
const PAYLOAD = 60
const FRAMED = RECORD_HEADER_BYTES + PAYLOAD

/** Writes records 0..count-1 of PAYLOAD bytes, closes, and returns their positions. */
async function writeLog(count: number, opts: Partial<WalOptions> = {}): Promise<WalPosition[]> {
  const wal = await WriteAheadLog.open({ dir: tmp.dir, logger: recordingLogger(), ...opts })
  const positions = []
  for (let i = 0; i < count; i++) positions.push(await wal.append(makePayload(i, PAYLOAD)))
  await wal.close()
  return positions
}

function segmentPath(segment: number): string {
  return join(tmp.dir, segmentFileName(segment))
}

/** Reopens, checks the records read back, appends one more and checks it survives another reopen. */
async function expectRecovered(expected: number[], opts: Partial<WalOptions> = {}) {
  const logger = recordingLogger()
  const metrics = countingMetrics()
  const wal = await WriteAheadLog.open({ dir: tmp.dir, logger, metrics, ...opts })
  expect((await readAll(wal)).map((r) => payloadNumber(r.data))).toEqual(expected)
  const p = await wal.append(makePayload(1000, PAYLOAD))
  await wal.close()
  const again = await WriteAheadLog.open({ dir: tmp.dir, logger: recordingLogger(), ...opts })
  const records = await readAll(again)
  expect(records.map((r) => payloadNumber(r.data))).toEqual([...expected, 1000])
  expect(records[records.length - 1].position).toEqual(p)
  await again.close()
  return { logger, metrics }
}

describe('recovery from a torn tail', () => {
  const layouts = [
    { name: 'in the middle of a segment', count: 5, segmentBytes: 1 << 20 },
    { name: 'alone at the start of a new segment', count: 5, segmentBytes: 4 * FRAMED },
  ]
  for (const layout of layouts) {
    it(`recovers every earlier record when the last record (${layout.name}) is cut at any byte`, async () => {
      const positions = await writeLog(layout.count, { segmentBytes: layout.segmentBytes })
      const last = positions[positions.length - 1]
      const original = await readFile(segmentPath(last.segment))
      expect(original.length).toBe(last.offset + FRAMED)
      const expected = Array.from({ length: layout.count - 1 }, (_, i) => i)
      for (let cut = last.offset; cut < original.length; cut++) {
        await writeFile(segmentPath(last.segment), original.subarray(0, cut))
        const { metrics, logger } = await expectRecovered(expected, { segmentBytes: layout.segmentBytes })
        expect(metrics.corrupt).toBe(0)
        if (cut > last.offset) expect(logger.lines.some((l) => l.msg.includes('torn tail'))).toBe(true)
      }
    })
  }

  it('cuts a last record whose bytes were zeroed from any offset on (file size already extended)', async () => {
    const positions = await writeLog(4)
    const last = positions[positions.length - 1]
    const original = await readFile(segmentPath(last.segment))
    for (let from = last.offset; from < original.length; from++) {
      const damaged = Buffer.from(original)
      damaged.fill(0, from)
      await writeFile(segmentPath(last.segment), damaged)
      const { metrics } = await expectRecovered([0, 1, 2])
      expect(metrics.corrupt).toBe(0)
    }
  })

  it('cuts trailing garbage longer than a record', async () => {
    await writeLog(3)
    const original = await readFile(segmentPath(0))
    await writeFile(segmentPath(0), Buffer.concat([original, randomBytes(5000)]))
    const { metrics } = await expectRecovered([0, 1, 2])
    expect(metrics.corrupt).toBe(0)
  })
})

describe('recovery from corruption', () => {
  it('skips from a bad CRC in the middle of a segment to the next segment, counting it once', async () => {
    const positions = await writeLog(12, { segmentBytes: 4 * FRAMED }) // segments 0,1,2 of 4 records
    const bad = positions[5] // segment 1, second record
    const file = await readFile(segmentPath(bad.segment))
    file[bad.offset + RECORD_HEADER_BYTES + 10] ^= 0xff
    await writeFile(segmentPath(bad.segment), file)

    const logger = recordingLogger()
    const metrics = countingMetrics()
    const wal = await WriteAheadLog.open({ dir: tmp.dir, segmentBytes: 4 * FRAMED, logger, metrics })
    const expected = [0, 1, 2, 3, 4, 8, 9, 10, 11]
    expect((await readAll(wal)).map((r) => payloadNumber(r.data))).toEqual(expected)
    expect((await readAll(wal)).map((r) => payloadNumber(r.data))).toEqual(expected)
    expect(metrics.corrupt).toBe(1)
    const errors = logger.lines.filter((l) => l.level === 'error')
    expect(errors).toHaveLength(1)
    expect(errors[0].fields).toMatchObject({ position: `${bad.segment}:${bad.offset}`, reason: 'CRC mismatch' })
    // The batch that ends at the bad record stops there; the next read starts at the next segment.
    const head = await wal.read(positions[4], { maxRecords: 100, maxBytes: 1 << 20 })
    expect(head.records.map((r) => payloadNumber(r.data))).toEqual([4, 8, 9, 10, 11])
    await wal.append(makePayload(12, PAYLOAD))
    await wal.close()
  })

  it('keeps a last segment with a bad record followed by good ones and appends to a new segment', async () => {
    const positions = await writeLog(6)
    const bad = positions[2]
    const file = await readFile(segmentPath(0))
    file[bad.offset + RECORD_HEADER_BYTES] ^= 0x01
    await writeFile(segmentPath(0), file)

    const { metrics, logger } = await expectRecovered([0, 1])
    expect(metrics.corrupt).toBe(1)
    expect(logger.lines.find((l) => l.level === 'error')?.fields).toMatchObject({
      position: `0:${bad.offset}`,
      nextGoodRecord: positions[3].offset,
    })
    expect(await readFile(segmentPath(0))).toEqual(file) // nothing destroyed
    expect((await readdir(tmp.dir)).filter((n) => /^\d+$/.test(n))).toEqual([segmentFileName(0), segmentFileName(1)])
  })

  const garbage = [
    { name: 'random bytes', bytes: () => randomBytes(3000) },
    { name: 'zeros', bytes: () => Buffer.alloc(3000) },
    { name: 'a header whose length runs past the end', bytes: () => Buffer.from([1, 2, 3, 4, 0xff, 0xff, 0xff, 0x7f, 1, 9]) },
  ]
  for (const g of garbage) {
    it(`reports a middle segment of ${g.name} and reads on from the next one`, async () => {
      await writeLog(12, { segmentBytes: 4 * FRAMED })
      await writeFile(segmentPath(1), g.bytes())
      const metrics = countingMetrics()
      const wal = await WriteAheadLog.open({ dir: tmp.dir, segmentBytes: 4 * FRAMED, logger: recordingLogger(), metrics })
      expect((await readAll(wal)).map((r) => payloadNumber(r.data))).toEqual([0, 1, 2, 3, 8, 9, 10, 11])
      expect(metrics.corrupt).toBe(1)
      await wal.close()
    })

    it(`opens when the last segment is ${g.name}, keeping the earlier segments`, async () => {
      await writeLog(8, { segmentBytes: 4 * FRAMED })
      await writeFile(segmentPath(2), g.bytes())
      await expectRecovered([0, 1, 2, 3, 4, 5, 6, 7], { segmentBytes: 4 * FRAMED })
    })
  }

  it('ignores files that are not segments', async () => {
    await writeLog(3)
    await writeFile(join(tmp.dir, 'notes.txt'), 'hello')
    await writeFile(join(tmp.dir, '12.tmp'), 'x')
    await expectRecovered([0, 1, 2])
  })

  it('reads on past a gap in segment numbers', async () => {
    await writeLog(12, { segmentBytes: 4 * FRAMED })
    await rm(segmentPath(1))
    await expectRecovered([0, 1, 2, 3, 8, 9, 10, 11], { segmentBytes: 4 * FRAMED })
  })
})

describe('failures while running', () => {
  it('skips a record corrupted under the open log and starts a new segment for the next appends', async () => {
    const metrics = countingMetrics()
    const wal = await WriteAheadLog.open({ dir: tmp.dir, logger: recordingLogger(), metrics })
    const positions = []
    for (let i = 0; i < 4; i++) positions.push(await wal.append(makePayload(i, PAYLOAD)))
    const file = await readFile(segmentPath(0))
    file[positions[2].offset + RECORD_HEADER_BYTES + 3] ^= 0x40
    await writeFile(segmentPath(0), file)
    const { records, next } = await wal.read(wal.start(), { maxRecords: 100, maxBytes: 1 << 20 })
    expect(records.map((r) => payloadNumber(r.data))).toEqual([0, 1])
    expect(next).toEqual({ segment: 1, offset: 0 })
    expect(metrics.corrupt).toBe(1)
    expect(await wal.append(makePayload(4, PAYLOAD))).toEqual({ segment: 1, offset: 0 })
    expect((await readAll(wal, next)).map((r) => payloadNumber(r.data))).toEqual([4])
    await wal.close()
  })

  it('refuses appends after a failed write instead of acknowledging data it may not hold', async () => {
    const logger = recordingLogger()
    const wal = await WriteAheadLog.open({ dir: tmp.dir, logger })
    await wal.append(makePayload(0, PAYLOAD))
    // Break the segment's file handle behind the log's back: the next write fails (EBADF).
    await (wal as unknown as { active: { close(): Promise<void> } }).active.close()
    await expect(wal.append(makePayload(1, PAYLOAD))).rejects.toBeInstanceOf(WalUnavailableError)
    await expect(wal.append(makePayload(2, PAYLOAD))).rejects.toBeInstanceOf(WalUnavailableError)
    expect(logger.lines.some((l) => l.level === 'error' && l.msg.includes('write failed'))).toBe(true)
    await wal.close().catch(() => {})
    await expectRecovered([0])
  })
})

describe('self-healing', () => {
  it('reopens itself after a failed write and keeps every acknowledged record in order', async () => {
    const metrics = countingMetrics()
    const wal = await WriteAheadLog.open({ dir: tmp.dir, logger: recordingLogger(), metrics, reopenDelayMs: 10 })
    await wal.append(makePayload(0, PAYLOAD))
    await (wal as unknown as { active: { close(): Promise<void> } }).active.close()
    await expect(wal.append(makePayload(1, PAYLOAD))).rejects.toBeInstanceOf(WalUnavailableError)
    expect(wal.writable).toBe(false)
    await vi.waitFor(() => expect(wal.writable).toBe(true), { timeout: 5000 })
    await wal.append(makePayload(2, PAYLOAD))
    expect((await readAll(wal)).map((r) => payloadNumber(r.data))).toEqual([0, 2])
    expect(metrics.reopens).toBe(1)
    await wal.close()
    await expectRecovered([0, 2])
  })

  it('neither skips a record nor stays broken when the process runs out of file descriptors', async () => {
    const fixture = fileURLToPath(new URL('./fd-exhaustion.fixture.ts', import.meta.url))
    const repoRoot = fileURLToPath(new URL('..', import.meta.url))
    const { stdout } = await execFileAsync('bash', ['-c', `ulimit -n 200 && exec "$0" --import tsx "$1" "$2"`, process.execPath, fixture, tmp.dir], {
      cwd: repoRoot,
      timeout: 60_000,
    })
    const lines = stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^exhausted \d+$/)
    expect(lines.slice(1)).toEqual([
      'read failed WalUnavailableError',
      'append failed WalUnavailableError',
      'writable true',
      'records 0,1,2,3,4,5,6,7,8,9,11',
      'corrupt 0 reopens 1',
    ])
  })
})
