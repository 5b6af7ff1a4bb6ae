/** Alert state changes reach a real Kafka topic, in order per alert, with the alert's full state. */
import { Kafka, logLevel } from 'kafkajs'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../observability/logger.js'
import { createEngine } from '../promql/engine.js'
import { KafkaBroker } from '../test/peers/kafka.js'
import { pollUntil } from '../test/peers/process.js'
import { KafkaAlertEvents } from './kafka-events.js'
import { RuleManager } from './manager.js'
import { MemoryStore } from './memory-store.js'
import { RulerMetrics } from './metrics.js'

const M = 60_000

describe('alert events on Kafka', () => {
  let broker: KafkaBroker
  let dir: string
  beforeAll(async () => {
    broker = await KafkaBroker.start({ maxLifetimeMs: 120_000 })
    dir = mkdtempSync(join(tmpdir(), 'metrichouse-alert-events-'))
  }, 60_000)
  afterAll(async () => {
    await broker?.dispose()
    rmSync(dir, { recursive: true, force: true })
  })

  it('publishes pending, firing and resolved as the alert moves, keyed by its labels', async () => {
    const kafka = new Kafka({ brokers: [broker.brokers], clientId: 'alert-events-test', logLevel: logLevel.NOTHING })
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: 'alerts', numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true })
    await admin.disconnect()
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()

    const store = new MemoryStore()
    store.series('up', { job: 'db' }, 0, 4 * M, () => 0)
    store.series('up', { job: 'db' }, 4 * M + 15_000, 10 * M, () => 1)
    const rules = join(dir, 'r.yml')
    writeFileSync(rules, 'groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: up == 0\n    for: 1m\n    labels: {severity: critical}\n')
    const registry = new Registry()
    const m = new RuleManager({
      ruleFiles: [rules],
      engine: createEngine(),
      querier: store.querier,
      writer: store.writer,
      metrics: new RulerMetrics(registry),
      logger: silentLogger,
      events: new KafkaAlertEvents(producer, 'alerts', { externalLabels: { cluster: 'eu' }, generator: 'http://ruler' }),
    })
    await m.reload()
    for (let t = M; t <= 6 * M; t += M) await m.evaluateAll(t)
    await producer.disconnect()

    const consumer = kafka.consumer({ groupId: 'alert-events-test' })
    await consumer.connect()
    await consumer.subscribe({ topic: 'alerts', fromBeginning: true })
    const got: { key: string; value: { to: string; from: string; labels: Record<string, string>; timestamp: string } }[] = []
    await consumer.run({ eachMessage: async ({ message }) => void got.push({ key: message.key!.toString(), value: JSON.parse(message.value!.toString()) }) })
    await pollUntil('three events', 30_000, async () => (got.length >= 3 ? true : undefined))
    await consumer.disconnect()
    expect(got.map((e) => `${e.value.from}->${e.value.to}@${e.value.timestamp}`)).toEqual([
      `inactive->pending@${new Date(M).toISOString()}`,
      `pending->firing@${new Date(2 * M).toISOString()}`,
      `firing->inactive@${new Date(5 * M).toISOString()}`,
    ])
    expect(new Set(got.map((e) => e.key)).size).toBe(1)
    expect(got[1]!.value.labels).toEqual({ alertname: 'Down', cluster: 'eu', job: 'db', severity: 'critical' })
    expect(await registry.getSingleMetricAsString('metrichouse_ruler_alert_events_published_total')).toMatch(/ 3$/m)
  }, 90_000)
})
