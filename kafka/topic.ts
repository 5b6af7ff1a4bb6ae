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

/**
 * What a fresh or busy broker answers while a topic's partitions are still being placed:
 * kafkajs's own wait (createTopics waitForLeaders) retries only LEADER_NOT_AVAILABLE, and
 * the adapter sometimes exited at start on "This server does not host this topic-partition".
 */
const SETTLING_ERRORS = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE', 'NOT_LEADER_FOR_PARTITION', 'NOT_CONTROLLER', 'REQUEST_TIMED_OUT'])

/** True when `err`, or an error it wraps (kafkajs nests them), is one a settling topic gives. */
export function isTopicSettlingError(err: unknown, depth = 0): boolean {
  if (depth > 5 || err === null || typeof err !== 'object') return false
  const e = err as { type?: string; cause?: unknown; originalError?: unknown; errors?: unknown[] }
  if (e.type !== undefined && SETTLING_ERRORS.has(e.type)) return true
  return [e.cause, e.originalError, ...(Array.isArray(e.errors) ? e.errors : [])].some((inner) => isTopicSettlingError(inner, depth + 1))
}

export interface SettleOptions {
  /** Give up after this long (default 60 s). */
  timeoutMs?: number
  sleep?: (ms: number) => Promise<void>
}

/** Runs `attempt` again, with backoff, while it fails with a settling-topic error, until the deadline. */
export async function retryWhileTopicSettles<T>(what: string, attempt: () => Promise<T>, logger: Logger, opts: SettleOptions = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000)
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)))
  for (let tries = 1; ; tries++) {
    try {
      return await attempt()
    } catch (err) {
      if (!isTopicSettlingError(err) || Date.now() >= deadline) throw err
      const waitMs = Math.min(2_000, 100 * 2 ** Math.min(tries, 5))
      logger.warn(`${what}: the broker is still placing the topic; retrying`, { tries, waitMs, err: String((err as Error)?.message ?? err) })
      await sleep(waitMs)
    }
  }
}

/**
 * Provisions the topic and returns once every partition has a leader, retrying while a
 * fresh or busy broker is still placing it (see SETTLING_ERRORS).
 */
export async function provisionTopic(admin: Admin, spec: TopicSpec, logger: Logger, opts: SettleOptions = {}): Promise<ProvisionResult> {
  const result = await retryWhileTopicSettles('topic provisioning', () => provisionOnce(admin, spec, logger), logger, opts)
  await retryWhileTopicSettles('waiting for partition leaders', () => expectLeaders(admin, spec.topic), logger, opts)
  return result
}

/** Throws LEADER_NOT_AVAILABLE (a settling error) while a partition of `topic` has no leader. */
async function expectLeaders(admin: Admin, topic: string): Promise<void> {
  const meta = await admin.fetchTopicMetadata({ topics: [topic] })
  const leaderless = (meta.topics[0]?.partitions ?? []).filter((p) => p.leader < 0).map((p) => p.partitionId)
  if (leaderless.length > 0) {
    throw Object.assign(new Error(`partitions without a leader yet: ${leaderless.join(', ')}`), { type: 'LEADER_NOT_AVAILABLE' })
  }
}

async function provisionOnce(admin: Admin, spec: TopicSpec, logger: Logger): Promise<ProvisionResult> {
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
