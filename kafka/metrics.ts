/** Self-metrics of the Kafka producer (adapter) and consumer (ingester); registry injected. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

export class ProducerMetrics {
  readonly duration: Histogram
  readonly errors: Counter<'reason'>
  readonly messages: Counter<'partition'>
  readonly bytes: Counter<'partition'>
  readonly sends: Histogram
  readonly producerRenewals: Counter

  constructor(registry: Registry) {
    const registers = [registry]
    this.duration = new Histogram({
      name: 'metrichouse_kafka_produce_duration_seconds',
      help: 'Time from handing a request to the producer until every broker acknowledged it (acks=all)',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    })
    this.errors = new Counter({ name: 'metrichouse_kafka_produce_errors_total', help: 'Requests refused with 503 because Kafka did not acknowledge them, by reason', labelNames: ['reason'], registers })
    // Exported at 0 from the start, so that rate() and alerts see the series before the first error.
    for (const reason of ['timeout', 'kafka_error']) this.errors.inc({ reason }, 0)
    this.messages = new Counter({ name: 'metrichouse_kafka_produced_messages_total', help: 'Messages acknowledged by Kafka, by partition', labelNames: ['partition'], registers })
    this.bytes = new Counter({ name: 'metrichouse_kafka_produced_bytes_total', help: 'Message value bytes acknowledged by Kafka, by partition', labelNames: ['partition'], registers })
    this.sends = new Histogram({
      name: 'metrichouse_kafka_produce_send_messages',
      help: 'Messages per produce call (requests arriving while one is in flight go out together)',
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 1000],
      registers,
    })
    this.producerRenewals = new Counter({
      name: 'metrichouse_kafka_producer_renewals_total',
      help: 'Idempotent producers replaced after a failed send (a fresh producer id resets the sequence numbers)',
      registers,
    })
  }
}

export class ConsumerMetrics {
  readonly lag: Gauge<'partition'>
  readonly batches: Counter<'partition'>
  readonly batchSamples: Histogram
  readonly batchMessages: Histogram
  readonly insertDuration: Histogram
  readonly insertErrors: Counter
  readonly samples: Counter
  readonly replayedBatches: Counter
  readonly duplicateMessages: Counter
  readonly rebalances: Counter
  readonly groupMember: Gauge
  readonly seriesRows: Counter
  readonly undecodable: Counter

  constructor(registry: Registry) {
    const registers = [registry]
    this.lag = new Gauge({ name: 'metrichouse_ingester_consumer_lag_messages', help: 'Messages in the partition after the last committed batch (high watermark - committed offset)', labelNames: ['partition'], registers })
    this.batches = new Counter({ name: 'metrichouse_ingester_batches_total', help: 'Offset ranges inserted into ClickHouse and committed, by partition', labelNames: ['partition'], registers })
    this.batchSamples = new Histogram({
      name: 'metrichouse_ingester_batch_samples',
      help: 'Samples per ClickHouse insert',
      buckets: [100, 1000, 10_000, 50_000, 100_000, 250_000, 500_000, 1_000_000],
      registers,
    })
    this.batchMessages = new Histogram({ name: 'metrichouse_ingester_batch_messages', help: 'Kafka messages per ClickHouse insert', buckets: [1, 5, 10, 50, 100, 500, 1000, 5000], registers })
    this.insertDuration = new Histogram({
      name: 'metrichouse_ingester_insert_duration_seconds',
      help: 'Time to insert one batch (series and samples) into ClickHouse',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    })
    this.insertErrors = new Counter({ name: 'metrichouse_ingester_insert_errors_total', help: 'Failed ClickHouse operations of a batch (range record, insert); the partition waits (backoff) and retries the same range', registers })
    this.samples = new Counter({ name: 'metrichouse_ingester_samples_total', help: 'Samples sent to ClickHouse (a replayed range counts again; ClickHouse drops the repeat)', registers })
    this.replayedBatches = new Counter({
      name: 'metrichouse_ingester_replayed_batches_total',
      help: 'Ranges recorded by an earlier attempt and inserted again with the same deduplication token (after a crash, a rebalance or a failed commit)',
      registers,
    })
    this.duplicateMessages = new Counter({ name: 'metrichouse_ingester_duplicate_messages_total', help: 'Messages dropped because their request was already read from the partition (a sender retry after a 503)', registers })
    this.rebalances = new Counter({ name: 'metrichouse_ingester_rebalances_total', help: 'Consumer group joins (each rebalance reassigns partitions)', registers })
    this.groupMember = new Gauge({ name: 'metrichouse_ingester_group_member', help: '1 while the consumer is a member of its group with an assignment (the ingester is ready only then)', registers })
    this.seriesRows = new Counter({ name: 'metrichouse_ingester_series_rows_total', help: 'Rows written to the series table', registers })
    this.undecodable = new Counter({ name: 'metrichouse_ingester_undecodable_messages_total', help: 'Messages skipped because they are not a metrichouse format-1 WriteRequest', registers })
  }
}
