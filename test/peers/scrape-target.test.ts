import { describe, expect, it } from 'vitest'
import { parseExposition } from './exposition.js'
import { renderExposition, startScrapeTarget, targetMetricNames } from './scrape-target.js'

describe('scrape target', () => {
  it('serves the same series every scrape with counters growing, and counts what it served', async () => {
    const target = await startScrapeTarget({ cpus: 1, extraSeries: 3, specialValues: true })
    try {
      const first = parseExposition(await (await fetch(target.url)).text())
      const second = parseExposition(await (await fetch(target.url)).text())
      const key = (s: { name: string; labels: Record<string, string> }) => `${s.name}${JSON.stringify(s.labels)}`
      expect(second.map(key)).toEqual(first.map(key))
      const cpu = (all: typeof first) => all.find((s) => s.name === 'node_cpu_seconds_total' && s.labels.mode === 'user')?.value
      expect(cpu(second)).toBeGreaterThan(cpu(first) ?? Infinity)
      expect(new Set(first.map((s) => s.name))).toEqual(new Set(targetMetricNames({ extraSeries: 3, specialValues: true })))
      // Wait for the 'finish' event of the second answer.
      await new Promise((resolve) => setTimeout(resolve, 20))
      expect(target.servedScrapes()).toBe(2)
      expect(target.servedSamples()).toBe(first.length + second.length)
      expect((await fetch(`${target.url.replace('/metrics', '/other')}`)).status).toBe(404)
    } finally {
      await target.stop()
    }
    await expect(fetch(target.url)).rejects.toThrow()
    expect(target.servedScrapes()).toBe(2)
  })

  it('renders the special values NaN, +Inf and -Inf in turn', () => {
    const values = [1, 2, 3].map((n) => renderExposition(n, { specialValues: true }).body.match(/^node_special_value (\S+)$/m)?.[1])
    expect(values).toEqual(['+Inf', '-Inf', '0'])
    expect(renderExposition(4, { specialValues: true }).body).toContain('node_special_value NaN')
  })
})
