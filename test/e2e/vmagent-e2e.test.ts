/**
 * Debian's vmagent (VictoriaMetrics 1.79) scrapes a target every second and remote-writes
 * (1.0) into `metrichouse serve`. vmagent keeps no database, so the oracle is the target:
 * every scrape it answered 200, times the series in each answer. Once the target stops
 * and vmagent has read all of it, serve must store exactly that (stale markers aside) -
 * also across a kill -9 and restart of serve in the middle (vmagent buffers and retries).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Metrichouse } from '../peers/metrichouse.js'
import { pollUntil, sleep } from '../peers/process.js'
import { startScrapeTarget, type ScrapeTarget } from '../peers/scrape-target.js'
import { startVmagent, type Vmagent } from '../peers/vmagent.js'
import { countDifferences, storedDuplicates, storedSampleCount, storedSampleCounts } from './stored-samples.js'

const JOB = 'node'

interface Setup {
  target: ScrapeTarget
  server: Metrichouse
  vmagent: Vmagent
}

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined)
})

async function setup(extraSeries = 20): Promise<Setup> {
  const server = await Metrichouse.start({ maxLifetimeMs: 150_000 })
  cleanups.push(() => server.dispose())
  const target = await startScrapeTarget({ cpus: 2, extraSeries })
  cleanups.push(() => target.stop())
  const vmagent = await startVmagent({
    scrapeJobs: [{ job: JOB, targets: [target.address] }],
    remoteWriteUrl: server.writeUrl,
    maxLifetimeMs: 150_000,
  })
  cleanups.push(() => vmagent.stop())
  return { target, server, vmagent }
}

async function scrapesServed(target: ScrapeTarget, count: number): Promise<void> {
  await pollUntil(`${count} scrapes of the target`, 30_000, async () => (target.servedScrapes() >= count ? true : undefined))
}

async function stopTargetAndCompare({ target, server, vmagent }: Setup): Promise<void> {
  await target.stop()
  const served = target.servedSamples()
  expect(served).toBe(target.servedScrapes() * target.seriesPerScrape)
  await pollUntil(
    'vmagent to have read every sample the target served',
    10_000,
    async () => ((await vmagent.status()).scrapedSamples >= served ? true : undefined),
    async () => `vmagent ${JSON.stringify(await vmagent.status())}`,
  )
  // vmagent's retry back-off doubles from 2 s after failures, hence the long wait.
  await pollUntil(
    `serve to store the ${served} samples the target served`,
    45_000,
    async () => {
      const stored = await storedSampleCount(server, JOB, target.metricNames)
      return stored >= served ? stored : undefined
    },
    async () =>
      `stored ${await storedSampleCount(server, JOB, target.metricNames)}; vmagent ${JSON.stringify(await vmagent.status())}\n` +
      `${vmagent.process.describe()}\n${server.process.describe()}`,
  )
  const want = new Map<string, number>()
  const got = await storedSampleCounts(server, JOB, target.metricNames)
  // Every series appears once in every answer, so each must have one sample per served scrape.
  for (const key of got.keys()) want.set(key, target.servedScrapes())
  expect(got.size, 'series stored').toBe(target.seriesPerScrape)
  expect(countDifferences(want, got), 'series whose stored count is not one per scrape').toEqual([])
  expect(await storedSampleCount(server, JOB, target.metricNames)).toBe(served)
  expect(await storedDuplicates(server, JOB, target.metricNames), 'samples stored twice').toBe(0)
  console.log(`compared ${served} samples in ${got.size} series (${target.servedScrapes()} scrapes): equal`)
}

describe('vmagent remote-writes into metrichouse serve', () => {
  it(
    'stores exactly the samples the target served to vmagent',
    async () => {
      const setupDone = await setup()
      await scrapesServed(setupDone.target, 8)
      await stopTargetAndCompare(setupDone)
    },
    120_000,
  )

  it(
    'loses and doubles nothing when serve is killed with -9 in the middle and restarted on the same data',
    async () => {
      const setupDone = await setup(1000)
      const { target, server, vmagent } = setupDone
      await scrapesServed(target, 5)
      await server.kill9()
      const killedAtScrape = target.servedScrapes()
      await sleep(1_500)
      await server.restart()
      await scrapesServed(target, killedAtScrape + 5)
      await stopTargetAndCompare(setupDone)
      expect((await vmagent.status()).sendErrors, 'vmagent saw serve down and retried').toBeGreaterThan(0)
    },
    120_000,
  )
})
