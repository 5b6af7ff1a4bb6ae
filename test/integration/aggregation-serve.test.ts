/**
 * Stream aggregation in `serve`'s flush path, end to end: remote write -> WAL -> aggregation
 * -> ClickHouse -> query service. The aggregated series must equal PromQL over the raw data
 * (kept with keep_input) for every interval, on data with resets, duplicates and late
 * samples; samples later than the lag are dropped and counted.
 */
import { writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeWriteRequestV1, type SeriesToEncode } from '../../proto/encode-v1.js'
import { aggregationData, expectAggregatesMatchPromQL, LAG, RULES_YAML, type RangeQuery } from './aggregation-data.js'
import { metricValues, startTestServer, type TestServer } from './server.js'

let server: TestServer
const data = aggregationData(20)

beforeAll(async () => {
  const rulesFile = join(tmpdir(), `metrichouse-aggregation-${process.pid}.yml`)
  await writeFile(rulesFile, RULES_YAML)
  server = await startTestServer({ 'aggregation-rules-file': rulesFile, 'aggregation-lag': LAG, 'aggregation-keep-input': 'true' })
}, 60_000)

afterAll(async () => {
  await server?.stop()
})

let sentRaw = 0

async function send(series: SeriesToEncode[]): Promise<void> {
  const answer = await server.write(server.snappy.compress(encodeWriteRequestV1(series)))
  expect(answer.status, answer.text).toBe(204)
  for (const s of series) sentRaw += s.samples.length
}

/** Every raw sample sent is in ClickHouse, and with it the aggregates its batch closed. */
async function flushed(): Promise<void> {
  const stored = await server.waitForNumber(`SELECT count() FROM samples WHERE position(metric_name, ':') = 0`, sentRaw, 60_000)
  expect(stored).toBe(sentRaw)
}

const rangeQuery: RangeQuery = async (expr, start, end, stepMs) => {
  const params = new URLSearchParams({ query: expr, start: String(start / 1000), end: String(end / 1000), step: String(stepMs / 1000) })
  const response = await fetch(`${server.url}/api/v1/query_range?${params}`)
  const body = (await response.json()) as { status: string; error?: string; data: { result: { metric: Record<string, string>; values: [number, string][] }[] } }
  if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`)
  return body.data.result
}

describe('stream aggregation in serve', () => {
  it('stores aggregates equal to PromQL over the raw data, with resets, duplicates and late samples', async () => {
    for (const request of data.requests) await send(request)
    await flushed()
    await send(data.stragglerRequest)
    await flushed()
    await send(data.clockRequest)
    await flushed()
    const compared = await expectAggregatesMatchPromQL(rangeQuery, data)
    expect(compared).toBeGreaterThan(200)
    const metrics = await (await fetch(`${server.url}/metrics`)).text()
    const dropped = metricValues(metrics, 'metrichouse_aggregation_samples_dropped_total')
expect(dropped.get('{reason="late"}')).toBe(data.stragglerSamples)
    expect(dropped.get('{reason="duplicate"}')).toBeGreaterThan(0)
  }, 240_000)
})
