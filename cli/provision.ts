/** `metrichouse migrate` with kafka.brokers set: provisions the samples topic too. */
import type { Config } from '../config/config.js'
import { createKafka } from '../kafka/client.js'
import { provisionTopic } from '../kafka/topic.js'
import type { Logger } from '../observability/logger.js'

export async function provisionKafkaTopic(config: Config, logger: Logger): Promise<void> {
  const admin = createKafka({ config: config.kafka, role: 'migrate', logger }).admin()
  await admin.connect()
  try {
    const result = await provisionTopic(admin, { topic: config.kafka.topic, partitions: config.kafka.partitions, replicationFactor: config.kafka.replicationFactor, retentionMs: config.kafka.retentionMs }, logger)
    logger.info('the samples topic is up to date', { topic: config.kafka.topic, partitions: result.partitions, created: result.created })
  } finally {
    await admin.disconnect()
  }
}
