import type { SeriesSamples } from '../proto/series-ref.js'
import type { MetricMetadata } from '../proto/types.js'

/** A series that passed validation (its SeriesRef: labels sorted by name, id computed) and its samples. */
export type AcceptedSeries = SeriesSamples

export interface AcceptedBatch {
  series: AcceptedSeries[]
  metadata: MetricMetadata[]
  sampleCount: number
  /**
   * The request body as received (snappy-compressed prometheus.WriteRequest) when it holds
   * exactly `series` and `metadata`: sinks whose record format is remote-write 1.0 store it
   * as is instead of encoding and compressing again.
   */
  originalRw1Snappy?: Uint8Array
  /**
   * The same body uncompressed, under the same condition: a sink that splits the request
   * (Kafka: one message per partition) cuts its series' bytes out instead of encoding them again.
   */
  originalRw1?: Uint8Array
  /**
   * Identity of the request (xxHash64 of its body as received). Senders resend the same
   * bytes when they retry, so a sink that has made this id durable already may acknowledge
   * it without storing it again.
   */
  requestId?: bigint
}

/**
 * Where the receiver hands accepted data. `write` resolves only once the batch is
 * durable (fsynced to the local WAL, or acknowledged by every Kafka partition it
 * touched): the HTTP edge answers 2xx after that and not before. It rejects with a
 * ServiceUnavailableError when the sink cannot take more (WAL full, broker down).
 */
export interface Sink {
  write(batch: AcceptedBatch): Promise<void>
  close(): Promise<void>
}
