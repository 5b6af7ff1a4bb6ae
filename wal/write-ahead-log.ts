/**
 * The durable local write-ahead log of the embedded deployment: the adapter's
 * Sink appends each accepted batch and answers 2xx only once `append` resolves (the bytes
 * are fdatasync'ed); the flusher reads ranges back, inserts them into ClickHouse with a
 * dedup token built from `id` and the range, and then drops whole segments. See
 * wal/README.md for the file format and the recovery rules.
 *
 * Group commit: appends queue up while a write + fsync is in progress; the next round
 * takes the whole queue and writes it with one writev per segment, then one fsync, so N
 * concurrent appenders cost about one fsync, not N (figures in wal/README.md).
 */
import { randomUUID } from 'node:crypto'
import { mkdir, open, readFile, rm, type FileHandle } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { PayloadTooLargeError } from '../errors/http-errors.js'
import { writeFileAtomic, removeLeftoverTmp, syncDir } from './atomic-file.js'
import { WalFullError, WalPositionError, WalUnavailableError } from './errors.js'
import { createJsonLogger, type Logger } from '../observability/logger.js'
import { noopWalMetrics, type WalMetrics } from './metrics.js'
import { comparePositions, formatPosition, type WalPosition } from './position.js'
import { MAX_RECORD_BYTES, RECORD_HEADER_BYTES, encodeRecordHeader } from './record.js'
import { findRecordAfter, listSegments, scanSegment, segmentFileName, type SegmentFile, type ScanStop } from './segment.js'

export { WalFullError, WalPositionError, WalUnavailableError } from './errors.js'
export type { WalPosition } from './position.js'

export interface WalOptions {
  dir: string
  /** A segment file is closed once the next record would take it past this size. Default 64 MiB. */
  segmentBytes?: number
  /** Appends are refused (WalFullError) while segments + queued records would exceed this. Default 2 GiB. */
  maxBytes?: number
  /** fdatasync before acknowledging. Default true; false only for tests and benchmarks. */
  fsync?: boolean
  /** Wait this long before each write round to gather more appends. Default 0: batches form while an fsync runs. */
  groupCommitMaxDelayMs?: number
  /**
   * After a failed write the log reopens itself after this long, doubling up to 30 s while
   * reopening fails. Default 1000 ms.
   */
  reopenDelayMs?: number
  logger?: Logger
  metrics?: WalMetrics
}

export interface WalReadLimits {
  /** At most this many records (at least 1 is returned when one is available). */
  maxRecords: number
  /** At most this many payload bytes, except that a first record larger than this is returned alone. */
  maxBytes: number
  /**
   * Stop before this position. Re-reading an in-flight batch after a restart must pass the
   * batch's recorded end here: `from` + limits alone give the same records only while the
   * log has not grown past where the first read stopped.
   */
  until?: WalPosition
}

export interface WalRecord {
  position: WalPosition
  data: Uint8Array
}

interface PendingAppend {
  header: Buffer
  payload: Uint8Array
  resolve(position: WalPosition): void
  reject(err: unknown): void
}

/** Records of one write round that land in one segment file. */
interface Run {
  segment: number
  offset: number
  isNew: boolean
  buffers: Uint8Array[]
  bytes: number
  appends: { pending: PendingAppend; position: WalPosition }[]
}

const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024
const DEFAULT_MAX_BYTES = 2 * 1024 * 1024 * 1024
const ID_FILE = 'wal-id'
const MAX_REOPEN_DELAY_MS = 30_000

/**
 * Errors of the process or the machine, not of the bytes: too many open files, no memory, an
 * interrupted or busy call, an I/O error that may pass. Reading a segment that fails with one
 * of these is retried by the caller; treating it as corruption would skip acknowledged
 * records (seen: 20,000 idle connections took every descriptor and a read skipped a record
 * for EMFILE).
 */
const TRANSIENT_IO_CODES = new Set(['EMFILE', 'ENFILE', 'ENOMEM', 'EAGAIN', 'EBUSY', 'EINTR', 'EIO', 'ENOSPC', 'EDQUOT', 'ETIMEDOUT'])

export function isTransientIoError(err: unknown): boolean {
  return TRANSIENT_IO_CODES.has((err as NodeJS.ErrnoException | undefined)?.code ?? '')
}

export class WriteAheadLog {
  private readonly dir: string
  private readonly segmentBytes: number
  private readonly maxBytes: number
  private readonly fsync: boolean
  private readonly delayMs: number
  private readonly reopenDelayMs: number
  private readonly logger: Logger
  private readonly metrics: WalMetrics

  /** Segment files on disk in log order; the last one is the one appended to. */
  private segments: SegmentFile[]
  private active: FileHandle
  /** Position after the last fsynced record: what end() reports and read() may see. */
  private durable: WalPosition
  private diskBytes: number
  /**
   * Bytes still on disk before the last removeBefore position: already flushed, kept only
   * because their segment is the one being appended to. They do not count against maxBytes,
   * or a log whose active segment reached maxBytes would refuse appends forever.
   */
  private releasedBytes = 0
  private queue: PendingAppend[] = []
  /** Framed bytes accepted but not yet on disk (queued or being written): they count against maxBytes. */
  private queuedBytes = 0
  private flushing = false
  private flushDone: Promise<void> = Promise.resolve()
  private failure: Error | undefined
  /** Pending self-reopen after a failed write, and how many attempts failed in a row. */
  private reopenTimer: NodeJS.Timeout | undefined
  private reopenFailures = 0
  private closed = false
  /** Set when a read found a bad record in the active segment: start a new one. */
  private rollBeforeNextWrite = false
  /** Positions already counted as corrupt, so re-reads do not count them again. */
  private readonly reported: Set<string>

  private constructor(
    opts: WalOptions,
    readonly id: string,
    segments: SegmentFile[],
    active: FileHandle,
    reported: Set<string>,
  ) {
    this.dir = opts.dir
    this.segmentBytes = opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES
    this.maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES
    this.fsync = opts.fsync ?? true
    this.delayMs = opts.groupCommitMaxDelayMs ?? 0
    this.reopenDelayMs = opts.reopenDelayMs ?? 1000
    this.logger = opts.logger ?? createJsonLogger('info', undefined, 'wal')
    this.metrics = opts.metrics ?? noopWalMetrics
    this.segments = segments
    this.active = active
    const last = segments[segments.length - 1]
    this.durable = { segment: last.segment, offset: last.size }
    this.diskBytes = segments.reduce((sum, s) => sum + s.size, 0)
    this.reported = reported
    this.metrics.setSize(this.diskBytes, this.segments.length)
  }

  /**
   * Opens (creating if needed) the log in `opts.dir` and recovers it: the last segment is
   * scanned; a torn tail (a bad record with no valid record after it: a crash during a
   * write that was never acknowledged) is truncated; a bad record followed by valid ones
   * is reported and the segment is left as it is, new appends going to a fresh segment.
   * Earlier segments are checked as they are read.
   */
  static async open(opts: WalOptions): Promise<WriteAheadLog> {
    validateOptions(opts)
    const logger = opts.logger ?? createJsonLogger('info', undefined, 'wal')
    const metrics = opts.metrics ?? noopWalMetrics
    const created = await mkdir(opts.dir, { recursive: true })
    if (created !== undefined) {
      await syncDir(dirname(created))
      await syncDir(dirname(opts.dir))
    }
    const segments = await listSegments(opts.dir)
    const id = await readOrCreateId(opts.dir, segments.length > 0, logger)
    const reported = new Set<string>()
    const report = (position: WalPosition, reason: string, fields: object = {}): void => {
      reported.add(formatPosition(position))
      metrics.incCorruptRecords()
      logger.error('wal: unreadable record skipped', { dir: opts.dir, position: formatPosition(position), reason, ...fields })
    }

    if (segments.length === 0) {
      const active = await createSegment(opts.dir, 0)
      return new WriteAheadLog(opts, id, [{ segment: 0, size: 0 }], active, reported)
    }

    const last = segments[segments.length - 1]
    const recovered = await recoverLastSegment(opts.dir, last, logger, report)
    if (recovered.kind === 'continue') {
      last.size = recovered.size
      return new WriteAheadLog(opts, id, segments, recovered.file, reported)
    }
    const next = last.segment + 1
    const active = await createSegment(opts.dir, next)
    segments.push({ segment: next, size: 0 })
    logger.warn('wal: last segment left as found, appending to a new one', {
      dir: opts.dir,
      sealed: last.segment,
      segment: next,
    })
    return new WriteAheadLog(opts, id, segments, active, reported)
  }

  /**
   * Appends one record. Resolves with its position once it is on disk (fdatasync'ed);
   * rejects with WalFullError while the log holds `maxBytes`, and with WalUnavailableError
   * once closed or after a failed write.
   */
  append(record: Uint8Array): Promise<WalPosition> {
    if (this.closed) return Promise.reject(new WalUnavailableError(`write-ahead log: closed`))
    if (this.failure) {
      return Promise.reject(new WalUnavailableError(`write-ahead log: failed earlier, reopen it`, { cause: this.failure }))
    }
    const framed = RECORD_HEADER_BYTES + record.byteLength
    if (record.byteLength > MAX_RECORD_BYTES || framed > this.maxBytes) {
      return Promise.reject(
        new PayloadTooLargeError(`write-ahead log: record of ${record.byteLength} bytes can never fit (limit ${this.maxBytes})`),
      )
    }
    if (this.diskBytes + this.queuedBytes + framed > this.maxBytes) {
      const held = this.diskBytes - this.releasedBytes
      if (held + this.queuedBytes + framed > this.maxBytes) {
        return Promise.reject(
          new WalFullError(
            `write-ahead log: full: ${held} unflushed bytes + ${this.queuedBytes} queued + ${framed} new > ${this.maxBytes}`,
          ),
        )
      }
      // Only flushed bytes stand in the way: start a new segment so that the next
      // removeBefore can delete the flushed one.
      this.rollBeforeNextWrite = true
    }
    return new Promise<WalPosition>((resolve, reject) => {
      this.queue.push({ header: encodeRecordHeader(record), payload: record, resolve, reject })
      this.queuedBytes += framed
      this.startFlushing()
    })
  }

  /**
   * Reads durable records from `from` on. Deterministic: the same `from` and limits over
   * the same log bytes give the same records and `next`. A bad record ends its segment for
   * readers: it is reported once and reading goes on at the next segment.
   */
  async read(from: WalPosition, limits: WalReadLimits): Promise<{ records: WalRecord[]; next: WalPosition }> {
    const first = this.segments[0]
    if (from.segment < first.segment) throw new WalPositionError(`write-ahead log: position before the log's start`, from)
    if (comparePositions(from, this.durable) > 0 && from.offset !== 0) {
      throw new WalPositionError(`write-ahead log: position past the log's end ${formatPosition(this.durable)}`, from)
    }
    const records: WalRecord[] = []
    let bytes = 0
    let pos: WalPosition = { ...from }
    const budgetLeft = (): boolean =>
      records.length < limits.maxRecords && (limits.until === undefined || comparePositions(pos, limits.until) < 0)

    while (budgetLeft()) {
      const seg = this.segments.find((s) => s.segment >= pos.segment)
      if (seg === undefined) break
      if (seg.segment > pos.segment) pos = { segment: seg.segment, offset: 0 }
      if (!budgetLeft()) break
      const limit = this.readableEnd(seg)
      if (pos.offset >= limit) {
        if (seg.segment >= this.durable.segment) break
        pos = { segment: seg.segment + 1, offset: 0 }
        continue
      }
      const segment = seg.segment
      const untilOffset = limits.until && limits.until.segment === segment ? Math.min(limit, limits.until.offset) : limit
      let stop: ScanStop
      try {
        const file = await open(join(this.dir, segmentFileName(segment)), 'r')
        try {
          const scanned = await scanSegment(file, pos.offset, untilOffset, {
            admit: (length) =>
              records.length < limits.maxRecords && (records.length === 0 || bytes + length <= limits.maxBytes),
            record: (offset, data) => {
              records.push({ position: { segment, offset }, data })
              bytes += data.byteLength
            },
          })
          pos = { segment, offset: scanned.next }
          stop = scanned.stop
        } finally {
          await file.close()
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !this.segments.includes(seg)) {
          throw new WalPositionError(`write-ahead log: segment removed while reading`, pos)
        }
        // Nothing is wrong with the bytes: the caller retries the same position later.
        if (isTransientIoError(err)) {
          throw new WalUnavailableError(`write-ahead log: cannot read segment ${segment} now: ${String(err)}`, { cause: err })
        }
        stop = { kind: 'corrupt', offset: pos.offset, reason: `segment unreadable: ${String(err)}` }
      }
      if (stop.kind === 'limit') break
      if (stop.kind === 'end') {
        if (untilOffset < limit) break
        continue
      }
      this.reportUnreadable({ segment, offset: stop.offset }, stop.reason)
      if (segment === this.durable.segment) this.rollBeforeNextWrite = true
      pos = { segment: segment + 1, offset: 0 }
    }
    return { records, next: pos }
  }

  /** Position after the last durable record. */
  end(): WalPosition {
    return { ...this.durable }
  }

  /** First position still on disk. */
  start(): WalPosition {
    return { segment: this.segments[0].segment, offset: 0 }
  }

  /**
   * Deletes the segment files that lie wholly before `pos` (every segment numbered below
   * pos.segment), never the one being appended to.
   */
  async removeBefore(pos: WalPosition): Promise<void> {
    const doomed = this.segments.filter((s) => s.segment < pos.segment && s.segment < this.durable.segment)
    if (doomed.length === 0) {
      this.releasedBytes = this.bytesBefore(pos)
      return
    }
    // Until the files are gone, count nothing as released: an append in between errs on the safe side.
    this.releasedBytes = 0
    for (const seg of doomed) {
      await rm(join(this.dir, segmentFileName(seg.segment)), { force: true })
      this.segments = this.segments.filter((s) => s !== seg)
      this.diskBytes -= seg.size
    }
    this.releasedBytes = this.bytesBefore(pos)
    await syncDir(this.dir)
    this.metrics.setSize(this.diskBytes, this.segments.length)
    this.logger.info('wal: segments removed', {
      dir: this.dir,
      from: doomed[0].segment,
      to: doomed[doomed.length - 1].segment,
    })
  }

  /** Bytes on disk before `pos`. */
  private bytesBefore(pos: WalPosition): number {
    let bytes = 0
    for (const s of this.segments) {
      if (s.segment < pos.segment) bytes += s.size
      else if (s.segment === pos.segment) bytes += Math.min(pos.offset, s.size)
    }
    return bytes
  }

  /** False from a failed write or fsync until the log has reopened itself. */
  get writable(): boolean {
    return !this.closed && this.failure === undefined
  }

  sizeBytes(): number {
    return this.diskBytes
  }

  /** Waits for queued appends to be written, then closes. Further appends reject. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearTimeout(this.reopenTimer)
    while (this.flushing) await this.flushDone
    await this.active.close().catch((err: unknown) => {
      if (!this.failure) throw err // after a failed write the handle may be unusable already
    })
  }

  /** How far readers may go in `seg`: its size, or the durable end for the active one. */
  private readableEnd(seg: SegmentFile): number {
    if (seg.segment < this.durable.segment) return seg.size
    if (seg.segment === this.durable.segment) return this.durable.offset
    return 0
  }

  private reportUnreadable(position: WalPosition, reason: string, fields: object = {}): void {
    const key = formatPosition(position)
    if (this.reported.has(key)) return
    this.reported.add(key)
    this.metrics.incCorruptRecords()
    this.logger.error('wal: unreadable record skipped', { dir: this.dir, position: key, reason, ...fields })
  }

  private startFlushing(): void {
    if (this.flushing) return
    this.flushing = true
    this.flushDone = this.flushLoop()
  }

  /** Write rounds until the queue is empty. Never rejects: failures reject the appends. */
  private async flushLoop(): Promise<void> {
    try {
      if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs))
      while (this.queue.length > 0) {
        const batch = this.queue
        this.queue = []
        if (this.failure) {
          const err = new WalUnavailableError(`write-ahead log: failed earlier, reopen it`, { cause: this.failure })
          for (const p of batch) {
            this.queuedBytes -= RECORD_HEADER_BYTES + p.payload.byteLength
            p.reject(err)
          }
          continue
        }
        await this.writeRound(batch)
      }
    } finally {
      // Synchronous after the last queue check: an append cannot slip in between.
      this.flushing = false
    }
  }

  private scheduleReopen(): void {
    const delay = Math.min(MAX_REOPEN_DELAY_MS, this.reopenDelayMs * 2 ** Math.min(this.reopenFailures, 15))
    this.reopenTimer = setTimeout(() => void this.reopen(), delay)
    this.reopenTimer.unref()
  }

  /**
   * Back to a known state after a failed write: the acknowledged records all lie before
   * `durable`, so whatever the failed round left after it (in the active segment, or in a
   * segment file it created) was never acknowledged and is cut off. A fresh handle, a
   * truncate and an fdatasync re-read what the disk really holds (after a failed fsync the
   * old handle's page cache cannot be trusted). Appends rejected meanwhile are retried by
   * their senders; no record is lost or reordered.
   */
  private async reopen(): Promise<void> {
    this.reopenTimer = undefined
    if (this.closed || this.failure === undefined) return
    while (this.flushing) await this.flushDone
    try {
      await this.active.close().catch(() => {})
      await rm(join(this.dir, segmentFileName(this.durable.segment + 1)), { force: true })
      const file = await open(join(this.dir, segmentFileName(this.durable.segment)), 'r+')
      try {
        await file.truncate(this.durable.offset)
        await file.datasync()
        await syncDir(this.dir)
      } catch (err) {
        await file.close().catch(() => {})
        throw err
      }
      if (this.closed) {
        await file.close()
        return
      }
      this.active = file
      const cause = this.failure
      this.failure = undefined
      this.reopenFailures = 0
      this.metrics.incReopens()
      this.logger.warn('wal: reopened after a failed write, accepting appends again', {
        dir: this.dir,
        end: formatPosition(this.durable),
        failure: String(cause),
      })
    } catch (err) {
      this.reopenFailures++
      this.logger.error('wal: reopen failed, trying again', { dir: this.dir, attempts: this.reopenFailures, error: String(err) })
      this.scheduleReopen()
    }
  }

  private planRuns(batch: PendingAppend[]): Run[] {
    const runs: Run[] = []
    let segment = this.durable.segment
    let offset = this.durable.offset
    let run: Run | undefined
    for (const pending of batch) {
      const bytes = RECORD_HEADER_BYTES + pending.payload.byteLength
      const roll = offset > 0 && (offset + bytes > this.segmentBytes || (this.rollBeforeNextWrite && runs.length === 0))
      if (roll) {
        segment += 1
        offset = 0
        run = undefined
      }
      if (run === undefined) {
        run = { segment, offset, isNew: roll, buffers: [], bytes: 0, appends: [] }
        runs.push(run)
      }
      run.buffers.push(pending.header, pending.payload)
      run.appends.push({ pending, position: { segment, offset } })
      run.bytes += bytes
      offset += bytes
    }
    return runs
  }

  private async writeRound(batch: PendingAppend[]): Promise<void> {
    const runs = this.planRuns(batch)
    for (let i = 0; i < runs.length; i++) {
      const run = runs[i]
      try {
        await this.writeRun(run)
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err))
        if (!this.failure) {
          this.failure = error
          this.logger.error('wal: write failed, refusing appends until reopened', {
            dir: this.dir,
            segment: run.segment,
            offset: run.offset,
            error: String(err),
          })
          this.scheduleReopen()
        }
        const rejection = new WalUnavailableError(`write-ahead log: write failed`, { cause: error })
        for (const later of runs.slice(i)) {
          this.queuedBytes -= later.bytes
          for (const a of later.appends) a.pending.reject(rejection)
        }
        return
      }
      for (const a of run.appends) a.pending.resolve(a.position)
    }
  }

  /** One writev + fdatasync of a run; a new segment file is created first and its directory entry synced. */
  private async writeRun(run: Run): Promise<void> {
    let file = this.active
    if (run.isNew) {
      file = await createSegment(this.dir, run.segment)
      this.rollBeforeNextWrite = false
    }
    try {
      await writeAll(file, run.buffers, run.offset)
      if (this.fsync) {
        const t0 = process.hrtime.bigint()
        await file.datasync()
        this.metrics.observeFsync(Number(process.hrtime.bigint() - t0) / 1e9)
      }
    } catch (err) {
      if (run.isNew) await file.close().catch(() => {})
      throw err
    }
    if (run.isNew) {
      const previous = this.active
      this.active = file
      this.segments.push({ segment: run.segment, size: 0 })
      await previous.close()
    }
    this.segments[this.segments.length - 1].size = run.offset + run.bytes
    this.durable = { segment: run.segment, offset: run.offset + run.bytes }
    this.diskBytes += run.bytes
    this.queuedBytes -= run.bytes
    this.metrics.observeAppends(run.appends.length, run.bytes - RECORD_HEADER_BYTES * run.appends.length)
    this.metrics.setSize(this.diskBytes, this.segments.length)
  }
}

function validateOptions(opts: WalOptions): void {
  const positive = (name: string, v: number | undefined): void => {
    if (v !== undefined && !(Number.isSafeInteger(v) && v > 0)) {
      throw new RangeError(`wal options: ${name} must be a positive integer, got ${String(v)}`)
    }
  }
  positive('segmentBytes', opts.segmentBytes)
  positive('maxBytes', opts.maxBytes)
  if (opts.reopenDelayMs !== undefined && !(opts.reopenDelayMs >= 0)) {
    throw new RangeError(`wal options: reopenDelayMs must be >= 0, got ${opts.reopenDelayMs}`)
  }
  if (opts.groupCommitMaxDelayMs !== undefined && !(opts.groupCommitMaxDelayMs >= 0)) {
    throw new RangeError(`wal options: groupCommitMaxDelayMs must be >= 0, got ${opts.groupCommitMaxDelayMs}`)
  }
}

/** Creates an empty segment file and makes its directory entry durable. */
async function createSegment(dir: string, segment: number): Promise<FileHandle> {
  const file = await open(join(dir, segmentFileName(segment)), 'wx')
  await syncDir(dir)
  return file
}

async function readOrCreateId(dir: string, hasSegments: boolean, logger: Logger): Promise<string> {
  const path = join(dir, ID_FILE)
  await removeLeftoverTmp(dir, ID_FILE)
  try {
    const id = (await readFile(path, 'utf8')).trim()
    if (id.length > 0) return id
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const id = randomUUID()
  if (hasSegments) {
    logger.warn('wal: id file missing beside existing segments, made a new id', { dir, id })
  }
  await writeFileAtomic(path, id + '\n')
  return id
}

type Recovery = { kind: 'continue'; file: FileHandle; size: number } | { kind: 'seal' }

/** Scans the last segment and decides: truncate a torn tail and go on appending, or leave it and start a new one. */
async function recoverLastSegment(
  dir: string,
  last: SegmentFile,
  logger: Logger,
  report: (position: WalPosition, reason: string, fields?: object) => void,
): Promise<Recovery> {
  let file: FileHandle
  try {
    file = await open(join(dir, segmentFileName(last.segment)), 'r+')
  } catch (err) {
    if (isTransientIoError(err)) throw err
    report({ segment: last.segment, offset: 0 }, 'segment unreadable', { error: String(err) })
    return { kind: 'seal' }
  }
  try {
    const size = (await file.stat()).size
    const { stop } = await scanSegment(file, 0, size, { admit: () => true, record: () => {} })
    if (stop.kind === 'end' || stop.kind === 'limit') return { kind: 'continue', file, size }
    // Torn tail or corruption? A crash mid-write damages only the last, unacknowledged
    // write, so a bad record with nothing valid after it is cut off. A valid record after
    // it may be acknowledged data: then the file is kept as found (readers still skip from
    // the bad record to the next segment, but nothing is destroyed) and reported. When the
    // search cannot tell (too much to search), keeping the file is the safe side.
    const position = { segment: last.segment, offset: stop.offset }
    const goodAfter = await findRecordAfter(file, stop.offset, size)
    if (goodAfter !== 'none') {
      report(position, stop.reason, { bytesAfter: size - stop.offset, nextGoodRecord: goodAfter })
      await file.close()
      return { kind: 'seal' }
    }
    await file.truncate(stop.offset)
    await file.datasync()
    logger.warn('wal: torn tail cut off (a write that was never acknowledged)', {
      dir,
      position: formatPosition(position),
      bytesCut: size - stop.offset,
      reason: stop.reason,
    })
    return { kind: 'continue', file, size: stop.offset }
  } catch (err) {
    await file.close().catch(() => {})
    if (isTransientIoError(err)) throw err
    report({ segment: last.segment, offset: 0 }, 'segment unreadable', { error: String(err) })
    return { kind: 'seal' }
  }
}

/** writev until every byte is written (the kernel may write less than asked). */
async function writeAll(file: FileHandle, buffers: Uint8Array[], position: number): Promise<void> {
  let pending = buffers
  let at = position
  while (pending.length > 0) {
    const { bytesWritten } = await file.writev(pending, at)
    at += bytesWritten
    let skip = bytesWritten
    let i = 0
    while (i < pending.length && skip >= pending[i].byteLength) {
      skip -= pending[i].byteLength
      i++
    }
    pending = pending.slice(i)
    if (skip > 0) pending[0] = pending[0].subarray(skip)
    if (bytesWritten === 0 && pending.length > 0) throw new Error(`short write at ${at}`)
  }
}
