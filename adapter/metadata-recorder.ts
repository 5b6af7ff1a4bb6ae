/**
 * Metric metadata from the receivers (remote write 1.0/2.0, text push) -> a MetadataWriter,
 * written behind the request and deduplicated.
 *
 * Senders repeat metadata far more often than it changes: Prometheus 2.x sends every
 * family's metadata each minute, a remote-write 2.0 sender with every series of every
 * request. So an entry already written is written again only after `refreshMs` (to keep its
 * row younger than the table's TTL), and writes are batched every `flushIntervalMs`.
 * Metadata is last-write-wins, not exactly once: a failed write is retried at the next flush,
 * and what does not fit in `maxPending` is dropped (and counted) until the sender repeats it.
 */
import { Counter, type Registry } from 'prom-client'
import type { Logger } from '../observability/logger.js'
import type { MetricMetadata } from '../proto/types.js'

export interface MetadataWriter {
  writeMetadata(entries: readonly MetricMetadata[], atMs: number): Promise<void>
}

/** What a receiver hands the metadata of a request to. */
export interface MetadataSink {
  record(entries: readonly MetricMetadata[]): void
}

export interface MetadataRecorderOptions {
  writer: MetadataWriter
  logger: Logger
  registry: Registry
  /** Default 1 hour. */
  refreshMs?: number
  /** Default 5 s. */
  flushIntervalMs?: number
  /** Entries remembered as written (default 200k, about 100 bytes each plus the help text). */
  maxRemembered?: number
  /** Entries waiting for the next flush at most (default 100k). */
  maxPending?: number
  now?: () => number
}

const FAMILY_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
// As Mimir's default max_metadata_length: longer entries are dropped, not cut.
const MAX_METADATA_LENGTH = 1024

/** An entry worth storing: a valid family name and bounded texts. */
export function storableMetadata(m: MetricMetadata): boolean {
  return m.metricFamilyName.length <= MAX_METADATA_LENGTH && FAMILY_NAME_RE.test(m.metricFamilyName) && m.help.length <= MAX_METADATA_LENGTH && m.unit.length <= MAX_METADATA_LENGTH
}

function keyOf(m: MetricMetadata): string {
  return `${m.metricFamilyName}\u0000${m.type}\u0000${m.unit}\u0000${m.help}`
}

export class MetadataRecorder implements MetadataSink {
  private readonly written = new Map<string, number>()
  private pending = new Map<string, MetricMetadata>()
  private readonly now: () => number
  private readonly refreshMs: number
  private readonly maxRemembered: number
  private readonly maxPending: number
  private timer: NodeJS.Timeout | undefined
  private flushing: Promise<void> | undefined
  private readonly entriesWritten: Counter
  private readonly entriesDropped: Counter
  private readonly writeErrors: Counter
  private readonly entriesInvalid: Counter

  constructor(private readonly opts: MetadataRecorderOptions) {
    this.now = opts.now ?? Date.now
    this.refreshMs = opts.refreshMs ?? 3_600_000
    this.maxRemembered = opts.maxRemembered ?? 200_000
    this.maxPending = opts.maxPending ?? 100_000
    const registers = [opts.registry]
    this.entriesWritten = new Counter({ name: 'metrichouse_adapter_metadata_written_total', help: 'Metric metadata entries written to the store (new, changed or refreshed)', registers })
    this.entriesDropped = new Counter({ name: 'metrichouse_adapter_metadata_dropped_total', help: 'Metric metadata entries dropped because too many were waiting to be written', registers })
    this.entriesInvalid = new Counter({ name: 'metrichouse_adapter_metadata_invalid_total', help: 'Metric metadata entries refused: invalid family name, or a name, help or unit over 1024 characters', registers })
    this.writeErrors = new Counter({ name: 'metrichouse_adapter_metadata_write_errors_total', help: 'Failed metadata writes (retried at the next flush)', registers })
  }

  /** Notes what a request carried; cheap, never throws, never waits for the store. */
  record(entries: readonly MetricMetadata[]): void {
    if (entries.length === 0) return
    const now = this.now()
    for (const e of entries) {
      if (!storableMetadata(e)) {
        this.entriesInvalid.inc()
        continue
      }
      const key = keyOf(e)
      const at = this.written.get(key)
      if (at !== undefined && now - at < this.refreshMs) continue
      if (this.pending.has(key)) continue
      if (this.pending.size >= this.maxPending) {
        this.entriesDropped.inc()
        continue
      }
      this.pending.set(key, e)
    }
  }

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.opts.flushIntervalMs ?? 5_000)
    this.timer.unref()
  }

  /** Writes what is pending; resolves when done (errors are logged, the entries kept). */
  flush(): Promise<void> {
    this.flushing ??= this.flushPending().finally(() => (this.flushing = undefined))
    return this.flushing
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.flush()
  }

  private async flushPending(): Promise<void> {
    if (this.pending.size === 0) return
    const batch = this.pending
    this.pending = new Map()
    const at = this.now()
    try {
      await this.opts.writer.writeMetadata([...batch.values()], at)
    } catch (err) {
      this.writeErrors.inc()
      this.opts.logger.warn('could not write metric metadata; retrying at the next flush', { entries: batch.size, err })
      for (const [key, e] of batch) if (this.pending.size < this.maxPending && !this.pending.has(key)) this.pending.set(key, e)
      return
    }
    this.entriesWritten.inc(batch.size)
    // Forget everything at once when full: the cost is one refresh of each entry, not a leak.
    if (this.written.size + batch.size > this.maxRemembered) this.written.clear()
    for (const key of batch.keys()) this.written.set(key, at)
  }
}
