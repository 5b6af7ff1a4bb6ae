/**
 * The embedded deployment's Sink: each accepted request becomes one WAL record, a
 * snappy-compressed prometheus.WriteRequest (the same bytes a Kafka message carries in
 * the scale-out deployment, so one ingester decodes both). `write` resolves after fsync.
 */
import type { AcceptedBatch, Sink } from '../adapter/sink.js'
import { encodeWriteRequestV1 } from '../proto/encode-v1.js'
import type { SnappyCodec } from '../proto/snappy.js'
import type { WalPosition } from './position.js'
import type { WriteAheadLog } from './write-ahead-log.js'

export class WalSink implements Sink {
  /**
   * onAppended: called with each batch once it is durable, so the flusher can take it
   * from memory instead of decoding its record again.
   */
  constructor(
    private readonly wal: WriteAheadLog,
    private readonly snappy: SnappyCodec,
    private readonly onAppended?: (position: WalPosition, batch: AcceptedBatch) => void,
  ) {}

  async write(batch: AcceptedBatch): Promise<void> {
    if (batch.series.length === 0) return
    const record = batch.originalRw1Snappy ?? this.snappy.compress(encodeWriteRequestV1(batch.series, batch.metadata))
    const position = await this.wal.append(record)
    this.onAppended?.(position, batch)
  }

  async close(): Promise<void> {
    // The WAL is owned by whoever opened it (it is shared with the flusher).
  }
}
