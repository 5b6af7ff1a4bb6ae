import { afterEach, describe, expect, it } from 'vitest'
import { pollUntil, sleep } from './process.js'
import { startPrometheus, totalCount, type Prometheus } from './prometheus.js'
import { startScrapeTarget, type ScrapeTarget } from './scrape-target.js'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

describe('prometheus peer (Debian Prometheus 2.42)', () => {
  it(
    'scrapes the target and remote-writes every sample to a second Prometheus, whose counts match',
    async () => {
      const target: ScrapeTarget = await startScrapeTarget({ cpus: 1 })
      cleanups.push(() => target.stop())
      const receiver: Prometheus = await startPrometheus({ remoteWriteReceiver: true, maxLifetimeMs: 60_000 })
      cleanups.push(() => receiver.stop())
      const scraper = await startPrometheus({
        scrapeJobs: [{ job: 'target', targets: [target.address] }],
        remoteWriteUrl: `${receiver.url}/api/v1/write`,
        maxLifetimeMs: 60_000,
      })
      cleanups.push(() => scraper.stop())

      await pollUntil('three scrapes', 15_000, async () => (target.servedScrapes() >= 3 ? true : undefined))
      await target.stop()
      const stoppedAt = Date.now() / 1000
      await pollUntil('the remote-write queue to drain', 20_000, async () => {
        const status = await scraper.remoteWriteStatus()
        return status.pending === 0 && status.highestSentSeconds > stoppedAt + 1.5 ? status : undefined
      })
      const status = await scraper.remoteWriteStatus()
      expect(status.samplesFailed).toBe(0)
      expect(status.samplesIn).toBeGreaterThan(0)

      const at = Date.now()
      const sent = await scraper.sampleCounts('target', target.metricNames, at)
      const received = await receiver.sampleCounts('target', target.metricNames, at)
      expect(sent.size).toBe(target.seriesPerScrape)
      expect(totalCount(sent)).toBeGreaterThanOrEqual(3 * target.seriesPerScrape)
      expect(received).toEqual(sent)
      // Every scrape the target answered, times the series in each.
      expect(totalCount(sent)).toBe(target.servedSamples())
    },
    60_000,
  )

  it('removes its directory on stop', async () => {
    const prometheus = await startPrometheus({ maxLifetimeMs: 30_000 })
    expect((await fetch(`${prometheus.url}/-/healthy`)).status).toBe(200)
    await prometheus.stop()
    await sleep(50)
    const { existsSync } = await import('node:fs')
    expect(existsSync(prometheus.dir.path)).toBe(false)
    expect(prometheus.process.running).toBe(false)
  }, 40_000)
})
