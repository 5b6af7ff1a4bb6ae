/**
 * The embedded deployment's Sink: each accepted request becomes one WAL record holding its
 * request id and the batch as a snappy-compressed prometheus.WriteRequest (wal-payload.ts;
 * the same WriteRequest bytes a Kafka message carries in the scale-out deployment).
 * `write` resolves after fsync. A request whose id is already durable (a sender's retry)
 * is acknowledged without a second record.
 */
import type { AcceptedBatch, Sink } from '../adapter/sink.js'
import { encodeWriteRequestV1 } from '../proto/encode-v1.js'
import type { SnappyCodec } from '../proto/snappy.js'
import type { WalPosition } from './position.js'
import { RecentRequests } from './recent-requests.js'
import { decodeWalPayload, encodeWalPayload } from './wal-payload.js'
import type { WriteAheadLog } from './write-ahead-log.js'

export class WalSink implements Sink {
  readonly recentRequests = new RecentRequests()

  /**
   * onAppended: called with each batch once it is durable, so the flusher can take it
   * from memory instead of decoding its record again.
   */
  constructor(
    private readonly wal: WriteAheadLog,
    private readonly snappy: SnappyCodec,
    private readonly onAppended?: (position: WalPosition, batch: AcceptedBatch) => void,
  ) {}

  /** Learns the request ids of every record still in the log (call once, before serving). */
  async loadRequestIds(): Promise<number> {
    let at = this.wal.start()
    const end = this.wal.end()
    let n = 0
    while (at.segment < end.segment || (at.segment === end.segment && at.offset < end.offset)) {
      const read = await this.wal.read(at, { maxRecords: 10_000, maxBytes: 64 << 20, until: end })
      if (read.records.length === 0) break
      for (const r of read.records) {
        try {
          const { requestId } = decodeWalPayload(r.data)
          if (requestId !== 0n) {
            this.recentRequests.add(requestId, Promise.resolve())
            n++
          }
        } catch {
          // An unreadable record is reported by the flusher when it reaches it.
        }
      }
      at = read.next
    }
    return n
  }

  async write(batch: AcceptedBatch): Promise<void> {
    if (batch.series.length === 0) return
    const id = batch.requestId ?? 0n
    if (id !== 0n) {
      const earlier = this.recentRequests.get(id)
      if (earlier) {
        try {
          await earlier
          return // already durable: a retry, acknowledged without storing it twice
        } catch {
          // The earlier attempt failed: this one appends.
        }
      }
    }
    const writeRequest = batch.originalRw1Snappy ?? this.snappy.compress(encodeWriteRequestV1(batch.series, batch.metadata))
    const appended = this.wal.append(encodeWalPayload(id, writeRequest))
    if (id !== 0n) this.recentRequests.add(id, appended.then(() => undefined))
    const position = await appended
    this.onAppended?.(position, batch)
  }

  async close(): Promise<void> {
    // The WAL is owned by whoever opened it (it is shared with the flusher).
  }
}
