/**
 * Topic provisioning: the samples topic with its partitions, replication and retention.
 * Idempotent (the adapter, the ingester and `metrichouse migrate` all call it at start):
 * creates a missing topic, adds partitions up to the configured count (never removes:
 * Kafka cannot), and sets retention.ms when it differs.
 */
import type { Admin } from 'kafkajs'
import type { Logger } from '../observability/logger.js'

export interface TopicSpec {
  topic: string
  partitions: number
  replicationFactor: number
  retentionMs: number
}

export interface ProvisionResult {
  created: boolean
  partitions: number
}

/** Kafka error codes that a concurrent provisioner or a booting broker may return. */
function isTopicExists(err: unknown): boolean {
  return (err as { type?: string })?.type === 'TOPIC_ALREADY_EXISTS' || /already exists/i.test(String((err as Error)?.message))
}

export async function provisionTopic(admin: Admin, spec: TopicSpec, logger: Logger): Promise<ProvisionResult> {
  const existing = await admin.listTopics()
  let created = false
  if (!existing.includes(spec.topic)) {
    try {
      created = await admin.createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic: spec.topic,
            numPartitions: spec.partitions,
            replicationFactor: spec.replicationFactor,
            configEntries: [{ name: 'retention.ms', value: String(spec.retentionMs) }],
          },
        ],
      })
    } catch (err) {
      if (!isTopicExists(err)) throw err
    }
    if (created) logger.info('created the samples topic', { ...spec })
  }
  const partitions = await partitionCount(admin, spec.topic)
  if (partitions < spec.partitions) {
    // Series move to other partitions from here on (the shard is fingerprint mod count):
    // their order across the change is not kept, which ClickHouse does not need.
    await admin.createPartitions({ topicPartitions: [{ topic: spec.topic, count: spec.partitions }] })
    logger.warn('added partitions to the samples topic', { topic: spec.topic, from: partitions, to: spec.partitions })
  } else if (partitions > spec.partitions) {
    logger.warn('the samples topic has more partitions than kafka.partitions; keeping them', { topic: spec.topic, partitions, configured: spec.partitions })
  }
  if (!created) await ensureRetention(admin, spec, logger)
  return { created, partitions: Math.max(partitions, spec.partitions) }
}

export async function partitionCount(admin: Admin, topic: string): Promise<number> {
  const meta = await admin.fetchTopicMetadata({ topics: [topic] })
  return meta.topics[0]?.partitions.length ?? 0
}

async function ensureRetention(admin: Admin, spec: TopicSpec, logger: Logger): Promise<void> {
  const RESOURCE_TOPIC = 2 // ConfigResourceTypes.TOPIC
  const described = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: RESOURCE_TOPIC, name: spec.topic, configNames: ['retention.ms'] }] })
  const current = described.resources[0]?.configEntries.find((e) => e.configName === 'retention.ms')?.configValue
  if (current === String(spec.retentionMs)) return
  await admin.alterConfigs({
    validateOnly: false,
    resources: [{ type: RESOURCE_TOPIC, name: spec.topic, configEntries: [{ name: 'retention.ms', value: String(spec.retentionMs) }] }],
  })
  logger.info('set the samples topic retention', { topic: spec.topic, from: current, retentionMs: spec.retentionMs })
}
