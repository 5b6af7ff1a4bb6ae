/**
 * `metrichouse ingester`: a member of the consumer group that lands the samples topic in
 * ClickHouse exactly once (kafka/kafka-ingester.ts). Replicas share the partitions; the
 * HTTP port serves /metrics and the health checks only.
 */
import { BatchLander } from '../ingester/batch-lander.js'
import { RecordDecoder } from '../ingester/record-decoder.js'
import { SeriesRegistry } from '../ingester/series-registry.js'
import { createKafka } from '../kafka/client.js'
import { KafkaIngester } from '../kafka/kafka-ingester.js'
import { ConsumerMetrics } from '../kafka/metrics.js'
import { RangeLog } from '../kafka/range-log.js'
import { provisionTopic } from '../kafka/topic.js'
import { Fingerprinter } from '../proto/fingerprint.js'
import { createSnappyCodec } from '../proto/snappy.js'
import { openStore } from '../store/connection.js'
import { ClickHouseSampleStore } from '../store/sample-store.js'
import { publicSchema, schemaOptionsFromConfig } from '../rollup/public-schema.js'
import { migrate } from '../store/schema.js'
import { aggregationFromConfig } from './aggregation-wiring.js'
import { registerRollupMetrics } from '../rollup/metrics.js'
import { role } from './role.js'
import { storeOptions } from './store-options.js'

export const ingester = role('ingester', async ({ config, logger, registry, onShutdown }) => {
  const store = await openStore(storeOptions(config))
  onShutdown(() => store.close())
  await migrate(store.readWrite, publicSchema(schemaOptionsFromConfig(config)))
  registerRollupMetrics(registry, store.readOnly, logger)
  const rangeLog = new RangeLog(store.readWrite, store.insertRaw, config.kafka.consumerGroup)
  await rangeLog.migrate()

  const kafka = createKafka({ config: config.kafka, role: 'ingester', logger })
  if (config.kafka.provisionTopic) {
    const admin = kafka.admin()
    await admin.connect()
    try {
      await provisionTopic(admin, { topic: config.kafka.topic, partitions: config.kafka.partitions, replicationFactor: config.kafka.replicationFactor, retentionMs: config.kafka.retentionMs }, logger)
    } finally {
      await admin.disconnect()
    }
  }
  const concurrency = config.kafka.partitionsConsumedConcurrently
  const consumer = kafka.consumer({
    groupId: config.kafka.consumerGroup,
    maxBytesPerPartition: config.kafka.maxBatchBytes,
    maxBytes: Math.max(config.kafka.maxBatchBytes * concurrency * 2, 10 << 20),
    // The broker holds a fetch until this much is there or batch_wait passed: batches of a
    // useful size for ClickHouse without a timer of our own.
    minBytes: 256 << 10,
    maxWaitTimeInMs: config.kafka.batchWaitMs,
    sessionTimeout: config.kafka.sessionTimeoutMs,
    rebalanceTimeout: Math.max(60_000, config.kafka.sessionTimeoutMs),
    heartbeatInterval: Math.max(500, Math.floor(config.kafka.sessionTimeoutMs / 10)),
    allowAutoTopicCreation: false,
  })
  const snappy = await createSnappyCodec()
  const fingerprinter = await Fingerprinter.create()
  const aggregation = await aggregationFromConfig(config.aggregation, store, fingerprinter, registry, logger)
  const core = new KafkaIngester({
    consumer,
    topic: config.kafka.topic,
    rangeLog,
    lander: new BatchLander(new ClickHouseSampleStore(store.insertRaw), new SeriesRegistry(), aggregation),
    decoder: new RecordDecoder(snappy, fingerprinter),
    metrics: new ConsumerMetrics(registry),
    logger,
    partitionsConsumedConcurrently: concurrency,
    // Nothing half-done is lost by exiting (ranges are recorded, offsets committed after the
    // insert); a supervisor restarts the process, which is better than a silent stall.
    onFatal: () => {
      logger.error('exiting: the Kafka consumer stopped for good')
      process.exit(1)
    },
  })
  await core.start()
  // Finishes or abandons the batches in progress, commits nothing half-done, leaves the group.
  onShutdown(() => core.stop())
  return {
    // consumer.run() returns before the group join, which takes seconds on a fresh group.
    isReady: () => core.inGroup,
    log: {
      brokers: config.kafka.brokers,
      topic: config.kafka.topic,
      group: config.kafka.consumerGroup,
      clickhouse: store.embedded ? 'embedded' : config.clickhouse.url,
    },
  }
})
