/**
 * The kafkajs client of a role, built from the one typed KafkaConfig: brokers, TLS and SASL
 * passed through as they are, kafkajs's own log lines routed into the project logger.
 */
import { readFileSync } from 'node:fs'
import { Kafka, logLevel, type KafkaConfig as KafkaJsConfig, type SASLOptions } from 'kafkajs'
import type { KafkaConfig } from '../config/config.js'
import type { Logger } from '../observability/logger.js'

export interface KafkaClientOptions {
  config: KafkaConfig
  /** Used for the default client id: metrichouse-<role>. */
  role: string
  logger: Logger
  /** Retries of one request before kafkajs gives up (the adapter keeps it short: 503 early). */
  retries?: number
  requestTimeoutMs?: number
}

export class KafkaConfigError extends Error {
  override name = 'KafkaConfigError'
}

export function kafkaJsConfig(opts: KafkaClientOptions): KafkaJsConfig {
  const { config } = opts
  if (config.brokers.length === 0) throw new KafkaConfigError(`metrichouse ${opts.role} needs kafka.brokers (--kafka-brokers host:port,...)`)
  const read = (file: string | undefined) => (file ? readFileSync(file, 'utf8') : undefined)
  const ssl = config.ssl ? { rejectUnauthorized: true, ca: read(config.ssl.caFile), cert: read(config.ssl.certFile), key: read(config.ssl.keyFile) } : undefined
  const sasl: SASLOptions | undefined = config.sasl ? { mechanism: config.sasl.mechanism, username: config.sasl.username, password: config.sasl.password } as SASLOptions : undefined
  return {
    clientId: config.clientId ?? `metrichouse-${opts.role}`,
    brokers: config.brokers,
    ssl,
    sasl,
    connectionTimeout: 3_000,
    requestTimeout: opts.requestTimeoutMs ?? 30_000,
    retry: { retries: opts.retries ?? 5, initialRetryTime: 100, maxRetryTime: 2_000 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry) => {
      const { message, ...fields } = entry.log
      const msg = `kafkajs: ${message}`
      const extra = { namespace: entry.namespace, ...fields }
      if (entry.level === logLevel.ERROR) opts.logger.error(msg, extra)
      else if (entry.level === logLevel.WARN) opts.logger.warn(msg, extra)
      else opts.logger.debug(msg, extra)
    },
  }
}

export function createKafka(opts: KafkaClientOptions): Kafka {
  return new Kafka(kafkaJsConfig(opts))
}
