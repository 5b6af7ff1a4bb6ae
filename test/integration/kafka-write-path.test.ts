/**
 * adapter -> Kafka -> ingester -> ClickHouse (store role), every part a real process:
 * the topic's messages (one per partition per request, series on their fingerprint's
 * partition, a standard WriteRequest with a format header), exact counts in ClickHouse,
 * the receiver's status codes, topic provisioning and the self-metrics.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FORMAT_HEADER } from '../../kafka/message-format.js'
import { partitionOf } from '../../kafka/partitioner.js'
import { decodeWriteRequestV1 } from '../../proto/decode-v1.js'
import { encodeWriteRequestV1 } from '../../proto/encode-v1.js'
import { Fingerprinter } from '../../proto/fingerprint.js'
import { createSnappyCodec, type SnappyCodec } from '../../proto/snappy.js'
import { REPO_ROOT } from '../peers/metrichouse.js'
import { pollUntil } from '../peers/process.js'
import { KafkaStack, LoadSender } from '../peers/kafka-stack.js'

const PARTITIONS = 6
let stack: KafkaStack
let snappy: SnappyCodec
let fingerprinter: Fingerprinter

beforeAll(async () => {
  snappy = await createSnappyCodec()
  fingerprinter = await Fingerprinter.create()
  stack = await KafkaStack.start({ partitions: PARTITIONS })
  await stack.addAdapter()
  await stack.addIngester()
}, 120_000)

afterAll(async () => {
  await stack?.dispose()
})

const RW_HEADERS = { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' }

async function post(body: Uint8Array, headers: Record<string, string> = RW_HEADERS): Promise<{ status: number; text: string }> {
  const r = await fetch(stack.adapters[0].writeUrl, { method: 'POST', body: Buffer.from(body), headers, signal: AbortSignal.timeout(15_000) })
  return { status: r.status, text: await r.text() }
}

describe('the Kafka write path', () => {
  it('reports the ingester ready only once it has joined its consumer group', async () => {
    // addIngester returned as soon as /-/ready answered 200: by then the group join happened.
    const ingester = stack.ingesters[0]
    expect(await ingester.metricSum('metrichouse_ingester_group_member')).toBe(1)
    expect(await ingester.metricSum('metrichouse_ingester_rebalances_total')).toBeGreaterThanOrEqual(1)
  })

  it('provisions the topic with the configured partitions and retention', async () => {
    const admin = new Kafka({ brokers: [stack.broker.brokers], logLevel: logLevel.NOTHING }).admin()
    await admin.connect()
    try {
      const meta = await admin.fetchTopicMetadata({ topics: [stack.topic] })
      expect(meta.topics[0].partitions).toHaveLength(PARTITIONS)
      const configs = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: stack.topic, configNames: ['retention.ms'] }] })
      expect(configs.resources[0].configEntries[0].configValue).toBe(String(86_400_000))
    } finally {
      await admin.disconnect()
    }
  })

  it('produces one message per partition per request, each series on its fingerprint partition, as a WriteRequest', async () => {
    const metric = 'shard_probe'
    const series = Array.from({ length: 30 }, (_, i) => ({
      labels: [
        { name: '__name__', value: metric },
        { name: 'instance', value: `probe-${i}` },
      ],
      samples: [{ timestampMs: Date.now() - 1000, value: i }],
    }))
    expect((await post(snappy.compress(encodeWriteRequestV1(series)))).status).toBe(204)

    const consumer = new Kafka({ brokers: [stack.broker.brokers], logLevel: logLevel.NOTHING }).consumer({ groupId: `probe-${Date.now()}` })
    const found: { partition: number; format?: string; names: string[] }[] = []
    await consumer.connect()
    try {
      await consumer.subscribe({ topics: [stack.topic], fromBeginning: true })
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          const request = decodeWriteRequestV1(snappy.uncompress(message.value as Buffer, 1 << 26))
          const names = request.series.filter((s) => s.labels.some((l) => l.value === metric)).map((s) => s.labels.find((l) => l.name === 'instance')!.value)
          if (names.length === 0) return
          found.push({ partition, format: message.headers?.[FORMAT_HEADER]?.toString(), names })
          for (const s of request.series) {
            const sorted = [...s.labels].sort((a, b) => (a.name < b.name ? -1 : 1))
            expect(partitionOf(fingerprinter.fingerprint(sorted), PARTITIONS)).toBe(partition)
          }
        },
      })
      await pollUntil('the probe series in the topic', 30_000, async () => (found.reduce((n, f) => n + f.names.length, 0) >= 30 ? true : undefined))
    } finally {
      await consumer.disconnect()
    }
    const partitions = found.map((f) => f.partition)
    expect(new Set(partitions).size).toBe(partitions.length) // one message per partition
    expect(partitions.length).toBeGreaterThan(1)
    expect(found.every((f) => f.format === '1')).toBe(true)
    expect(found.flatMap((f) => f.names).sort()).toEqual(series.map((s) => s.labels[1].value).sort())
  })

  it('stores every acknowledged sample exactly once, and writes each series row once', async () => {
    const sender = new LoadSender(snappy, () => [stack.adapters[0].writeUrl], 'steady_total', 40)
    sender.start(4)
    await new Promise((r) => setTimeout(r, 3000))
    await sender.stop()
    expect(sender.acknowledgedRequests).toBeGreaterThan(10)
    const expected = sender.acknowledgedSamples
    await pollUntil(
      `${expected} samples in ClickHouse`,
      60_000,
      async () => ((await stack.queryNumber(`SELECT count() FROM samples WHERE metric_name = 'steady_total'`)) >= expected ? true : undefined),
      () => stack.describe(),
    )
    await new Promise((r) => setTimeout(r, 1000))
    const [total, distinct] = (await stack.query(`SELECT count(), uniqExact(series_id, timestamp) FROM samples WHERE metric_name = 'steady_total'`)).split('\t').map(Number)
    expect(total).toBe(expected)
    expect(distinct).toBe(expected)
    const seriesRows = await stack.queryNumber(`SELECT count() FROM series WHERE metric_name = 'steady_total'`)
    expect(seriesRows).toBe(40)
    const tiers = await stack.tierCounts('steady_total')
    expect(Object.keys(tiers)).toEqual(['raw', '1m', '1h'])
    for (const [tier, n] of Object.entries(tiers)) expect(n, `tier ${tier}`).toBe(expected)
  })

  it('answers the embedded receiver status codes: 400 bad snappy, 415 wrong type, 400 naming an invalid series while storing the rest', async () => {
    expect((await post(new Uint8Array([0x08, 0x0c, 1, 2]))).status).toBe(400) // claims 8 bytes, holds 2
    expect((await post(new Uint8Array([1, 2, 3]), { 'Content-Type': 'text/plain' })).status).toBe(415)
    const mixed = encodeWriteRequestV1([
      { labels: [{ name: '__name__', value: 'mixed_ok' }, { name: 'i', value: '1' }], samples: [{ timestampMs: Date.now(), value: 1 }] },
      { labels: [{ name: '__name__', value: 'mixed_bad' }, { name: 'i', value: '1' }, { name: 'i', value: '2' }], samples: [{ timestampMs: Date.now(), value: 1 }] },
    ])
    const r = await post(snappy.compress(mixed))
    expect(r.status).toBe(400)
    expect(r.text).toMatch(/series 1/)
    await pollUntil('the valid series stored', 30_000, async () => ((await stack.queryNumber(`SELECT count() FROM samples WHERE metric_name = 'mixed_ok'`)) === 1 ? true : undefined))
  })

  it('exposes the producer and consumer self-metrics', async () => {
    const adapter = stack.adapters[0]
    const ingester = stack.ingesters[0]
    expect(await adapter.metricSum('metrichouse_kafka_produce_duration_seconds_count')).toBeGreaterThan(0)
    expect(await adapter.metricSum('metrichouse_kafka_produced_messages_total')).toBeGreaterThan(0)
    const perPartition = (await adapter.metrics()).filter((s) => s.name === 'metrichouse_kafka_produced_bytes_total')
    expect(new Set(perPartition.map((s) => s.labels.partition)).size).toBe(PARTITIONS)
    expect(await ingester.metricSum('metrichouse_ingester_batch_samples_count')).toBeGreaterThan(0)
    expect(await ingester.metricSum('metrichouse_ingester_insert_duration_seconds_count')).toBeGreaterThan(0)
    expect(await ingester.metricSum('metrichouse_ingester_rebalances_total')).toBeGreaterThanOrEqual(1)
    const lag = (await ingester.metrics()).filter((s) => s.name === 'metrichouse_ingester_consumer_lag_messages')
    expect(lag.length).toBeGreaterThan(0)
    expect(await ingester.metricSum('metrichouse_ingester_series_rows_total')).toBeLessThan(200)
  })

  it('exports every metric docs/scale-out.md names', async () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs', 'scale-out.md'), 'utf8')
    const named = [...new Set([...doc.matchAll(/`(metrichouse_(?:kafka|ingester)_[a-z_]+)/g)].map((m) => m[1]))]
    expect(named.length).toBeGreaterThan(10)
    const exported = new Set([...(await stack.adapters[0].metrics()), ...(await stack.ingesters[0].metrics())].map((s) => s.name.replace(/_(bucket|count|sum)$/, '')))
    expect(named.filter((name) => !exported.has(name))).toEqual([])
  })
})
