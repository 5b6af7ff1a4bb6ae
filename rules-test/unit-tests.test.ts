/**
 * `rules test` against `promtool test rules` (Debian's Prometheus 2.42) on the same files:
 * both pass or both fail. Plus two of kubernetes-mixin's own test files, on rules rendered by
 * kube-prometheus, and the output formats (promtool's text, JUnit XML).
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { rules } from '../cli/rules.js'
import { ClickHouseTestStorage } from '../query/promqltest-storage.js'
import { CLI_MAIN } from '../test/peers/metrichouse.js'
import { requireBinary } from '../test/peers/process.js'
import { renderMixinFixture } from './mixin-fixture.js'
import { runTestFile, type RuleTestStorage } from './unit-tests.js'

const run = promisify(execFile)
const promtool = requireBinary('promtool', 'prometheus')
const dir = mkdtempSync(join(tmpdir(), 'metrichouse-rules-test-'))
// The real storage path: one embedded ClickHouse for this file (chDB: one session per process).
let clickhouse: ClickHouseTestStorage
beforeAll(async () => {
  clickhouse = await ClickHouseTestStorage.open()
})
afterAll(async () => {
  await clickhouse?.close()
  rmSync(dir, { recursive: true, force: true })
})
const storages: [string, () => RuleTestStorage | undefined][] = [
  ['memory', () => undefined],
  ['clickhouse', () => clickhouse],
]

async function promtoolPasses(file: string): Promise<boolean> {
  try {
    await run(promtool, ['test', 'rules', file], { timeout: 60_000 })
    return true
  } catch (err) {
    if (typeof (err as { code?: unknown }).code !== 'number') throw err
    return false
  }
}

const RULES = `groups:
- name: rec
  rules:
  - record: job:requests:rate1m
    expr: sum by (job) (rate(requests_total[1m]))
- name: alerts
  rules:
  - alert: HighRate
    expr: job:requests:rate1m > 1
    for: 2m
    labels: {severity: warning}
    annotations:
      summary: '{{ $labels.job }} serves {{ $value | humanize }} req/s at {{ $externalLabels.site }}'
  - alert: Down
    expr: up == 0
    for: 1m
    keep_firing_for: 2m
    labels: {severity: critical}
`

const test = (body: string) => `rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n${body}`
const CASES: [string, string, boolean][] = [
  [
    'pending then firing with for, templates with $value and external labels',
    test(`- interval: 15s
  external_labels: {site: fra}
  input_series:
  - series: 'requests_total{job="api", instance="a"}'
    values: '0+30x40'
  alert_rule_test:
  - eval_time: 2m
    alertname: HighRate
    exp_alerts: []
  - eval_time: 5m
    alertname: HighRate
    exp_alerts:
    - exp_labels: {job: api, severity: warning}
      exp_annotations: {summary: 'api serves 2 req/s at fra'}
  promql_expr_test:
  - expr: job:requests:rate1m
    eval_time: 5m
    exp_samples:
    - labels: 'job:requests:rate1m{job="api"}'
      value: 2
`),
    true,
  ],
  [
    'keep_firing_for and stale / missing samples',
    test(`- interval: 1m
  input_series:
  - series: 'up{job="db"}'
    values: '1 0 0 0 1 1 1 1 1 stale _x3'
  alert_rule_test:
  - eval_time: 2m
    alertname: Down
    exp_alerts: [{exp_labels: {job: db, severity: critical}}]
  - eval_time: 5m
    alertname: Down
    exp_alerts: [{exp_labels: {job: db, severity: critical}}]
  - eval_time: 7m
    alertname: Down
    exp_alerts: []
  promql_expr_test:
  - expr: count(up)
    eval_time: 10m
    exp_samples: []
`),
    true,
  ],
  [
    'a wrong expected annotation fails',
    test(`- interval: 15s
  external_labels: {site: fra}
  input_series:
  - series: 'requests_total{job="api"}'
    values: '0+30x40'
  alert_rule_test:
  - eval_time: 5m
    alertname: HighRate
    exp_alerts:
    - exp_labels: {job: api, severity: warning}
      exp_annotations: {summary: 'wrong'}
`),
    false,
  ],
  [
    'a wrong expected sample value fails',
    test(`- interval: 15s
  input_series:
  - series: 'requests_total{job="api"}'
    values: '0+15x40'
  promql_expr_test:
  - expr: job:requests:rate1m
    eval_time: 5m
    exp_samples:
    - labels: 'job:requests:rate1m{job="api"}'
      value: 2
`),
    false,
  ],
  ['a missing firing alert fails', test(`- interval: 1m\n  input_series:\n  - series: 'up{job="x"}'\n    values: '0x5'\n  alert_rule_test:\n  - eval_time: 3m\n    alertname: Down\n    exp_alerts: []\n`), false],
  ['a rule file that does not parse fails', 'rule_files: [broken.yml]\ntests:\n- input_series: []\n', false],
]

describe('rules test agrees with promtool test rules', () => {
  writeFileSync(join(dir, 'rules.yml'), RULES)
  writeFileSync(join(dir, 'broken.yml'), 'groups:\n- name: x\n  rules:\n  - record: r\n    expr: sum(\n')
  it.each(CASES.map(([name, text, pass], i) => [name, text, pass, i] as const))('%s', async (_name, text, pass, i) => {
    const file = join(dir, `case-${i}.test.yml`)
    writeFileSync(file, text)
    expect(await promtoolPasses(file)).toBe(pass)
    for (const [kind, storage] of storages) {
      const result = await runTestFile(file, undefined, storage())
      const ok = result.error === undefined && result.cases.every((c) => c.failures.length === 0)
      expect(ok, `${kind} storage: ${JSON.stringify(result, null, 1)}`).toBe(pass)
    }
  })

  it.each(['queues.test.yml', 'metrichouse.test.yml'])('the shipped example rule tests %s pass with both', async (name) => {
    const file = new URL(`../examples/rules/${name}`, import.meta.url).pathname
    expect(await promtoolPasses(file)).toBe(true)
    const result = await runTestFile(file)
    expect(result.cases.flatMap((c) => c.failures)).toEqual([])
  })
})

describe("kubernetes-mixin's own rule tests", () => {
  const [scheduler, podOwner] = renderMixinFixture(join(dir, 'k8s'))

  // Each evaluation step reads and writes ClickHouse: the larger file runs in memory only, to keep
  // this test file within a minute on two shared cores.
  it.each([
    [scheduler!, ['memory']],
    [podOwner!, ['memory', 'clickhouse']],
  ])('%s passes, as with promtool (storage: %j)', async (file, kinds) => {
    expect(await promtoolPasses(file)).toBe(true)
    for (const [kind, storage] of storages.filter(([k]) => kinds.includes(k))) {
      const result = await runTestFile(file, undefined, storage())
      expect(result.cases.length).toBeGreaterThan(5)
      expect(result.cases.flatMap((c) => c.failures), `${kind} storage`).toEqual([])
    }
    // 39 s in one full run of the suite on two cores, over 90 s in another beside a heavy file.
  }, 240_000)
})

describe('metrichouse rules test: output, exit status, JUnit', () => {
  async function runCli(...argv: string[]) {
    let out = ''
    const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true))
    const e = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    try {
      return { code: await rules(['test', ...argv]), out }
    } finally {
      o.mockRestore()
      e.mockRestore()
    }
  }

  it('prints SUCCESS / FAILED per file like promtool, exits 1 on a failure, and writes JUnit XML', async () => {
    writeFileSync(join(dir, 'rules.yml'), RULES)
    const good = join(dir, 'good.test.yml')
    const bad = join(dir, 'bad.test.yml')
    writeFileSync(good, CASES[0]![1])
    writeFileSync(bad, CASES[2]![1])
    const junit = join(dir, 'junit.xml')
    const { code, out } = await runCli('--junit', junit, good, bad)
    expect(code).toBe(1)
    expect(out).toContain(`Unit Testing:  ${good}\n  SUCCESS\n`)
    expect(out).toContain(`Unit Testing:  ${bad}\n  FAILED:\n    alertname: HighRate, time: 5m, \n        exp:[`)
    const xml = readFileSync(junit, 'utf8')
    expect(xml).toMatch(/<testsuite name="[^"]*good\.test\.yml" tests="1" failures="0"/)
    expect(xml).toMatch(/<testsuite name="[^"]*bad\.test\.yml" tests="1" failures="1"[\s\S]*<failure message="alertname: HighRate, time: 5m,/)
  })

  it.each([
    [[], 2],
    [['/nonexistent/x.yml'], 2],
  ] as const)('%j exits %d', async (argv, code) => {
    expect((await runCli(...argv)).code).toBe(code)
  })

  it('exits 0 when every test passes', async () => {
    expect((await runCli(new URL('../examples/rules/queues.test.yml', import.meta.url).pathname)).code).toBe(0)
  })

  it('the built command runs on an embedded ClickHouse with --storage clickhouse', async () => {
    const file = new URL('../examples/rules/queues.test.yml', import.meta.url).pathname
    const { stdout } = await run(process.execPath, [CLI_MAIN, 'rules', 'test', '--storage', 'clickhouse', file], { timeout: 60_000 })
    expect(stdout).toBe(`Unit Testing:  ${file}\n  SUCCESS\n\n`)
    // A child process opening an embedded ClickHouse: up to a minute on two loaded cores.
  }, 90_000)
})
