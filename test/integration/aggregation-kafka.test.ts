/**
 * Stream aggregation in the Kafka ingesters, across faults: adapter (partitioning each
 * aggregation group onto one partition) -> Kafka (4 partitions) -> ingesters -> store, with
 * the first ingester killed with SIGKILL mid-stream and restarted, then a second ingester
 * joining and leaving (two rebalances). The aggregated series must still equal PromQL over the
 * raw data, read through the `query` role, and neither raw nor aggregated samples may be
 * stored twice.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeWriteRequestV1, type SeriesToEncode } from '../../proto/encode-v1.js'
import { createSnappyCodec, type SnappyCodec } from '../../proto/snappy.js'
import { KafkaStack, STORE_PASSWORD, STORE_USER } from '../peers/kafka-stack.js'
import { MetrichouseRole } from '../peers/metrichouse-role.js'
import { pollUntil, sleep } from '../peers/process.js'
import { aggregationData, expectAggregatesMatchPromQL, LAG, RULES_YAML, type RangeQuery } from './aggregation-data.js'

let stack: KafkaStack
let query: MetrichouseRole
let snappy: SnappyCodec
let rulesArgs: string[]
const data = aggregationData(21)

beforeAll(async () => {
  snappy = await createSnappyCodec()
  stack = await KafkaStack.start({ partitions: 4 })
  const rulesFile = join(stack.dir.path, 'aggregation.yml')
  await writeFile(rulesFile, RULES_YAML)
  rulesArgs = ['--aggregation-rules-file', rulesFile, '--aggregation-lag', LAG, '--aggregation-keep-input', 'true']
  await stack.addAdapter(rulesArgs)
  await stack.addIngester(rulesArgs)
  query = await MetrichouseRole.start({
    role: 'query',
    args: ['--clickhouse-url', `${stack.store.url}/clickhouse`, '--clickhouse-username', STORE_USER, '--clickhouse-password', STORE_PASSWORD, '--data-dir', join(stack.dir.path, 'query')],
    logDir: stack.dir.path,
  })
}, 180_000)

afterAll(async () => {
  await query?.dispose()
  await stack?.dispose()
})

let sentRaw = 0

/** Sends until acknowledged, as Prometheus retries. */
async function send(series: SeriesToEncode[]): Promise<void> {
  const body = Buffer.from(snappy.compress(encodeWriteRequestV1(series)))
  for (let attempt = 0; ; attempt++) {
    const r = await fetch(stack.adapters[0].writeUrl, { method: 'POST', body, headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' } }).catch(() => undefined)
    await r?.arrayBuffer()
    if (r?.status === 204) break
    if (attempt > 100) throw new Error(`not acknowledged: ${r?.status}`)
    await sleep(200)
  }
  for (const s of series) sentRaw += s.samples.length
}

async function landed(): Promise<void> {
  const sql = `SELECT count() FROM samples WHERE position(metric_name, ':') = 0`
  await pollUntil(`${sentRaw} raw samples`, 120_000, async () => ((await stack.queryNumber(sql)) >= sentRaw ? true : undefined), () => stack.describe())
}

const rangeQuery: RangeQuery = async (expr, start, end, stepMs) => {
  const params = new URLSearchParams({ query: expr, start: String(start / 1000), end: String(end / 1000), step: String(stepMs / 1000) })
  const response = await fetch(`${query.url}/api/v1/query_range?${params}`)
  const body = (await response.json()) as { status: string; error?: string; data: { result: { metric: Record<string, string>; values: [number, string][] }[] } }
  if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`)
  return body.data.result
}

describe('stream aggregation in the Kafka ingesters', () => {
  it('equals PromQL over the raw data across an ingester SIGKILL and two rebalances', async () => {
    const third = Math.floor(data.requests.length / 3)
    for (const request of data.requests.slice(0, third)) await send(request)
    await stack.ingesters[0].kill9()
    for (const request of data.requests.slice(third, 2 * third)) await send(request)
    await stack.ingesters[0].restart()
    const second = await stack.addIngester(rulesArgs)
    for (const request of data.requests.slice(2 * third)) {
      await send(request)
      await sleep(100)
    }
    expect(await second.stop(), second.logTail()).toEqual({ code: 0, signal: null })
    await landed()
    await send(data.stragglerRequest)
    await landed()
    // One clock series per few partitions: every partition's watermark moves past the data.
    const clocks = Array.from({ length: 64 }, (_, n) => ({ ...data.clockRequest[0], labels: [...data.clockRequest[0].labels, { name: 'n', value: String(n) }] }))
    await send(clocks)
    await landed()
    const outputs = `SELECT count() FROM samples WHERE metric_name = 'agg_load:1m_without_instance_count_samples'`
    await pollUntil('every interval aggregated', 60_000, async () => ((await stack.queryNumber(outputs)) >= 2 * 14 ? true : undefined), () => stack.describe())

    const compared = await expectAggregatesMatchPromQL(rangeQuery, data)
    expect(compared).toBeGreaterThan(200)
    const [total, distinct] = (await stack.query(`SELECT count(), uniqExact(series_id, timestamp) FROM samples WHERE position(metric_name, ':') > 0`)).split('\t').map(Number)
    expect(total).toBe(distinct)
    expect(await stack.queryNumber(`SELECT count() FROM samples WHERE position(metric_name, ':') = 0`)).toBe(sentRaw)
    const late = await stack.ingesters[0].metricSum('metrichouse_aggregation_samples_dropped_total', { reason: 'late' })
    expect(late).toBe(data.stragglerSamples)
  }, 300_000)
})
