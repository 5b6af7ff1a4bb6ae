/**
 * Debian's Prometheus 2.42 scrapes a target every second and remote-writes into the
 * scale-out path: `metrichouse adapter` -> Kafka (real KRaft broker) -> `metrichouse
 * ingester` -> ClickHouse (embedded, owned by `metrichouse store`). Once the target stops
 * and Prometheus's queue has drained, the samples stored must equal, series by series,
 * what Prometheus ingested itself, stale markers included, also with the ingester killed
 * with -9 and restarted in the middle.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pollUntil, sleep } from '../peers/process.js'
import { startPrometheus, totalCount, type Prometheus } from '../peers/prometheus.js'
import { startScrapeTarget, type ScrapeTarget } from '../peers/scrape-target.js'
import { KafkaStack } from '../peers/kafka-stack.js'
import { countDifferences, storedCountWithBits, storedDuplicates, storedSampleCount, storedSampleCounts } from './stored-samples.js'

const JOB = 'node'
const STALE_MARKER = 0x7ff0000000000002n
let stack: KafkaStack
let target: ScrapeTarget
let prometheus: Prometheus

beforeAll(async () => {
  stack = await KafkaStack.start({ partitions: 4 })
  await stack.addAdapter()
  await stack.addIngester()
  target = await startScrapeTarget({ cpus: 2, extraSeries: 200, specialValues: true })
  prometheus = await startPrometheus({ scrapeJobs: [{ job: JOB, targets: [target.address] }], remoteWriteUrl: stack.adapters[0].writeUrl, maxLifetimeMs: 150_000 })
}, 120_000)

afterAll(async () => {
  await prometheus?.stop().catch(() => undefined)
  await target?.stop().catch(() => undefined)
  await stack?.dispose()
})

describe('Prometheus 2.42 remote-writes through adapter -> Kafka -> ingester', () => {
  it('stores exactly what Prometheus ingested, series by series, across an ingester kill -9', async () => {
    await pollUntil('5 scrapes', 30_000, async () => (target.servedScrapes() >= 5 ? true : undefined))
    const ingester = stack.ingesters[0]
    await ingester.kill9()
    await sleep(1500)
    await ingester.restart()
    await pollUntil('5 more scrapes', 30_000, async () => (target.servedScrapes() >= 10 ? true : undefined))

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
    expect(status.samplesFailed).toBe(0)
    expect(status.samplesDropped).toBe(0)

    const want = await prometheus.sampleCounts(JOB, target.metricNames, Date.now())
    const wantTotal = totalCount(want)
    expect(want.size).toBe(target.seriesPerScrape)
    await pollUntil(
      `${wantTotal} samples in ClickHouse`,
      60_000,
      async () => ((await storedSampleCount(stack, JOB, target.metricNames)) >= wantTotal ? true : undefined),
      () => stack.describe(),
    )
    await sleep(1000)
    const got = await storedSampleCounts(stack, JOB, target.metricNames)
    expect(countDifferences(want, got), 'series whose stored count differs from Prometheus').toEqual([])
    expect(totalCount(got)).toBe(wantTotal)
    expect(await storedDuplicates(stack, JOB, target.metricNames)).toBe(0)
    expect(await storedCountWithBits(stack, JOB, target.metricNames, STALE_MARKER)).toBe(target.seriesPerScrape)
  }, 150_000)
})
