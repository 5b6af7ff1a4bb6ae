import { afterEach, describe, expect, it } from 'vitest'
import { pollUntil } from './process.js'
import { startScrapeTarget } from './scrape-target.js'
import { startVictoriaMetrics } from './victoria-metrics.js'
import { startVmagent } from './vmagent.js'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

describe('vmagent and victoria-metrics peers (Debian VictoriaMetrics 1.79)', () => {
  it(
    'vmagent scrapes the target and remote-writes every sample it served into VictoriaMetrics',
    async () => {
      const target = await startScrapeTarget({ cpus: 1 })
      cleanups.push(() => target.stop())
      const vm = await startVictoriaMetrics({ maxLifetimeMs: 60_000 })
      cleanups.push(() => vm.stop())
      const vmagent = await startVmagent({
        scrapeJobs: [{ job: 'target', targets: [target.address] }],
        remoteWriteUrl: vm.writeUrl,
        maxLifetimeMs: 60_000,
      })
      cleanups.push(() => vmagent.stop())

      await pollUntil('three scrapes', 15_000, async () => (target.servedScrapes() >= 3 ? true : undefined))
      await target.stop()
      const expected = target.servedSamples()
      expect(expected).toBe(target.servedScrapes() * target.seriesPerScrape)
      await pollUntil('vmagent to read every served sample', 10_000, async () => {
        const status = await vmagent.status()
        return status.scrapedSamples >= expected ? status : undefined
      })
      const stored = await pollUntil(
        `VictoriaMetrics to hold ${expected} samples`,
        20_000,
        async () => {
          await vm.forceFlush()
          const count = await vm.sampleCount('target', target.metricNames)
          return count === expected ? count : undefined
        },
        async () => `stored ${await vm.sampleCount('target', target.metricNames)}; vmagent ${JSON.stringify(await vmagent.status())}`,
      )
      expect(stored).toBe(expected)
    },
    60_000,
  )
})
