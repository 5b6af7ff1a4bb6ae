/** The wiring serve and the ruler role use: rules load at start, SIGHUP reloads, results go to the Sink. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { Registry } from 'prom-client'
import { afterAll, describe, expect, it } from 'vitest'
import type { AcceptedBatch, Sink } from '../adapter/sink.js'
import { loadConfig } from '../config/load.js'
import { silentLogger } from '../observability/logger.js'
import { createEngine } from '../promql/engine.js'
import { Fingerprinter } from '../proto/fingerprint.js'
import { pollUntil } from '../test/peers/process.js'
import { MemoryStore } from './memory-store.js'
import { RuleFilesError, startRuler } from './start.js'

const dir = mkdtempSync(join(tmpdir(), 'metrichouse-ruler-start-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A Sink that keeps what it is given (the WAL and Kafka sinks have their own tests). */
class CollectingSink implements Sink {
  readonly batches: AcceptedBatch[] = []
  async write(batch: AcceptedBatch): Promise<void> {
    this.batches.push(batch)
  }
  async close(): Promise<void> {}
}

describe('startRuler', () => {
  it('loads the rule files, reloads them on SIGHUP, and writes results with fingerprints and exact stale bits', async () => {
    const file = join(dir, 'rules.yml')
    writeFileSync(file, 'groups:\n- name: a\n  interval: 1s\n  rules:\n  - record: one\n    expr: vector(1)\n')
    const config = loadConfig({ flags: { 'ruler-rule-files': file, 'ruler-evaluation-interval': '1s' }, env: {} }).ruler
    const sink = new CollectingSink()
    const fingerprinter = await Fingerprinter.create()
    const ruler = await startRuler({ config, engine: createEngine(), querier: new MemoryStore().querier, sink, fingerprinter, registry: new Registry(), logger: silentLogger, handleSighup: true })
    try {
      expect(ruler.manager.ruleGroups().map((g) => g.spec.name)).toEqual(['a'])
      const first = await pollUntil('a first result', 5_000, async () => sink.batches.find((b) => b.series.length > 0))
      const s = first.series[0]!
      expect(s.ref.labels).toEqual([{ name: '__name__', value: 'one' }])
      expect(s.ref.id).toBe(fingerprinter.fingerprint([{ name: '__name__', value: 'one' }]))
      expect(s.samples[0]!.value).toBe(1)

      writeFileSync(file, 'groups:\n- name: b\n  interval: 1s\n  rules:\n  - record: two\n    expr: vector(2)\n')
      process.emit('SIGHUP', 'SIGHUP')
      await pollUntil('the reloaded group', 5_000, async () => (ruler.manager.ruleGroups()[0]?.spec.name === 'b' ? true : undefined))
      // Group a is gone: its series ends with a staleness marker (exact bits); group b writes `two`.
      const marker = sink.batches.flatMap((b) => b.series).find((x) => x.ref.metricName === 'one' && x.samples.some((p) => p.nanBits !== undefined))
      expect(marker?.samples.at(-1)?.nanBits).toBe(0x7ff0000000000002n)
      await pollUntil('a result of the new rules', 5_000, async () => sink.batches.find((b) => b.series.some((x) => x.ref.metricName === 'two')))
    } finally {
      await ruler.stop()
    }
  })

  const BROKEN: [string, string, RegExp][] = [
    ['a PromQL syntax error', 'groups:\n- name: a\n  rules:\n  - record: one\n    expr: sum(\n', /rules\.yml:5:\d+: could not parse expression/],
    ['bad YAML', 'groups:\n- name: a\n  rules: [\n', /rules\.yml:\d+:\d+: /],
    ['an unknown field', 'groups:\n- name: a\n  rules:\n  - record: one\n    expr: vector(1)\n    frobnicate: 1\n', /rules\.yml:\d+:\d+: /],
    ['a missing file', '', /no such file or directory/],
  ]

  it.each(BROKEN)('refuses to start on %s, naming file and line', async (_what, text, message) => {
    const file = join(dir, `broken-${text.length}`, 'rules.yml')
    if (text !== '') {
      mkdirSync(dirname(file), { recursive: true })
      writeFileSync(file, text)
    }
    const config = loadConfig({ flags: { 'ruler-rule-files': file }, env: {} }).ruler
    const start = startRuler({ config, engine: createEngine(), querier: new MemoryStore().querier, sink: new CollectingSink(), fingerprinter: await Fingerprinter.create(), registry: new Registry(), logger: silentLogger })
    await expect(start).rejects.toBeInstanceOf(RuleFilesError)
    await expect(start).rejects.toThrow(message)
  })

  it('a reload with a broken file keeps the last good rules and says so in the reload metrics', async () => {
    const file = join(dir, 'reload.yml')
    writeFileSync(file, 'groups:\n- name: good\n  interval: 1s\n  rules:\n  - record: one\n    expr: vector(1)\n')
    const config = loadConfig({ flags: { 'ruler-rule-files': file, 'ruler-evaluation-interval': '1s' }, env: {} }).ruler
    const registry = new Registry()
    const ruler = await startRuler({ config, engine: createEngine(), querier: new MemoryStore().querier, sink: new CollectingSink(), fingerprinter: await Fingerprinter.create(), registry, logger: silentLogger })
    const metric = async (name: string) => (await registry.getSingleMetric(name)!.get()).values[0]!.value
    try {
      expect(await metric('metrichouse_ruler_config_last_reload_successful')).toBe(1)
      const goodAt = await metric('metrichouse_ruler_config_last_reload_success_timestamp_seconds')
      expect(goodAt).toBeGreaterThan(0)
      writeFileSync(file, 'groups:\n- name: bad\n  rules:\n  - record: two\n    expr: rate(\n')
      const result = await ruler.manager.reload()
      expect(result.ok).toBe(false)
      expect(result.error).toMatch(/reload\.yml:5:\d+: could not parse expression/)
      expect(ruler.manager.ruleGroups().map((g) => g.spec.name)).toEqual(['good'])
      expect(await metric('metrichouse_ruler_config_last_reload_successful')).toBe(0)
      expect(await metric('metrichouse_ruler_config_last_reload_success_timestamp_seconds')).toBe(goodAt)
    } finally {
      await ruler.stop()
    }
  })
})
