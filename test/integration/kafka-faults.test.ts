/**
 * Fault tests of the scale-out path, real broker and processes, under a steady remote-write
 * load whose sender retries until acknowledged (as Prometheus does). After each fault the
 * samples stored must equal the samples acknowledged, exactly, with no (series, timestamp)
 * twice:
 *  1. the ingester is killed with SIGKILL mid-stream and restarted;
 *  2. the broker stops for 10 s (the adapter answers 503 meanwhile) and starts again;
 *  3. ClickHouse is gone for a while (the store process stopped: every insert fails), then back;
 *  4. two adapters and two ingesters on a 6-partition topic, one ingester leaving mid-stream.
 * Every tier counts: raw samples, and the 1m and 1h rollups (sum of their bucket counts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSnappyCodec, type SnappyCodec } from '../../proto/snappy.js'
import { pollUntil, sleep } from '../peers/process.js'
import { KafkaStack, LoadSender } from '../peers/kafka-stack.js'

let stack: KafkaStack
let snappy: SnappyCodec

beforeAll(async () => {
  snappy = await createSnappyCodec()
  stack = await KafkaStack.start({ partitions: 6 })
  await stack.addAdapter()
  await stack.addIngester()
}, 120_000)

afterAll(async () => {
  await stack?.dispose()
})

let senders = 0
function sender(metric: string): LoadSender {
  return new LoadSender(snappy, () => stack.adapters.filter((a) => a.running).map((a) => a.writeUrl), metric, 40, 3 + senders++)
}

/** Waits for the acknowledged count, then checks it is exact (nothing lost, nothing twice). */
async function expectStoredExactly(s: LoadSender): Promise<void> {
  const expected = s.acknowledgedSamples
  const started = Date.now()
  const count = `SELECT count() FROM samples WHERE metric_name = '${s.metric}'`
  await pollUntil(`${expected} samples of ${s.metric}`, 90_000, async () => ((await stack.queryNumber(count)) >= expected ? true : undefined), () => `${count}\n${stack.describe()}`)
  await sleep(1500) // a straggling duplicate would land now
  const [total, distinct] = (await stack.query(`SELECT count(), uniqExact(series_id, timestamp) FROM samples WHERE metric_name = '${s.metric}'`)).split('\t').map(Number)
  expect({ total, distinct }).toEqual({ total: expected, distinct: expected })
  console.log(`${s.metric}: ${expected} acknowledged, all stored after ${Date.now() - started} ms`)
  finished.push(s)
}

/** The senders of the scenarios run so far, for the rollup tiers' check at the end. */
const finished: LoadSender[] = []

describe('scale-out path under faults', () => {
  it('1. keeps every acknowledged sample exactly once when the ingester is killed with SIGKILL and restarted', async () => {
    const s = sender('fault_kill9')
    s.start(4)
    await sleep(2500)
    const ingester = stack.ingesters[0]
    await ingester.kill9()
    await sleep(1500)
    await ingester.restart()
    await sleep(2500)
    await s.stop()
    expect(s.acknowledgedRequests).toBeGreaterThan(20)
    await expectStoredExactly(s)
  }, 150_000)

  it('2. answers 503 while the broker is down for 10 s and stores everything acknowledged once it is back', async () => {
    const s = sender('fault_broker')
    s.start(4)
    await sleep(2000)
    await stack.broker.stop()
    const stoppedAt = s.acknowledgedRequests
    await sleep(4_000)
    // What a sender sees meanwhile: 503 with Retry-After, so it keeps the data and retries.
    const probe = await fetch(stack.adapters[0].writeUrl, {
      method: 'POST',
      body: new Uint8Array(new LoadSender(snappy, () => [], 'fault_broker_probe', 5).body(0)),
      headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
    })
    expect({ status: probe.status, retryAfter: probe.headers.get('retry-after') }).toEqual({ status: 503, retryAfter: '2' })
    expect(await probe.text()).toMatch(/Kafka/)
    await sleep(6_000)
    expect(s.refusals.get(503) ?? 0).toBeGreaterThan(0)
    expect(s.acknowledgedRequests - stoppedAt).toBeLessThanOrEqual(4) // at most the requests already in flight
    await stack.broker.startAgain()
    await pollUntil('writes acknowledged again', 60_000, async () => (s.acknowledgedRequests > stoppedAt + 10 ? true : undefined), () => stack.describe())
    await s.stop()
    await expectStoredExactly(s)
  }, 180_000)

  it('3. holds the partitions while ClickHouse inserts fail, then resumes without loss or duplicates', async () => {
    const s = sender('fault_store')
    s.start(4)
    await sleep(2000)
    await stack.store.stop()
    await sleep(6000)
    await stack.store.restart()
    await sleep(3000)
    await s.stop()
    await expectStoredExactly(s)
    expect(await stack.ingesters[0].metricSum('metrichouse_ingester_insert_errors_total')).toBeGreaterThan(0)
  }, 180_000)

  it('4. two adapters and two ingesters on 6 partitions: one ingester leaves mid-stream, the other takes its partitions', async () => {
    await stack.addAdapter()
    const second = await stack.addIngester()
    const first = stack.ingesters[0]
    const rebalancesBefore = await first.metricSum('metrichouse_ingester_rebalances_total')
    const s = sender('fault_rebalance')
    s.start(4)
    await sleep(3000)
    // SIGTERM: finish or abandon the batches in progress, leave the group, exit cleanly.
    expect(await second.stop(), second.logTail()).toEqual({ code: 0, signal: null })
    await sleep(3000)
    await s.stop()
    expect(s.acknowledgedRequests).toBeGreaterThan(20)
    await expectStoredExactly(s)
    expect(await first.metricSum('metrichouse_ingester_rebalances_total')).toBeGreaterThan(rebalancesBefore)
    for (const adapter of stack.adapters) expect(await adapter.metricSum('metrichouse_adapter_requests_total', { code: '204' })).toBeGreaterThan(0)
  }, 180_000)

  it('5. counts the acknowledged samples of every scenario in every tier: raw, 1m and 1h rollups', async () => {
    expect(finished.map((s) => s.metric)).toEqual(['fault_kill9', 'fault_broker', 'fault_store', 'fault_rebalance'])
    for (const s of finished) {
      // Refreshes the rollups (only the hours still pending), then sums their bucket counts.
      const tiers = await stack.tierCounts(s.metric)
      expect(Object.keys(tiers), 'the rollup tables exist').toEqual(['raw', '1m', '1h'])
      for (const [tier, n] of Object.entries(tiers)) expect(n, `samples of ${s.metric} in tier ${tier}`).toBe(s.acknowledgedSamples)
    }
  }, 180_000)
})
