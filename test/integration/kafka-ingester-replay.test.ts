/**
 * The ingester's exactly-once protocol, step by step, against a real broker and the
 * embedded ClickHouse (in this process): an earlier attempt recorded a range and crashed
 * (after its insert, or before it); a new consumer must rebuild exactly that range, insert
 * it with the same token, and go on. Sender retries that reached Kafka twice are dropped.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BatchLander } from '../../ingester/batch-lander.js'
import { RecordDecoder } from '../../ingester/record-decoder.js'
import { SeriesRegistry } from '../../ingester/series-registry.js'
import { KafkaIngester } from '../../kafka/kafka-ingester.js'
import { FORMAT_HEADER, REQUEST_HEADER } from '../../kafka/message-format.js'
import { ConsumerMetrics } from '../../kafka/metrics.js'
import { RangeLog } from '../../kafka/range-log.js'
import { silentLogger } from '../../observability/logger.js'
import { encodeWriteRequestV1 } from '../../proto/encode-v1.js'
import { Fingerprinter } from '../../proto/fingerprint.js'
import { createSnappyCodec, type SnappyCodec } from '../../proto/snappy.js'
import { openStore, type StoreClients } from '../../store/connection.js'
import { ClickHouseSampleStore } from '../../store/sample-store.js'
import { publicSchema } from '../../rollup/public-schema.js'
import { migrate } from '../../store/schema.js'
import type { SeriesSamples } from '../../store/rowbinary-encoder.js'
import { KafkaBroker } from '../peers/kafka.js'
import { pollUntil, sleep } from '../peers/process.js'

const GROUP = 'replay-test'
const SERIES = 20
let broker: KafkaBroker
let dataDir: string
let store: StoreClients
let kafka: Kafka
let admin: Admin
let producer: Producer
let snappy: SnappyCodec
let fingerprinter: Fingerprinter
let rangeLog: RangeLog

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'metrichouse-replay-'))
  ;[broker, store, snappy, fingerprinter] = await Promise.all([KafkaBroker.start(), openStore({ dataDir, database: 'default' }), createSnappyCodec(), Fingerprinter.create()])
  await migrate(store.readWrite, publicSchema({ rawRetentionMs: 30 * 86_400_000 }))
  rangeLog = new RangeLog(store.readWrite, store.insertRaw, GROUP)
  await rangeLog.migrate()
  kafka = new Kafka({ brokers: [broker.brokers], logLevel: logLevel.NOTHING })
  admin = kafka.admin()
  await admin.connect()
  producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
}, 120_000)

afterAll(async () => {
  await producer?.disconnect()
  await admin?.disconnect()
  await store?.close()
  await broker?.dispose()
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
})

function message(metric: string, k: number, requestId = String(k)) {
  const series = Array.from({ length: SERIES }, (_, s) => ({
    labels: [
      { name: '__name__', value: metric },
      { name: 'instance', value: `h-${s}` },
    ],
    samples: [{ timestampMs: Date.now() - 3_600_000 + k, value: k }],
  }))
  return { partition: 0, value: Buffer.from(snappy.compress(encodeWriteRequestV1(series))), headers: { [FORMAT_HEADER]: '1', [REQUEST_HEADER]: requestId } }
}

async function topicWith(metric: string, messages: ReturnType<typeof message>[]): Promise<string> {
  const topic = `t-${metric}`
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1, replicationFactor: 1 }] })
  await producer.send({ topic, acks: -1, messages })
  return topic
}

async function runIngester(topic: string, until: () => Promise<boolean>): Promise<Registry> {
  const registry = new Registry()
  const consumer = kafka.consumer({ groupId: GROUP, maxWaitTimeInMs: 200, sessionTimeout: 6000, heartbeatInterval: 500 })
  const ingester = new KafkaIngester({
    consumer,
    topic,
    rangeLog,
    lander: new BatchLander(new ClickHouseSampleStore(store.insertRaw), new SeriesRegistry()),
    decoder: new RecordDecoder(snappy, fingerprinter),
    metrics: new ConsumerMetrics(registry),
    logger: silentLogger,
    partitionsConsumedConcurrently: 1,
  })
  await ingester.start()
  try {
    await pollUntil(`ingester on ${topic}`, 60_000, async () => ((await until()) ? true : undefined))
    await sleep(1000) // anything extra would land now
  } finally {
    await ingester.stop()
  }
  return registry
}

async function count(metric: string): Promise<{ total: number; distinct: number }> {
  const rs = await store.readWrite.query({
    query: 'SELECT count() AS total, uniqExact(series_id, timestamp) AS distinct FROM samples WHERE metric_name = {m:String}',
    query_params: { m: metric },
    format: 'JSONEachRow',
  })
  const [row] = await rs.json<{ total: string; distinct: string }>()
  return { total: Number(row.total), distinct: Number(row.distinct) }
}

async function metricValue(registry: Registry, name: string): Promise<number> {
  const m = await registry.getSingleMetric(name)?.get()
  return (m?.values ?? []).reduce((n, v) => n + v.value, 0)
}

/** What the crashed attempt did: record the range, and (optionally) insert it with its token. */
async function crashedAttempt(topic: string, messages: ReturnType<typeof message>[], to: number, inserted: boolean): Promise<void> {
  await rangeLog.record(topic, 0, { from: 0n, to: BigInt(to) })
  if (!inserted) return
  const decoder = new RecordDecoder(snappy, fingerprinter)
  const series: SeriesSamples[] = []
  for (const m of messages.slice(0, to + 1)) decoder.decode(m.value, series)
  await new BatchLander(new ClickHouseSampleStore(store.insertRaw), new SeriesRegistry()).land(series, `${topic}:0:0-${to}`)
}

describe('the Kafka ingester after a crash', () => {
  const cases = [
    { metric: 'crashed_after_insert', inserted: true },
    { metric: 'crashed_before_insert', inserted: false },
  ]
  for (const c of cases) {
    it(`rebuilds the recorded range with the same token and stores each sample once (${c.metric})`, async () => {
      const messages = Array.from({ length: 10 }, (_, k) => message(c.metric, k))
      const topic = await topicWith(c.metric, messages)
      await crashedAttempt(topic, messages, 4, c.inserted)
      const registry = await runIngester(topic, async () => (await count(c.metric)).total >= 10 * SERIES)
      expect(await count(c.metric)).toEqual({ total: 10 * SERIES, distinct: 10 * SERIES })
      expect(await metricValue(registry, 'metrichouse_ingester_replayed_batches_total')).toBe(1)
      // The range rebuilt is exactly the recorded one: its token, then the rest.
      expect(await rangeLog.last(topic, 0)).toEqual({ from: 5n, to: 9n })
    }, 90_000)
  }

  it('ignores a recorded range that was committed already', async () => {
    const metric = 'committed_before'
    const messages = Array.from({ length: 6 }, (_, k) => message(metric, k))
    const topic = await topicWith(metric, messages)
    await rangeLog.record(topic, 0, { from: 0n, to: 2n })
    await admin.setOffsets({ groupId: GROUP, topic, partitions: [{ partition: 0, offset: '3' }] })
    const registry = await runIngester(topic, async () => (await count(metric)).total >= 3 * SERIES)
    expect(await count(metric)).toEqual({ total: 3 * SERIES, distinct: 3 * SERIES })
    expect(await metricValue(registry, 'metrichouse_ingester_replayed_batches_total')).toBe(0)
  }, 90_000)

  it('drops a message whose request already came through the partition (a sender retry after a 503)', async () => {
    const metric = 'resent_request'
    const messages = [message(metric, 0, 'r0'), message(metric, 1, 'r1'), message(metric, 1, 'r1'), message(metric, 2, 'r2')]
    const topic = await topicWith(metric, messages)
    const registry = await runIngester(topic, async () => (await count(metric)).total >= 3 * SERIES)
    expect(await count(metric)).toEqual({ total: 3 * SERIES, distinct: 3 * SERIES })
    expect(await metricValue(registry, 'metrichouse_ingester_duplicate_messages_total')).toBe(1)
  }, 90_000)
})
