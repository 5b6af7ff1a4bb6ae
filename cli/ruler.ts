/**
 * `metrichouse ruler`: the scale-out ruler. Reads through a ClickHouse server
 * (clickhouse.url), writes ALERTS and recording-rule results to the samples topic
 * (kafka.brokers, like the adapter), optionally publishes alert events to
 * ruler.alert_events_topic, and serves /api/v1/rules, /api/v1/alerts, /-/reload, /metrics.
 */
import type { Sink } from '../adapter/sink.js'
import { ConfigError } from '../config/load.js'
import { createKafka } from '../kafka/client.js'
import { KafkaSink } from '../kafka/kafka-sink.js'
import { ProducerMetrics } from '../kafka/metrics.js'
import { partitionCount, provisionTopic } from '../kafka/topic.js'
import { Fingerprinter } from '../proto/fingerprint.js'
import { createSnappyCodec } from '../proto/snappy.js'
import { ClickHouseQuerier } from '../query/clickhouse-querier.js'
import { createConfiguredEngine, queryLimits } from '../query/query-service.js'
import { KafkaAlertEvents } from '../ruler/kafka-events.js'
import { openStore } from '../store/connection.js'
import { role } from './role.js'
import { storeOptions } from './store-options.js'
import { startRulerOrRefuse } from './ruler-startup.js'

export const ruler = role('ruler', async ({ config, logger, registry, onShutdown }) => {
  if (!config.clickhouse.url) throw new ConfigError('the ruler role reads a ClickHouse server: set clickhouse.url (or run the ruler inside `serve`)')
  if (config.kafka.brokers.length === 0) throw new ConfigError('the ruler role writes its results to the samples topic: set kafka.brokers (or run the ruler inside `serve`)')
  if (config.ruler.ruleFiles.length === 0) throw new ConfigError('no rule files: set ruler.rule_files')
  const store = await openStore(storeOptions(config))
  onShutdown(() => store.close())
  const kafka = createKafka({ config: config.kafka, role: 'ruler', logger })
  const admin = kafka.admin()
  await admin.connect()
  onShutdown(() => admin.disconnect())
  const partitions = await partitionCount(admin, config.kafka.topic)
  if (partitions === 0) throw new ConfigError(`topic ${config.kafka.topic} does not exist: start the adapter (it provisions the topic) first`)
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false })
  await producer.connect()
  onShutdown(() => producer.disconnect())
  const sink: Sink = new KafkaSink({
    createProducer: () => kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false }),
    topic: config.kafka.topic,
    partitions: () => partitions,
    snappy: await createSnappyCodec(),
    metrics: new ProducerMetrics(registry),
    logger,
    produceTimeoutMs: config.kafka.produceTimeoutMs,
  })
  onShutdown(() => sink.close())
  if (config.ruler.alertEventsTopic && config.kafka.provisionTopic) {
    // Few partitions suffice (keyed by alert; a few events per second); replication and retention as the samples topic.
    await provisionTopic(admin, { topic: config.ruler.alertEventsTopic, partitions: 3, replicationFactor: config.kafka.replicationFactor, retentionMs: config.kafka.retentionMs }, logger)
  }
  const events = config.ruler.alertEventsTopic ? new KafkaAlertEvents(producer, config.ruler.alertEventsTopic, { externalLabels: config.ruler.externalLabels, generator: config.ruler.externalUrl }) : undefined
  const running = await startRulerOrRefuse({
    config: config.ruler,
    engine: createConfiguredEngine(config.query),
    querier: new ClickHouseQuerier(store.readOnly, { maxSeries: config.query.maxSeries, maxSamples: config.query.maxSamples, limits: queryLimits(config.query) }),
    sink,
    fingerprinter: await Fingerprinter.create(),
    registry,
    logger,
    events,
    handleSighup: true,
  })
  onShutdown(() => running.stop())
  return { routes: running.routes }
})
