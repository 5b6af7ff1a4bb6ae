/**
 * `metrichouse adapter`: the stateless remote-write receiver of the scale-out deployment.
 * The same handler as `serve` (validation, limits, auth, status codes), its Sink Kafka:
 * HTTP -> validate -> shard by series -> one message per partition -> 2xx after acks=all.
 */
import { createKafka } from '../kafka/client.js'
import { KafkaSink } from '../kafka/kafka-sink.js'
import { ProducerMetrics } from '../kafka/metrics.js'
import { partitionCount, provisionTopic, retryWhileTopicSettles } from '../kafka/topic.js'
import { Fingerprinter } from '../proto/fingerprint.js'
import { openStore } from '../store/connection.js'
import { ClickHouseMetadataStore } from '../store/metadata-store.js'
import { MetadataRecorder } from '../adapter/metadata-recorder.js'
import { aggregationPartitionKey } from './aggregation-wiring.js'
import { storeOptions } from './store-options.js'
import { createSnappyCodec } from '../proto/snappy.js'
import { haTrackerFromConfig, receiverRoutes } from './remote-write-route.js'
import { role } from './role.js'

const PARTITION_REFRESH_MS = 60_000

export const adapter = role('adapter', async ({ config, logger, registry, onShutdown }) => {
  // Few retries: a broker outage should become a 503 within about a second, and the
  // sender (which keeps its own WAL) retries, rather than a request hanging here.
  const kafka = createKafka({ config: config.kafka, role: 'adapter', logger, retries: 2, requestTimeoutMs: config.kafka.produceTimeoutMs })
  const admin = kafka.admin()
  await admin.connect()
  onShutdown(() => admin.disconnect())
  let partitions: number
  if (config.kafka.provisionTopic) {
    partitions = (await provisionTopic(admin, { topic: config.kafka.topic, partitions: config.kafka.partitions, replicationFactor: config.kafka.replicationFactor, retentionMs: config.kafka.retentionMs }, logger)).partitions
  } else {
    partitions = await retryWhileTopicSettles('reading the topic', () => partitionCount(admin, config.kafka.topic), logger)
    if (partitions === 0) throw new Error(`topic ${config.kafka.topic} does not exist and kafka.provision_topic is false`)
  }
  const refresh = setInterval(() => {
    partitionCount(admin, config.kafka.topic).then(
      (n) => {
        if (n > 0 && n !== partitions) logger.info('the samples topic changed its partition count', { from: partitions, to: n })
        if (n > 0) partitions = n
      },
      (err) => logger.warn('could not refresh the topic metadata', { err }),
    )
  }, PARTITION_REFRESH_MS)
  refresh.unref()
  onShutdown(() => clearInterval(refresh))

  const snappy = await createSnappyCodec()
  const fingerprinter = await Fingerprinter.create()
  const partitionKey = await aggregationPartitionKey(config.aggregation, fingerprinter)
  const sink = new KafkaSink({
    createProducer: () => kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false }),
    topic: config.kafka.topic,
    partitions: () => partitions,
    snappy,
    metrics: new ProducerMetrics(registry),
    logger,
    produceTimeoutMs: config.kafka.produceTimeoutMs,
    partitionKey: partitionKey && ((s) => partitionKey.keyOf(s.ref)),
  })
  await sink.connectedProducer()
  onShutdown(() => sink.close())
  // Metric metadata is last-write-wins and bypasses Kafka: written straight to the ClickHouse
  // server when one is configured, else dropped (store/metadata-store.ts).
  const store = config.clickhouse.url ? await openStore(storeOptions(config)) : undefined
  if (store) onShutdown(() => store.close())
  const metadata = store ? new MetadataRecorder({ writer: new ClickHouseMetadataStore({ client: store.readWrite, insertRaw: store.insertRaw }), logger, registry }) : undefined
  metadata?.start()
  if (metadata) onShutdown(() => metadata.stop())
  const ha = haTrackerFromConfig(config, registry, logger)
  if (ha) onShutdown(() => ha.close())
  return {
    routes: receiverRoutes(config, registry, { sink, snappy, fingerprinter, metadata, ha: ha?.tracker }),
    log: { brokers: config.kafka.brokers, topic: config.kafka.topic, partitions },
  }
})
