/**
 * The scale-out examples (examples/scale-out/*.yml) are real configurations: each role is
 * started from its file by `metrichouse` (ports, brokers, data dir and secrets overridden by
 * flags, which win over the file), and a remote-write request travels adapter -> Kafka ->
 * ingester -> store.
 */
import { join } from 'node:path'
import { Kafka, logLevel } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../config/load.js'
import { encodeWriteRequestV1 } from '../../proto/encode-v1.js'
import { createSnappyCodec } from '../../proto/snappy.js'
import { freePort } from '../peers/free-port.js'
import { KafkaBroker } from '../peers/kafka.js'
import { CLI_MAIN, REPO_ROOT } from '../peers/metrichouse.js'
import { MetrichouseRole } from '../peers/metrichouse-role.js'
import { pollUntil, runCommand } from '../peers/process.js'
import { makeTempDir, type TempDir } from '../peers/temp-dir.js'

const EXAMPLES = join(REPO_ROOT, 'examples', 'scale-out')
const PASSWORD = 'example-secret'
const TOKEN = 'example-token'
let dir: TempDir
let broker: KafkaBroker
const roles: MetrichouseRole[] = []

beforeAll(async () => {
  dir = await makeTempDir('scale-out-examples')
  broker = await KafkaBroker.start()
}, 120_000)

afterAll(async () => {
  for (const r of roles.reverse()) await r.dispose()
  await broker?.dispose()
  await dir?.remove()
})

describe('metrichouse migrate with kafka.brokers', () => {
  it('provisions the topic (partitions, retention), again idempotently, adding partitions', async () => {
    const migrate = (partitions: number) =>
      runCommand(process.execPath, [CLI_MAIN, 'migrate', '--data-dir', join(dir.path, 'migrate'), '--kafka-brokers', broker.brokers, '--kafka-topic', 'migrated', '--kafka-partitions', String(partitions), '--kafka-retention', '2h'], 60_000)
    for (const partitions of [2, 2, 3]) {
      const result = await migrate(partitions)
      expect(result.code, result.stderr).toBe(0)
      const admin = new Kafka({ brokers: [broker.brokers], logLevel: logLevel.NOTHING }).admin()
      await admin.connect()
      try {
        expect((await admin.fetchTopicMetadata({ topics: ['migrated'] })).topics[0].partitions).toHaveLength(partitions)
        const configs = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: 'migrated', configNames: ['retention.ms'] }] })
        expect(configs.resources[0].configEntries[0].configValue).toBe('7200000')
      } finally {
        await admin.disconnect()
      }
    }
  }, 120_000)
})

describe('examples/scale-out', () => {
  it('each file is a valid configuration for its role', () => {
    const cases = [
      { file: 'adapter.yml', flags: { 'auth-bearer-token': TOKEN }, check: (c: ReturnType<typeof loadConfig>) => expect(c.kafka).toMatchObject({ partitions: 48, replicationFactor: 3, brokers: ['kafka-1:9092', 'kafka-2:9092', 'kafka-3:9092'] }) },
      { file: 'ingester.yml', flags: {}, check: (c: ReturnType<typeof loadConfig>) => expect(c.clickhouse.url).toMatch(/\/clickhouse$/) },
      { file: 'store.yml', flags: { 'auth-basic-password': PASSWORD }, check: (c: ReturnType<typeof loadConfig>) => expect(c.auth.basicUsername).toBe('ingester') },
    ]
    for (const c of cases) {
      // Secrets the files read from /etc are given directly here (a key wins over its _file twin).
      c.check(loadConfig({ configFile: join(EXAMPLES, c.file), flags: c.flags }))
    }
  })

  it('runs store, adapter and ingester from their files and lands a request', async () => {
    const storePort = await freePort()
    const storeRole = await MetrichouseRole.start({
      role: 'store',
      port: storePort,
      args: ['--config', join(EXAMPLES, 'store.yml'), '--data-dir', join(dir.path, 'store'), '--auth-basic-password', PASSWORD],
      logDir: dir.path,
    })
    roles.push(storeRole)
    const kafka = ['--kafka-brokers', broker.brokers, '--kafka-partitions', '3', '--kafka-replication-factor', '1']
    roles.push(await MetrichouseRole.start({ role: 'adapter', args: ['--config', join(EXAMPLES, 'adapter.yml'), ...kafka, '--auth-bearer-token', TOKEN], logDir: dir.path }))
    roles.push(
      await MetrichouseRole.start({
        role: 'ingester',
        args: ['--config', join(EXAMPLES, 'ingester.yml'), ...kafka, '--clickhouse-url', `${storeRole.url}/clickhouse`, '--clickhouse-password', PASSWORD, '--kafka-batch-wait', '200ms'],
        logDir: dir.path,
      }),
    )
    const adapter = roles[1]
    const snappy = await createSnappyCodec()
    const body = snappy.compress(
      encodeWriteRequestV1(Array.from({ length: 12 }, (_, i) => ({ labels: [{ name: '__name__', value: 'example_up' }, { name: 'instance', value: `i${i}` }], samples: [{ timestampMs: Date.now(), value: 1 }] }))),
    )
    const headers = { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' }
    const anonymous = await fetch(adapter.writeUrl, { method: 'POST', body: Buffer.from(body), headers })
    expect(anonymous.status).toBe(401)
    const r = await fetch(adapter.writeUrl, { method: 'POST', body: Buffer.from(body), headers: { ...headers, Authorization: `Bearer ${TOKEN}` } })
    expect(r.status).toBe(204)
    const auth = `Basic ${Buffer.from(`ingester:${PASSWORD}`).toString('base64')}`
    await pollUntil('12 samples in the store', 60_000, async () => {
      const q = await fetch(`${storeRole.url}/clickhouse/?query=${encodeURIComponent("SELECT count() FROM samples WHERE metric_name = 'example_up'")}`, { headers: { authorization: auth } })
      return (await q.text()).trim() === '12' ? true : undefined
    })
  }, 120_000)
})
