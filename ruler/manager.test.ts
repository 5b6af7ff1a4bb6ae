/**
 * The ruler over the real PromQL engine, with an in-memory store standing in for ClickHouse
 * (RecentSamples is the same class that overlays the ruler's own writes), real HTTP servers as
 * Alertmanagers, and real rule files on disk.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../observability/logger.js'
import { createEngine } from '../promql/engine.js'
import { HttpSink } from '../test/peers/notification-sinks.js'
import { pollUntil } from '../test/peers/process.js'
import { groupHash } from './group.js'
import { rulerRoutes } from './http-api.js'
import { RuleManager, type RuleManagerOptions } from './manager.js'
import { RulerMetrics } from './metrics.js'
import { Notifier } from './notifier.js'
import { MemoryStore } from './memory-store.js'
import type { PostableAlert } from './types.js'

const dir = mkdtempSync(join(tmpdir(), 'metrichouse-ruler-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function rulesFile(name: string, text: string): string {
  const f = join(dir, name)
  writeFileSync(f, text)
  return f
}

function manager(store: MemoryStore, files: string[], over: Partial<RuleManagerOptions> = {}) {
  const registry = new Registry()
  const metrics = new RulerMetrics(registry)
  return {
    registry,
    metrics,
    m: new RuleManager({ ruleFiles: files, engine: createEngine(), querier: store.querier, writer: store.writer, metrics, logger: silentLogger, externalURL: 'http://ruler.test', ...over }),
  }
}

const M = 60_000

describe('evaluation', () => {
  it('recording rules are written back and read by the next rule of the same evaluation; ALERTS too', async () => {
    const store = new MemoryStore()
    store.series('http_requests_total', { job: 'api', instance: 'a' }, 0, 10 * M, (t) => t / 100)
    store.series('http_requests_total', { job: 'api', instance: 'b' }, 0, 10 * M, (t) => t / 50)
    const f = rulesFile('chain.yml', `groups:
- name: chain
  interval: 1m
  rules:
  - record: job:http_requests:rate5m
    expr: sum by (job) (rate(http_requests_total[5m]))
  - alert: TooManyRequests
    expr: job:http_requests:rate5m > 20
    labels: {severity: warning}
    annotations: {summary: '{{ $labels.job }} at {{ $value | printf "%.0f" }}/s'}
  - record: alerts:firing:count
    expr: count(ALERTS{alertstate="firing"})
`)
    const { m } = manager(store, [f])
    expect((await m.reload()).ok).toBe(true)
    await m.evaluateAll(10 * M)
    const at = (name: string) => store.written.filter((s) => s.labels.__name__ === name)
    expect(at('job:http_requests:rate5m')).toEqual([{ labels: { __name__: 'job:http_requests:rate5m', job: 'api' }, timestampMs: 10 * M, value: expect.closeTo(30, 6) }])
    expect(at('ALERTS')).toEqual([{ labels: { __name__: 'ALERTS', alertname: 'TooManyRequests', alertstate: 'firing', job: 'api', severity: 'warning' }, timestampMs: 10 * M, value: 1 }])
    expect(at('alerts:firing:count')).toEqual([{ labels: { __name__: 'alerts:firing:count' }, timestampMs: 10 * M, value: 1 }])
    const rule = m.ruleGroups()[0]!.spec.rules[1]!
    expect(rule.kind === 'alerting' && rule.alerts()[0]!.annotations.summary).toBe('api at 30/s')
  })

  it('templates may run queries of their own ({{ query }}), at the evaluation time', async () => {
    const store = new MemoryStore()
    store.series('up', { job: 'a', instance: 'x' }, 0, 5 * M, () => 0)
    store.series('up', { job: 'a', instance: 'y' }, 0, 5 * M, () => 1)
    const f = rulesFile('tq.yml', `groups:\n- name: t\n  rules:\n  - alert: Down\n    expr: up == 0\n    annotations:\n      summary: '{{ with query "count(up == 1)" }}{{ . | first | value }}{{ end }} of {{ with printf "count(up{job=\\"%s\\"})" $labels.job | query }}{{ . | first | value }}{{ end }} up'\n`)
    const { m } = manager(store, [f])
    expect((await m.reload()).ok).toBe(true)
    await m.evaluateAll(5 * M)
    const rule = m.ruleGroups()[0]!.spec.rules[0]!
    expect(rule.kind === 'alerting' && rule.alerts()[0]!.annotations.summary).toBe('1 of 2 up')
  })

  it('a series the rule no longer produces ends with a staleness marker', async () => {
    const store = new MemoryStore()
    store.series('up', { job: 'a' }, 0, 2 * M, () => 1)
    const f = rulesFile('stale.yml', 'groups:\n- name: s\n  rules:\n  - record: job:up\n    expr: up\n')
    const { m } = manager(store, [f])
    await m.reload()
    await m.evaluateAll(2 * M)
    await m.evaluateAll(10 * M) // past the lookback: `up` is gone
    const out = store.written.filter((s) => s.labels.__name__ === 'job:up')
    expect(out.map((s) => [s.timestampMs, s.stale ?? false])).toEqual([
      [2 * M, false],
      [10 * M, true],
    ])
  })

  it('query_offset evaluates the queries that far in the past', async () => {
    const store = new MemoryStore()
    store.series('late_metric', {}, 0, 5 * M, () => 7)
    const f = rulesFile('offset.yml', 'groups:\n- name: o\n  query_offset: 8m\n  rules:\n  - record: r\n    expr: late_metric\n')
    const { m } = manager(store, [f])
    await m.reload()
    await m.evaluateAll(12 * M) // queries at 4m, where the data is
    expect(store.written.map((s) => [s.timestampMs, s.value])).toEqual([[12 * M, 7]])
  })

  it('a rule that errors reports health err and counts a failure; the others still run', async () => {
    const store = new MemoryStore()
    store.series('x', { a: '1' }, 0, M, () => 1)
    store.series('x', { a: '2' }, 0, M, () => 2)
    const f = rulesFile('err.yml', 'groups:\n- name: e\n  limit: 1\n  rules:\n  - record: too_many\n    expr: x\n  - record: fine\n    expr: sum(x)\n')
    const { m, registry } = manager(store, [f])
    await m.reload()
    await m.evaluateAll(M)
    const [bad, good] = m.ruleGroups()[0]!.spec.rules
    expect([bad!.health, bad!.lastError, good!.health]).toEqual(['err', 'exceeded limit of 1 with 2 series', 'ok'])
    expect(await registry.getSingleMetricAsString('metrichouse_ruler_rule_evaluation_failures_total')).toContain('metrichouse_ruler_rule_evaluation_failures_total{group="e"} 1')
  })

  it('groups run at aligned slots: multiples of the interval shifted by the group hash', () => {
    const store = new MemoryStore()
    const f = rulesFile('align.yml', 'groups:\n- name: a\n  interval: 30s\n  rules:\n  - record: r\n    expr: vector(1)\n')
    const { m } = manager(store, [f])
    return m.reload().then(() => {
      const g = m.ruleGroups()[0]!
      const offset = groupHash(f, 'a') % 30_000
      for (const now of [0, 1, 29_999, 1_000_000_123]) {
        const next = g.nextEvaluation(now)
        expect(next).toBeGreaterThan(now)
        expect(next - now).toBeLessThanOrEqual(30_000)
        expect((next - offset) % 30_000).toBe(0)
      }
    })
  })
})

describe('reload', () => {
  it('a bad file keeps the old rules and their alert state; a good one replaces them', async () => {
    const store = new MemoryStore()
    store.series('up', { job: 'a' }, 0, 10 * M, () => 0)
    const f = rulesFile('reload.yml', 'groups:\n- name: r\n  rules:\n  - alert: Down\n    expr: up == 0\n    for: 5m\n')
    const { m, registry } = manager(store, [f])
    await m.reload()
    await m.evaluateAll(M)
    writeFileSync(f, 'groups:\n- name: r\n  rules:\n  - alert: Down\n    expr: up == \n')
    const bad = await m.reload()
    expect(bad.ok).toBe(false)
    expect(bad.error).toContain('reload.yml:5')
    expect(m.ruleGroups()[0]!.spec.rules[0]!.spec.expr).toBe('up == 0')
    expect(await registry.getSingleMetricAsString('metrichouse_ruler_config_last_reload_successful')).toMatch(/ 0$/m)
    // Same rule plus a new one: the pending alert keeps its start.
    writeFileSync(f, 'groups:\n- name: r\n  rules:\n  - alert: Down\n    expr: up == 0\n    for: 5m\n  - record: n\n    expr: count(up)\n')
    expect((await m.reload()).ok).toBe(true)
    const rule = m.ruleGroups()[0]!.spec.rules[0]!
    expect(rule.kind === 'alerting' && rule.alerts().map((a) => [a.state, a.activeAtMs])).toEqual([['pending', M]])
    await m.evaluateAll(6 * M)
    expect(rule.kind === 'alerting' && rule.alerts()[0]!.state).toBe('firing')
  })

  it('POST /-/reload answers 500 with the error and keeps the rules', async () => {
    const store = new MemoryStore()
    const f = rulesFile('api-reload.yml', 'groups:\n- name: r\n  rules:\n  - record: r\n    expr: vector(1)\n')
    const { m } = manager(store, [f])
    await m.reload()
    writeFileSync(f, 'groups: [')
    const route = rulerRoutes(m).find((r) => r.path === '/-/reload')!
    const res = await call(route.handler)
    expect(res.status).toBe(500)
    expect(res.body).toContain('keeping the previous ones')
    expect(m.ruleGroups()).toHaveLength(1)
  })
})

describe('restart', () => {
  it('restores the for-state from ALERTS_FOR_STATE written before the restart', async () => {
    const store = new MemoryStore()
    store.series('up', { job: 'a' }, 0, 40 * M, () => 0)
    const f = rulesFile('restore.yml', 'groups:\n- name: r\n  rules:\n  - alert: Down\n    expr: up == 0\n    for: 30m\n')
    const first = manager(store, [f]).m
    await first.reload()
    for (let t = M; t <= 8 * M; t += M) await first.evaluateAll(t) // pending since 1m
    // A new process (new manager), on the same storage, 2 minutes later.
    const second = manager(store, [f]).m
    await second.reload()
    await second.evaluateAll(10 * M)
    const rule = second.ruleGroups()[0]!.spec.rules[0]!
    // 7 min spent pending before the outage; the outage (8m..10m) does not count.
    expect(rule.kind === 'alerting' && rule.alerts().map((a) => [a.state, a.activeAtMs])).toEqual([['pending', 3 * M]])
    await second.evaluateAll(32 * M)
    expect(rule.kind === 'alerting' && rule.alerts()[0]!.state).toBe('pending')
    await second.evaluateAll(33 * M)
    expect(rule.kind === 'alerting' && rule.alerts()[0]!.state).toBe('firing')
  })
})

describe('high availability', () => {
  it('shards i/n split the groups between replicas without overlap or gap', async () => {
    const store = new MemoryStore()
    const groups = Array.from({ length: 12 }, (_, i) => `- name: g${i}\n  rules:\n  - record: r${i}\n    expr: vector(${i})\n`).join('')
    const f = rulesFile('ha.yml', `groups:\n${groups}`)
    const names: string[][] = []
    for (let index = 0; index < 3; index++) {
      const { m } = manager(store, [f], { shard: { index, count: 3 } })
      await m.reload()
      names.push(m.ruleGroups().map((g) => g.spec.name))
    }
    expect(names.flat().sort()).toEqual(Array.from({ length: 12 }, (_, i) => `g${i}`).sort())
    expect(names.every((n) => n.length > 0 && n.length < 12)).toBe(true)
  })

  it('two replicas of the same rules send identical alerts (Alertmanager deduplicates them)', async () => {
    const store = new MemoryStore()
    store.series('up', { job: 'a' }, 0, 5 * M, () => 0)
    const f = rulesFile('ha2.yml', 'groups:\n- name: r\n  rules:\n  - alert: Down\n    expr: up == 0\n    for: 1m\n')
    const sent: PostableAlert[][] = [[], []]
    for (const i of [0, 1]) {
      const notifier = { send: (a: readonly PostableAlert[]) => sent[i]!.push(...a) } as unknown as Notifier
      const { m } = manager(store, [f], { notifier })
      await m.reload()
      for (let t = M; t <= 3 * M; t += 15_000) await m.evaluateAll(t)
    }
    expect(sent[0]!.length).toBeGreaterThan(0)
    expect(sent[1]).toEqual(sent[0])
  })
})

describe('notifier', () => {
  const sinks: HttpSink[] = []
  afterEach(async () => {
    await Promise.all(sinks.splice(0).map((s) => s.stop()))
  })

  it('sends every alert to every Alertmanager with external labels; a dead one neither blocks nor loses the others', async () => {
    const a = await HttpSink.start(200)
    const b = await HttpSink.start(200)
    sinks.push(a, b)
    const registry = new Registry()
    const metrics = new RulerMetrics(registry)
    const dead = 'http://127.0.0.1:9' // discard port: connection refused
    const notifier = new Notifier({ alertmanagers: [a.url, dead, b.url], externalLabels: { cluster: 'eu', alertname: 'never-wins' }, metrics, logger: silentLogger, retries: 1, retryBackoffMs: 10, maxBatchSize: 2 })
    const alert = (i: number): PostableAlert => ({ labels: { alertname: `A${i}` }, annotations: {}, startsAt: new Date(0).toISOString(), endsAt: new Date(1).toISOString(), generatorURL: 'http://x' })
    // send() only enqueues: nothing to await, whatever the Alertmanagers do.
    expect(notifier.send([alert(1), alert(2), alert(3)])).toBeUndefined()
    await pollUntil('both live Alertmanagers got all alerts', 10_000, async () => (a.received.length === 2 && b.received.length === 2 ? true : undefined))
    for (const sink of [a, b]) {
      expect(sink.received.map((r) => r.path)).toEqual(['/api/v2/alerts', '/api/v2/alerts'])
      const got = sink.received.flatMap((r) => r.body as PostableAlert[])
      expect(got.map((x) => x.labels)).toEqual([1, 2, 3].map((i) => ({ alertname: `A${i}`, cluster: 'eu' })))
    }
    await pollUntil('the dead one counted as errors', 10_000, async () => ((await registry.getSingleMetricAsString('metrichouse_ruler_notification_errors_total')).includes(`alertmanager="${dead}"} 3`) ? true : undefined))
    const sentMetric = await registry.getSingleMetricAsString('metrichouse_ruler_notifications_sent_total')
    expect(sentMetric).toContain(`alertmanager="${a.url}"} 3`)
    expect(sentMetric).toContain(`alertmanager="${b.url}"} 3`)
    await notifier.stop(100)
  })

  it('an Alertmanager answering 5xx is retried, a 4xx is not', async () => {
    const fail = await HttpSink.start(503)
    const bad = await HttpSink.start(400)
    sinks.push(fail, bad)
    const notifier = new Notifier({ alertmanagers: [fail.url, bad.url], metrics: new RulerMetrics(new Registry()), logger: silentLogger, retries: 2, retryBackoffMs: 10 })
    notifier.send([{ labels: { alertname: 'X' }, annotations: {}, startsAt: '', endsAt: '', generatorURL: '' }])
    await pollUntil('three attempts', 10_000, async () => (fail.received.length === 3 ? true : undefined))
    expect(bad.received).toHaveLength(1)
    await notifier.stop(100)
  })

  it('a full queue drops the oldest alerts and counts them', async () => {
    const registry = new Registry()
    const notifier = new Notifier({ alertmanagers: ['http://127.0.0.1:9'], metrics: new RulerMetrics(registry), logger: silentLogger, queueCapacity: 5, retries: 0, timeoutMs: 1000 })
    notifier.send(Array.from({ length: 20 }, (_, i) => ({ labels: { alertname: `A${i}` }, annotations: {}, startsAt: '', endsAt: '', generatorURL: '' })))
    expect(await registry.getSingleMetricAsString('metrichouse_ruler_notifications_dropped_total')).toMatch(/ 15$/m)
    await notifier.stop(100)
  })
})

describe('HTTP API', () => {
  it('GET /api/v1/rules and /api/v1/alerts answer as Prometheus does', async () => {
    const store = new MemoryStore()
    store.series('up', { job: 'a' }, 0, 5 * M, () => 0)
    const f = rulesFile('api.yml', 'groups:\n- name: api\n  interval: 30s\n  rules:\n  - alert: Down\n    expr: up == 0\n    for: 1m\n    labels: {severity: critical}\n    annotations: {summary: down}\n  - record: r\n    expr: up\n')
    const { m } = manager(store, [f])
    await m.reload()
    await m.evaluateAll(2 * M)
    const routes = rulerRoutes(m)
    const rules = JSON.parse((await call(routes.find((r) => r.path === '/api/v1/rules')!.handler)).body)
    expect(rules).toEqual({
      status: 'success',
      data: {
        groups: [
          {
            name: 'api',
            file: f,
            interval: 30,
            limit: 0,
            evaluationTime: expect.any(Number),
            lastEvaluation: new Date(2 * M).toISOString(),
            rules: [
              {
                state: 'pending',
                name: 'Down',
                query: 'up == 0',
                duration: 60,
                keepFiringFor: 0,
                labels: { severity: 'critical' },
                annotations: { summary: 'down' },
                alerts: [{ labels: { alertname: 'Down', job: 'a', severity: 'critical' }, annotations: { summary: 'down' }, state: 'pending', activeAt: new Date(2 * M).toISOString(), value: '0e+00' }],
                health: 'ok',
                evaluationTime: expect.any(Number),
                lastEvaluation: new Date(2 * M).toISOString(),
                type: 'alerting',
              },
              { name: 'r', query: 'up', labels: {}, health: 'ok', evaluationTime: expect.any(Number), lastEvaluation: new Date(2 * M).toISOString(), type: 'recording' },
            ],
          },
        ],
      },
    })
    const alerts = JSON.parse((await call(routes.find((r) => r.path === '/api/v1/alerts')!.handler)).body)
    expect(alerts.data.alerts).toHaveLength(1)
    const onlyRecording = JSON.parse((await call(routes.find((r) => r.path === '/api/v1/rules')!.handler, { type: 'record' })).body)
    expect(onlyRecording.data.groups[0].rules.map((r: { type: string }) => r.type)).toEqual(['recording'])
  })
})

/** Calls an express handler with a minimal request/response pair. */
async function call(handler: unknown, query: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    let status = 200
    const res = {
      status(s: number) {
        status = s
        return res
      },
      type() {
        return res
      },
      json(v: unknown) {
        resolve({ status, body: JSON.stringify(v) })
        return res
      },
      send(v: string) {
        resolve({ status, body: v })
        return res
      },
    }
    void (handler as (req: unknown, res: unknown, next: () => void) => unknown)({ query }, res, () => undefined)
  })
}
