/**
 * `rules lint --url` and `--backtest` against a running `serve` holding real remote-written
 * data, behind a bearer token: selectors that match nothing, label names the series do not
 * have, and how often an alert would have fired over the stored history.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BacktestRow } from '../../rules-compiler/backtest.js'
import { remoteWriteFleet, type FleetSeries } from '../fleet.js'
import { runRulesCli } from '../run-rules-cli.js'
import { startTestServer, type TestServer } from './server.js'

const TOKEN = 'rules-lint-token'
const M = 60_000
// Two hours of one-minute samples, ending now (minute-aligned).
const END = Math.floor(Date.now() / M) * M
const START = END - 120 * M
const minutes = Array.from({ length: 121 }, (_, i) => START + i * M)
// The queue is over 10 for 20 minutes (fires after `for: 10m`) and later for 5 (stays pending).
const depth = (i: number) => ((i >= 30 && i < 50) || (i >= 90 && i < 95) ? 50 : 2)

const labels = (l: Record<string, string>) => Object.entries(l).map(([name, value]) => ({ name, value }))
const FLEET: FleetSeries[] = [
  { labels: labels({ __name__: 'app_requests_total', job: 'app', instance: 'a', code: '200' }), samples: minutes.map((t, i) => ({ timestampMs: t, value: i * 60 })) },
  { labels: labels({ __name__: 'app_queue_depth', job: 'app', instance: 'a' }), samples: minutes.map((t, i) => ({ timestampMs: t, value: depth(i) })) },
]

const RULES = `groups:
- name: app
  rules:
  - alert: QueueHigh
    expr: app_queue_depth > 10
    for: 10m
    labels: {severity: warning}
    annotations: {summary: 'queue of {{ $labels.instance }} is {{ $value }}'}
  - alert: TypoInName
    expr: app_requests_totl > 0
    for: 5m
    labels: {severity: warning}
    annotations: {summary: typo}
  - alert: ByMissingLabel
    expr: sum by (region) (rate(app_requests_total[5m])) > 0
    for: 5m
    labels: {severity: warning}
    annotations: {summary: 'rate in {{ $labels.region }}'}
`

let server: TestServer
const dir = mkdtempSync(join(tmpdir(), 'metrichouse-rules-lint-data-'))

beforeAll(async () => {
  server = await startTestServer({ 'auth-bearer-token': TOKEN })
  server.headers.authorization = `Bearer ${TOKEN}`
  const sent = await remoteWriteFleet(FLEET, [server.writeUrl], server.snappy, { headers: { authorization: `Bearer ${TOKEN}` } })
  expect(await server.waitForNumber('SELECT count() FROM samples', sent, 60_000)).toBe(sent)
  writeFileSync(join(dir, 'token'), TOKEN)
  writeFileSync(join(dir, 'rules.yml'), RULES)
}, 120_000)

afterAll(async () => {
  await server?.stop()
  rmSync(dir, { recursive: true, force: true })
})

const lint = (...argv: string[]) => runRulesCli('lint', ...argv)

describe('rules lint --url against a running serve', () => {
  it('reports a selector without series and label names no series has, and backtests each alert with its "for"', async () => {
    const { code, out } = await lint('--url', server.url, '--bearer-token-file', join(dir, 'token'), '--backtest', '2h', '--format', 'json', join(dir, 'rules.yml'))
    expect(code).toBe(0)
    const doc = JSON.parse(out) as { problems: { check: string; rule: string; message: string }[]; backtest: BacktestRow[] }
    const data = doc.problems.filter((p) => p.check.startsWith('data/')).map((p) => `${p.check} ${p.rule}: ${p.message}`)
    expect(data).toEqual([
      expect.stringMatching(/^data\/series TypoInName: \{__name__="app_requests_totl"\} matches no series/),
      expect.stringMatching(/^data\/labels ByMissingLabel: by \(region\): no series under it has a label "region"/),
      expect.stringMatching(/^data\/labels ByMissingLabel: template "summary" uses label "region"/),
    ])
    const queue = doc.backtest.find((r) => r.alert === 'QueueHigh')!
    // 20 minutes over the threshold, pending for the first 10: one episode of about 10 minutes.
    expect(queue.error).toBeUndefined()
    expect(queue.firingCount).toBe(1)
    expect(queue.seriesFired).toBe(1)
    expect(queue.longestEpisodeSeconds).toBeGreaterThanOrEqual(9 * 60)
    expect(queue.longestEpisodeSeconds).toBeLessThanOrEqual(16 * 60)
    expect(queue.firingSeconds).toBe(queue.longestEpisodeSeconds)
    expect(doc.backtest.find((r) => r.alert === 'TypoInName')).toMatchObject({ firingCount: 0, firingSeconds: 0 })
  }, 120_000)

  it('prints the backtest as a table in text format', async () => {
    const { out } = await lint('--url', server.url, '--bearer-token-file', join(dir, 'token'), '--backtest', '2h', join(dir, 'rules.yml'))
    expect(out).toMatch(/\| QueueHigh \| app \| 60s \| 1 \| \d+m\d*s? \| \d+m\d*s? \| 1 \|/)
  }, 120_000)

  it('a missing or wrong credential is an I/O error (exit 2) naming the endpoint, not a finding', async () => {
    writeFileSync(join(dir, 'wrong'), 'nope')
    const { code, err } = await lint('--url', server.url, '--bearer-token-file', join(dir, 'wrong'), join(dir, 'rules.yml'))
    expect(code).toBe(2)
    expect(err).toMatch(/HTTP 401/)
  }, 60_000)
})
