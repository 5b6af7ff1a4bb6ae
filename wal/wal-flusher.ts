/**
 * Moves the write-ahead log into ClickHouse, exactly once.
 *
 * Each batch is a range [from, to) of the log. The range is written durably to the
 * checkpoint *before* the insert, and the insert carries the token `<wal id>:<from>-<to>`.
 * After a crash the recorded in-flight range is rebuilt record for record and inserted
 * again with the same token: if the first insert had landed, ClickHouse drops the repeat
 * (insert deduplication, test/integration/crash-restart.test.ts), so nothing is lost and nothing is stored twice. Only after the insert
 * is the range committed and the log's fully flushed segments deleted.
 */
import type { Registry } from 'prom-client'
import { Counter, Gauge, Histogram } from 'prom-client'
import type { Logger } from '../observability/logger.js'
import type { SampleStore } from '../store/sample-store.js'
import type { SeriesSamples } from '../store/rowbinary-encoder.js'
import { BatchLander, type BatchStage } from '../ingester/batch-lander.js'
import type { FlushCheckpoint } from './checkpoint.js'
import { comparePositions, type WalPosition } from './position.js'
import { decodeWalPayload } from './wal-payload.js'
import type { WalRecord, WriteAheadLog } from './write-ahead-log.js'
import type { RecentBatches } from './recent-batches.js'
import type { RecordDecoder } from '../ingester/record-decoder.js'
import type { SeriesRegistry } from '../ingester/series-registry.js'

export interface WalFlusherOptions {
  wal: WriteAheadLog
  checkpoint: FlushCheckpoint
  store: SampleStore
  decoder: RecordDecoder
  /** Batches appended by this process, already decoded (optional: else every record is decoded). */
  recent?: RecentBatches
  seriesRegistry: SeriesRegistry
  /** Rewrites each batch before it lands (stream aggregation). */
  stage?: BatchStage
  logger: Logger
  registry: Registry
  maxBatchBytes: number
  maxBatchRecords?: number
  idleIntervalMs: number
  /** Upper bound of the retry backoff after a failed insert. */
  maxBackoffMs?: number
}

function positionText(p: WalPosition): string {
  return `${p.segment}.${p.offset}`
}

class FlusherMetrics {
  readonly batches: Counter
  readonly samples: Counter
  readonly errors: Counter
  readonly batchSamples: Histogram
  readonly duration: Histogram
  readonly pendingBytes: Gauge
  readonly seriesWritten: Counter

  constructor(registry: Registry) {
    const registers = [registry]
    this.batches = new Counter({ name: 'metrichouse_flush_batches_total', help: 'WAL ranges inserted into ClickHouse', registers })
    this.samples = new Counter({ name: 'metrichouse_flush_samples_total', help: 'Samples inserted into ClickHouse by the WAL flusher', registers })
    this.errors = new Counter({ name: 'metrichouse_flush_errors_total', help: 'Failed flush attempts (ClickHouse errors); the range is retried with the same token', registers })
    this.seriesWritten = new Counter({ name: 'metrichouse_flush_series_rows_total', help: 'Rows written to the series table', registers })
    this.batchSamples = new Histogram({
      name: 'metrichouse_flush_batch_samples',
      help: 'Samples per ClickHouse insert',
      buckets: [100, 1000, 10_000, 50_000, 100_000, 250_000, 500_000, 1_000_000],
      registers,
    })
    this.duration = new Histogram({
      name: 'metrichouse_flush_duration_seconds',
      help: 'Time to read, encode and insert one WAL range',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    })
    this.pendingBytes = new Gauge({ name: 'metrichouse_flush_pending_bytes', help: 'WAL bytes on disk not yet flushed to ClickHouse (whole segments)', registers })
  }
}

export class WalFlusher {
  private readonly metrics: FlusherMetrics
  private loop?: Promise<void>
  private stopping = false
  private wake?: () => void
  private consecutiveFailures = 0
  private readonly lander: BatchLander

  constructor(private readonly opts: WalFlusherOptions) {
    this.metrics = new FlusherMetrics(opts.registry)
    this.lander = new BatchLander(opts.store, opts.seriesRegistry, opts.stage)
  }

  start(): void {
    if (this.loop) return
    this.loop = this.run()
  }

  /** Wakes an idle flusher at once (after an append) instead of at the next interval. */
  nudge(): void {
    this.wake?.()
  }

  /** Stops the loop; with `drain`, first flushes everything durable in the log (bounded by timeoutMs). */
  async stop({ drain, timeoutMs = 30_000 }: { drain: boolean; timeoutMs?: number }): Promise<void> {
    this.stopping = true
    this.nudge()
    await this.loop
    this.loop = undefined
    if (!drain) return
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline && comparePositions(this.opts.checkpoint.get().committed, this.opts.wal.end()) < 0) {
      try {
        await this.flushOnce()
      } catch (err) {
        this.opts.logger.error('flush during shutdown failed; the rest stays in the WAL for the next start', { err })
        return
      }
    }
  }

  /** Committed position: everything before it is in ClickHouse. */
  committed(): WalPosition {
    return this.opts.checkpoint.get().committed
  }

  /**
   * Flushes one range: the recorded in-flight range if there is one (recovery), else the
   * next records after the committed position. Returns the number of records flushed.
   */
  async flushOnce(): Promise<number> {
    const { wal, checkpoint } = this.opts
    const state = checkpoint.get()
    let from = state.committed
    if (comparePositions(from, wal.start()) < 0) from = wal.start()
    let records: WalRecord[]
    let to: WalPosition
    if (state.inFlight) {
      from = state.inFlight.from
      to = state.inFlight.to
      records = await this.readRange(from, to)
    } else {
      const read = await wal.read(from, { maxRecords: this.opts.maxBatchRecords ?? 100_000, maxBytes: this.opts.maxBatchBytes })
      if (read.records.length === 0) return 0
      records = read.records
      to = read.next
      await checkpoint.setInFlight(from, to)
    }
    const started = performance.now()
    const series: SeriesSamples[] = []
    for (const record of records) {
      const decoded = this.opts.recent?.take(record.position)
      if (decoded) {
        for (const s of decoded) series.push(s)
        continue
      }
      try {
        this.opts.decoder.decode(decodeWalPayload(record.data).writeRequestSnappy, series)
      } catch (err) {
        // A record that passed validation and CRC but does not decode is a bug, not input:
        // keep going so one bad record cannot stop the log, and say where it was.
        this.opts.logger.error('skipping undecodable WAL record', { position: positionText(record.position), err })
      }
    }
    const token = `${wal.id}:${positionText(from)}-${positionText(to)}`
    const { samples: rows, seriesRows } = await this.lander.land(series, token, { stream: wal.id, from: positionText(from), to: positionText(to) })
    await checkpoint.commit(to)
    await wal.removeBefore(to)
    this.opts.recent?.dropBefore(to)
    this.metrics.batches.inc()
    this.metrics.samples.inc(rows)
    this.metrics.seriesWritten.inc(seriesRows)
    this.metrics.batchSamples.observe(rows)
    this.metrics.duration.observe((performance.now() - started) / 1000)
    this.metrics.pendingBytes.set(wal.sizeBytes())
    return records.length
  }

  /** Every record in [from, to): the exact content of a range recorded before a crash. */
  private async readRange(from: WalPosition, to: WalPosition): Promise<WalRecord[]> {
    const out: WalRecord[] = []
    let at = from
    while (comparePositions(at, to) < 0) {
      const read = await this.opts.wal.read(at, { maxRecords: 10_000, maxBytes: this.opts.maxBatchBytes, until: to })
      if (read.records.length === 0) break
      for (const r of read.records) out.push(r)
      at = read.next
    }
    return out
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      let flushed: number
      try {
        flushed = await this.flushOnce()
        this.consecutiveFailures = 0
      } catch (err) {
        this.consecutiveFailures++
        this.metrics.errors.inc()
        const backoff = Math.min(this.opts.maxBackoffMs ?? 30_000, 250 * 2 ** Math.min(this.consecutiveFailures, 10))
        this.opts.logger.warn('flush failed; retrying the same range', { err, retryInMs: backoff, failures: this.consecutiveFailures })
        await this.sleep(backoff)
        continue
      }
      if (flushed === 0) await this.sleep(this.opts.idleIntervalMs)
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.wake = undefined
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.wake = done
    })
  }
}
