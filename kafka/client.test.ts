import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { KafkaConfig } from '../config/config.js'
import { silentLogger } from '../observability/logger.js'
import { KafkaConfigError, kafkaJsConfig } from './client.js'

const BASE: KafkaConfig = {
  brokers: ['k1:9092', 'k2:9092'],
  topic: 't',
  provisionTopic: true,
  partitions: 3,
  replicationFactor: 1,
  retentionMs: 1000,
  produceTimeoutMs: 1000,
  consumerGroup: 'g',
  maxBatchBytes: 1 << 20,
  batchWaitMs: 100,
  partitionsConsumedConcurrently: 1,
  sessionTimeoutMs: 30_000,
}

describe('kafkaJsConfig passes TLS and SASL through to kafkajs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mh-kafka-client-'))
  for (const [name, text] of [['ca.pem', 'CA'], ['cert.pem', 'CERT'], ['key.pem', 'KEY']]) writeFileSync(join(dir, name), text)
  const cases = [
    { name: 'plain', config: BASE, want: { brokers: ['k1:9092', 'k2:9092'], clientId: 'metrichouse-adapter', ssl: undefined, sasl: undefined } },
    {
      name: 'mutual TLS with a CA',
      config: { ...BASE, clientId: 'mine', ssl: { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') } },
      want: { clientId: 'mine', ssl: { rejectUnauthorized: true, ca: 'CA', cert: 'CERT', key: 'KEY' } },
    },
    { name: 'TLS with the system CAs', config: { ...BASE, ssl: {} }, want: { ssl: { rejectUnauthorized: true, ca: undefined, cert: undefined, key: undefined } } },
    {
      name: 'SASL SCRAM',
      config: { ...BASE, sasl: { mechanism: 'scram-sha-512' as const, username: 'u', password: 'p' } },
      want: { sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' } },
    },
  ]
  for (const c of cases) {
    it(c.name, () => {
      expect(kafkaJsConfig({ config: c.config, role: 'adapter', logger: silentLogger })).toMatchObject(c.want)
    })
  }

  it('refuses a role without brokers, naming the flag', () => {
    expect(() => kafkaJsConfig({ config: { ...BASE, brokers: [] }, role: 'ingester', logger: silentLogger })).toThrow(KafkaConfigError)
    expect(() => kafkaJsConfig({ config: { ...BASE, brokers: [] }, role: 'ingester', logger: silentLogger })).toThrow(/--kafka-brokers/)
  })
})
