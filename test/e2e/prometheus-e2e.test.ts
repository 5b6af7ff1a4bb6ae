/**
 * Debian's Prometheus 2.42 scrapes a target every second and remote-writes (1.0) into
 * `metrichouse serve`. Once the target stops and Prometheus's queue has drained, the
 * samples stored for the target must equal, series by series, what Prometheus ingested
 * itself (its own count_over_time; stale markers aside) - also across a kill -9 and
 * restart of serve in the middle, where Prometheus retries and nothing may be lost or doubled.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Metrichouse } from '../peers/metrichouse.js'
import { pollUntil, sleep } from '../peers/process.js'
import { startPrometheus, totalCount, type Prometheus } from '../peers/prometheus.js'
import { startScrapeTarget, type ScrapeTarget } from '../peers/scrape-target.js'
import {
  countDifferences,
  storedCountWithBits,
  storedDuplicates,
  storedSampleCount,
  storedSampleCounts,
} from './stored-samples.js'

const JOB = 'node'
const STALE_MARKER = 0x7ff0000000000002n
/** The NaN Go's strconv.ParseFloat("NaN") gives, which Prometheus stores and sends unchanged. */
const GO_NAN = 0x7ff8000000000001n

interface Setup {
  target: ScrapeTarget
  server: Metrichouse
  prometheus: Prometheus
}

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined)
})

/** `extraSeries` makes scrapes bigger: 1000 gives Prometheus several requests in flight per second. */
async function setup(extraSeries = 20): Promise<Setup> {
  const server = await Metrichouse.start({ maxLifetimeMs: 150_000 })
  cleanups.push(() => server.dispose())
  const target = await startScrapeTarget({ cpus: 2, extraSeries, specialValues: true })
  cleanups.push(() => target.stop())
  const prometheus = await startPrometheus({
    scrapeJobs: [{ job: JOB, targets: [target.address] }],
    remoteWriteUrl: server.writeUrl,
    maxLifetimeMs: 150_000,
  })
  cleanups.push(() => prometheus.stop())
  return { target, server, prometheus }
}

async function scrapesServed(target: ScrapeTarget, count: number): Promise<void> {
  await pollUntil(`${count} scrapes of the target`, 30_000, async () => (target.servedScrapes() >= count ? true : undefined))
}

/**
 * Stops the target, waits for Prometheus to have sent everything up to after the stop, then
 * waits for serve to show the same count in ClickHouse, and compares series by series.
 * Returns the total compared.
 */
async function stopTargetAndCompare({ target, server, prometheus }: Setup): Promise<number> {
  await target.stop()
  const stoppedAt = Date.now() / 1000
  await pollUntil(
    "Prometheus's remote-write queue to drain past the target's stop",
    30_000,
    async () => {
      const status = await prometheus.remoteWriteStatus()
      return status.pending === 0 && status.highestSentSeconds > stoppedAt + 2 ? status : undefined
    },
    async () => `status ${JSON.stringify(await prometheus.remoteWriteStatus())}\n${prometheus.process.describe()}`,
  )
  const status = await prometheus.remoteWriteStatus()
  expect(status.samplesFailed, 'samples Prometheus gave up on (non-retryable answers)').toBe(0)
  expect(status.samplesDropped).toBe(0)

  const want = await prometheus.sampleCounts(JOB, target.metricNames, Date.now())
  const wantTotal = totalCount(want)
  expect(want.size).toBe(target.seriesPerScrape)
  expect(wantTotal).toBeGreaterThan(0)

  // serve answers 204 once a request is in its WAL; ClickHouse gets it a moment later.
  await pollUntil(
    `serve to store ${wantTotal} samples of the target`,
    30_000,
    async () => {
      const stored = await storedSampleCount(server, JOB, target.metricNames)
      return stored >= wantTotal ? stored : undefined
    },
    async () => `stored ${await storedSampleCount(server, JOB, target.metricNames)}\n${server.process.describe()}`,
  )
  const got = await storedSampleCounts(server, JOB, target.metricNames)
  expect(countDifferences(want, got), 'series whose stored count differs from Prometheus').toEqual([])
  expect(totalCount(got)).toBe(wantTotal)
  expect(await storedDuplicates(server, JOB, target.metricNames), 'samples stored twice').toBe(0)
  // One stale marker per series when the target went away, stored bit-exact.
  expect(await storedCountWithBits(server, JOB, target.metricNames, STALE_MARKER)).toBe(target.seriesPerScrape)
  // node_special_value is NaN on every 4th scrape: a normal NaN must stay bit-exact too.
  // (Exact only when Prometheus ingested every scrape the target answered, as it does
  // unless a scrape timed out on its side.)
  const ingestedScrapes = [...want].filter(([key]) => key.startsWith('node_special_value{')).reduce((sum, [, n]) => sum + n, 0)
  const storedNaNs = await storedCountWithBits(server, JOB, ['node_special_value'], GO_NAN)
  if (ingestedScrapes === target.servedScrapes()) expect(storedNaNs).toBe(Math.floor(ingestedScrapes / 4))
  else expect(storedNaNs).toBeGreaterThan(0)
  console.log(`compared ${wantTotal} samples in ${want.size} series: equal; Prometheus retried ${status.samplesRetried} samples`)
  return wantTotal
}

describe('Prometheus 2.42 remote-writes into metrichouse serve', () => {
  it(
    'stores exactly the samples Prometheus ingested from the target, and keeps them over a graceful restart',
    async () => {
      const setupDone = await setup()
      await scrapesServed(setupDone.target, 8)
      const total = await stopTargetAndCompare(setupDone)

      const { server, target } = setupDone
      const exit = await server.stop()
      expect(exit, `SIGTERM exit of serve\n${server.logTail()}`).toEqual({ code: 0, signal: null })
      await server.restart()
      expect(await storedSampleCount(server, JOB, target.metricNames), 'after restart (WAL replay must not add)').toBe(total)
    },
    120_000,
  )

  it(
    'loses and doubles nothing when serve is killed with -9 twice (mid-stream, then mid-catch-up) and restarted on the same data',
    async () => {
      const setupDone = await setup(1000)
      const { target, server, prometheus } = setupDone
      await scrapesServed(target, 5)
      // First while Prometheus streams; then 300 ms after the restart, while it sends the
      // backlog it kept and serve moves replayed data into ClickHouse.
      for (const waitBeforeKillMs of [0, 300]) {
        await sleep(waitBeforeKillMs)
        await server.kill9()
        await sleep(1_500)
        await server.restart()
      }
      await scrapesServed(target, target.servedScrapes() + 5)
      await stopTargetAndCompare(setupDone)
      const status = await prometheus.remoteWriteStatus()
      expect(status.samplesRetried, 'Prometheus retried while serve was down').toBeGreaterThan(0)
    },
    120_000,
  )
})
