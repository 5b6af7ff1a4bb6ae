/**
 * An HA pair of real Prometheus 2.42 replicas (external labels `cluster` and `__replica__`)
 * scrape the same target and remote-write to `serve` with the HA tracker on, its elections in
 * the real Redis on 127.0.0.1:6379. No series is stored twice and none carries the replica
 * label; killing the elected replica keeps data flowing, the gap at most about the failover
 * timeout.
 */
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from '../integration/server.js'
import { pollUntil, sleep } from '../peers/process.js'
import { prometheusConfig, startPrometheus, type Prometheus } from '../peers/prometheus.js'
import { startScrapeTarget, type ScrapeTarget } from '../peers/scrape-target.js'

const FAILOVER_MS = 4_000
const SCRAPE_MS = 1_000
const CLUSTER = `ha-e2e-${randomUUID()}`
const KEY = `metrichouse:ha:${CLUSTER}`
const METRIC = 'node_memory_MemAvailable_bytes'

let server: TestServer
let target: ScrapeTarget
let redis: Redis
const replicas = new Map<string, Prometheus>()

function replicaConfig(replica: string): string {
  const config = prometheusConfig({ scrapeJobs: [{ job: 'node', targets: [target.address] }], scrapeIntervalMs: SCRAPE_MS, remoteWriteUrl: server.writeUrl })
  ;(config.global as Record<string, unknown>).external_labels = { cluster: CLUSTER, __replica__: replica }
  return JSON.stringify(config, null, 2)
}

/** Gaps (ms) between consecutive stored samples of METRIC from `fromMs` on, per series. */
async function gaps(fromMs: number): Promise<{ minGap: number; maxGap: number; series: number; last: number }> {
  const row = await server.sql(`SELECT min(g), max(g), uniqExact(series_id), toUnixTimestamp64Milli(max(last)) FROM (
      SELECT series_id, arrayJoin(arrayPopFront(arrayDifference(arraySort(groupArray(toUnixTimestamp64Milli(timestamp)))))) AS g, max(timestamp) AS last
      FROM samples WHERE metric_name = '${METRIC}' AND timestamp >= fromUnixTimestamp64Milli(${fromMs}) GROUP BY series_id
    )`)
  const [minGap, maxGap, series, last] = row.trim().split('\t').map(Number)
  return { minGap, maxGap, series, last }
}

beforeAll(async () => {
  redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 })
  server = await startTestServer({ 'ha-tracker-enabled': 'true', 'ha-tracker-failover-timeout': `${FAILOVER_MS}ms`, 'ha-tracker-redis-url': 'redis://127.0.0.1:6379' })
  target = await startScrapeTarget({ cpus: 1 })
  for (const replica of ['r1', 'r2']) replicas.set(replica, await startPrometheus({ configText: replicaConfig(replica), maxLifetimeMs: 180_000 }))
}, 90_000)

afterAll(async () => {
  for (const p of replicas.values()) await p.stop().catch(() => undefined)
  await target?.stop()
  await server?.stop()
  await redis?.del(KEY)
  redis?.disconnect()
})

describe('an HA pair of Prometheus replicas', () => {
  let elected: string
  let start: number

  it('is stored once: one replica elected, no replica label, one sample per scrape', async () => {
    start = Date.now()
    await pollUntil('samples from the pair', 60_000, async () => ((await gaps(start)).series > 0 ? true : undefined))
    await sleep(8 * SCRAPE_MS)
    const value = await redis.get(KEY)
    expect(value, 'election in Redis').toMatch(/^\d+ r[12]$/)
    elected = value!.split(' ')[1]
    expect(await server.sqlNumber("SELECT count() FROM series WHERE mapContains(labels, '__replica__')")).toBe(0)
    expect(await server.sqlNumber(`SELECT count() FROM series WHERE labels['cluster'] = '${CLUSTER}' AND metric_name = '${METRIC}'`)).toBe(1)
    const g = await gaps(start)
    // Both replicas stored would put two samples into most scrape intervals.
    expect(g.minGap).toBeGreaterThan(SCRAPE_MS / 2)
  }, 120_000)

  it('keeps data flowing when the elected replica is killed, the gap at most about the failover timeout', async () => {
    const killedAt = Date.now()
    await replicas.get(elected)!.process.kill9()
    const other = elected === 'r1' ? 'r2' : 'r1'
    await pollUntil(`${other} elected`, 60_000, async () => ((await redis.get(KEY))?.endsWith(` ${other}`) ? true : undefined))
    // Data after the failover, and enough of it to see the gap closed.
    await pollUntil('samples after the failover', 60_000, async () => ((await gaps(killedAt)).last > killedAt + FAILOVER_MS + 3 * SCRAPE_MS ? true : undefined))
    const g = await gaps(start)
    expect(g.minGap).toBeGreaterThan(SCRAPE_MS / 2)
    // The timeout, plus one scrape interval on each side and the sender's batching (200 ms).
    expect(g.maxGap).toBeLessThanOrEqual(FAILOVER_MS + 2 * SCRAPE_MS + 1_000)
    expect(await server.sqlNumber("SELECT count() FROM series WHERE mapContains(labels, '__replica__')")).toBe(0)
  }, 120_000)
})
