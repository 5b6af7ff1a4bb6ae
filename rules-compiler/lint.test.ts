import fc from 'fast-check'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runRulesCli } from '../test/run-rules-cli.js'
import { parseLintConfig } from './lint-config.js'
import { lintText } from './lint.js'

const dir = mkdtempSync(join(tmpdir(), 'metrichouse-lint-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const GOOD = `groups:
- name: node
  rules:
  - alert: NodeDown
    expr: up{job="node"} == 0
    for: 5m
    labels:
      severity: critical
    annotations:
      summary: 'Node {{ $labels.instance }} is down'
`

describe('positions', () => {
  it('points at the PromQL error inside a block scalar, line and column', () => {
    const p = lintText('r.yml', `groups:\n- name: g\n  rules:\n  - record: x\n    expr: |\n      sum(rate(a_total[5m]))\n        + rat(b_total[5m])\n`)
    const e = p.find((x) => x.check === 'promql/syntax')!
    expect(e).toMatchObject({ file: 'r.yml', line: 7, severity: 'error' })
    expect(e.column).toBeGreaterThanOrEqual(9)
    expect(e.message).toContain('rat')
  })

  it('points at an unknown key', () => {
    const p = lintText('r.yml', GOOD.replace('    for: 5m\n', '    for: 5m\n    fro: 1m\n'))
    expect(p.filter((x) => x.severity === 'error')).toEqual([expect.objectContaining({ line: 7, column: 5, check: 'schema' })])
  })

  it('points at a bad template inside a quoted scalar', () => {
    const p = lintText('r.yml', GOOD.replace("'Node {{ $labels.instance }} is down'", "'Node {{ $lables.instance }} is down'"))
    expect(p.find((x) => x.check === 'template/syntax')).toMatchObject({ line: 10, column: 25 })
  })
})

describe('Kubernetes PrometheusRule manifests', () => {
  const manifest = (name: string, body: string) =>
    `apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n  name: ${name}\nspec:\n${body.trimEnd().replace(/^/gm, '  ')}\n`

  it('reads every document of a multi-document file and reports positions in the file', () => {
    const text = [manifest('a', GOOD), manifest('b', GOOD.replace('== 0', '== ')), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n'].join('---\n')
    const p = lintText('k.yaml', text)
    const errors = p.filter((x) => x.severity === 'error')
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ check: 'promql/syntax', line: 26 })
    // The same group name in two resources is no duplicate.
    expect(p.some((x) => x.check === 'group/duplicate')).toBe(false)
    expect(p.some((x) => x.severity === 'info' && x.message.includes('ConfigMap'))).toBe(true)
  })

  it('rejects a wrong apiVersion', () => {
    const p = lintText('k.yaml', manifest('a', GOOD).replace('monitoring.coreos.com/v1', 'example.com/v1'))
    expect(p).toEqual([expect.objectContaining({ check: 'schema', severity: 'error' })])
  })
})

describe('pint-like checks', () => {
  const warningsOf = (text: string, config = parseLintConfig(null)) => lintText('r.yml', text, config).map((p) => `${p.check}:${p.severity}`)

  it('finds nothing on a rule that follows every convention', () => {
    expect(lintText('r.yml', GOOD)).toEqual([])
  })

  it.each([
    ['promql/rate-counter', GOOD.replace('up{job="node"} == 0', 'rate(node_load1[5m]) > 1')],
    ['promql/rate-range', GOOD.replace('up{job="node"} == 0', 'rate(a_total[1m]) > 1')],
    ['alerts/for', GOOD.replace('    for: 5m\n', '')],
    ['rules/required-labels', GOOD.replace('      severity: critical\n', '      team: infra\n')],
    ['promql/rate-range', GOOD.replace('up{job="node"} == 0', 'rate(a_total[90s]) > 1')],
    ['promql/regexp', GOOD.replace('up{job="node"} == 0', 'max by (instance) ({__name__=~"up|node_up"}) == 0')],
    ['promql/regexp', GOOD.replace('up{job="node"}', 'up{job=~"^node$"}')],
    ['promql/regexp', GOOD.replace('up{job="node"}', 'up{job=~"node"}')],
    ['promql/regexp', GOOD.replace('up{job="node"}', 'up{job="node", instance=~".*"}')],
    ['alerts/for', GOOD.replace('    for: 5m\n', '').replace('up{job="node"} == 0', 'irate(a_total[5m]) > 10')],
    ['alerts/for', GOOD.replace('    for: 5m\n', '').replace('up{job="node"} == 0', 'sum by (instance) (node_load1) > 4')],
    ['alerts/never-fires', GOOD.replace('up{job="node"} == 0', 'rate(a_total[5m]) < 0')],
    ['rules/required-annotations', GOOD.replace('      summary:', '      description:')],
    ['alerts/never-fires', GOOD.replace('up{job="node"} == 0', 'absent(up{job="node"}) > 1')],
    ['alerts/never-fires', GOOD.replace('up{job="node"} == 0', 'count(up) < 0')],
    ['promql/aggregation-drops-label', GOOD.replace('up{job="node"} == 0', 'sum by (job) (up) == 0')],
    ['template/unknown-label', GOOD.replace('up{job="node"} == 0', 'vector(1) > 0')],
    ['rules/duplicate', GOOD + GOOD.split('\n').slice(3).join('\n')],
  ])('%s reports a warning by default', (check, text) => {
    expect(warningsOf(text)).toContain(`${check}:warning`)
    expect(lintText('r.yml', text).filter((p) => p.severity === 'error')).toEqual([])
  })

  it.each([
    ['an explicit "for: 0s" (a decision, not an omission)', GOOD.replace('for: 5m', 'for: 0s')],
    ['no "for" on a smoothed condition (rate over 5m)', GOOD.replace('    for: 5m\n', '').replace('up{job="node"} == 0', 'rate(a_total[5m]) > 1')],
    ['no "for" on absent()', GOOD.replace('    for: 5m\n', '').replace('up{job="node"} == 0', 'absent(up{job="node"})').replace('{{ $labels.instance }}', '{{ $labels.job }}')],
    ['any severity value (page, ticket) without a config', GOOD.replace('severity: critical', 'severity: page')],
    ['a regex with metacharacters', GOOD.replace('up{job="node"}', 'up{job=~"node|node-exporter"}')],
    ['rate() range of 2 scrape intervals', GOOD.replace('up{job="node"} == 0', 'rate(a_total[2m]) > 1')],
  ])('reports nothing for %s', (_what, text) => {
    expect(lintText('r.yml', text)).toEqual([])
  })

  it('a config narrows the allowed severities', () => {
    const config = parseLintConfig({ checks: { 'rules/required-labels': { labels: { severity: ['critical', 'warning'] } } } })
    expect(warningsOf(GOOD.replace('severity: critical', 'severity: page'), config)).toEqual(['rules/required-labels:warning'])
  })

  it('an aggregation that drops a label Alertmanager routes on (from its config file) is reported', () => {
    const am = join(dir, 'alertmanager.yml')
    writeFileSync(am, 'route:\n  receiver: a\n  group_by: [alertname, cluster]\n  routes:\n  - matchers: [\'team="db"\']\n    receiver: b\nreceivers: [{name: a}, {name: b}]\n')
    const config = parseLintConfig({ checks: { 'promql/aggregation-drops-label': { alertmanager_config: am } } })
    expect(config.routingLabels).toEqual(['cluster', 'team'])
    const text = GOOD.replace('up{job="node"} == 0', 'sum by (instance) (up) == 0').replace("summary: 'Node {{ $labels.instance }} is down'", 'summary: down')
    expect(lintText('r.yml', text, config).map((p) => p.message)).toEqual([
      expect.stringContaining('Alertmanager routes on label "cluster"'),
      expect.stringContaining('Alertmanager routes on label "team"'),
    ])
    expect(lintText('r.yml', text.replace('severity: critical', 'severity: critical\n      team: db'), config)).toHaveLength(1)
  })

  it('rate() over a metric whose stored metadata says gauge is reported, whatever its name', () => {
    const config = { ...parseLintConfig(null), metricTypes: new Map([['queue_total', 'gauge'], ['node_load1', 'counter']]) }
    const text = (e: string) => GOOD.replace('up{job="node"} == 0', e)
    expect(lintText('r.yml', text('rate(queue_total[5m]) > 1'), config).map((p) => p.message)).toEqual([expect.stringContaining('its metadata says is a gauge')])
    expect(lintText('r.yml', text('rate(node_load1[5m]) > 1'), config)).toEqual([])
  })

  it('a config raises a check to error, or switches it off', () => {
    const text = GOOD.replace('    for: 5m\n', '')
    expect(warningsOf(text, parseLintConfig({ checks: { 'alerts/for': 'error' } }))).toEqual(['alerts/for:error'])
    expect(warningsOf(text, parseLintConfig({ checks: { 'alerts/for': 'off' } }))).toEqual([])
  })

  it('a config sets required labels and the rate range', () => {
    const config = parseLintConfig({ checks: { 'rules/required-labels': { labels: { team: null } }, 'promql/rate-range': { scrape_interval: '10s', multiplier: 4 } } })
    expect(warningsOf(GOOD.replace('up{job="node"} == 0', 'rate(a_total[1m]) > 1'), config)).toEqual(['rules/required-labels:warning'])
  })

  it('a comment disables a check for one rule only', () => {
    const two = GOOD.replace('    for: 5m\n', '') + GOOD.split('\n').slice(3).join('\n').replace('NodeDown', 'NodeDown2').replace('    for: 5m\n', '')
    const disabled = two.replace('  - alert: NodeDown\n', '  # metrichouse-lint disable alerts/for\n  - alert: NodeDown\n')
    expect(warningsOf(two).filter((w) => w.startsWith('alerts/for'))).toHaveLength(2)
    expect(warningsOf(disabled).filter((w) => w.startsWith('alerts/for'))).toHaveLength(1)
  })

  it('a comment cannot disable a promtool-level error', () => {
    const text = GOOD.replace('  - alert: NodeDown\n', '  # metrichouse-lint disable promql/syntax\n  - alert: NodeDown\n').replace('== 0', '==')
    expect(warningsOf(text)).toContain('promql/syntax:error')
  })

  it.each([
    [{ checks: { 'no/such': 'error' } }, /unknown check/],
    [{ checks: { 'alerts/for': 'fatal' } }, /severity must be/],
    [{ rules: {} }, /unknown key/],
  ])('rejects a bad config %j', (raw, message) => {
    expect(() => parseLintConfig(raw)).toThrow(message)
  })
})

describe('never crashes on broken input', () => {
  it('any text, and any truncation of a valid file, yields problems or nothing, never an exception', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.nat(GOOD.length).map((n) => GOOD.slice(0, n)), fc.tuple(fc.nat(GOOD.length), fc.string({ maxLength: 5 })).map(([n, s]) => GOOD.slice(0, n) + s + GOOD.slice(n))), (text) => {
        const problems = lintText('fuzz.yml', text)
        for (const p of problems) {
          expect(p.line).toBeGreaterThanOrEqual(1)
          expect(p.column).toBeGreaterThanOrEqual(1)
        }
      }),
      { numRuns: 400 },
    )
  })
})

describe('metrichouse rules lint: output and exit status', () => {
  const file = (name: string, text: string) => {
    const f = join(dir, name)
    writeFileSync(f, text)
    return f
  }
  const good = file('good.yml', GOOD)
  const warn = file('warn.yml', GOOD.replace('    for: 5m\n', ''))
  const bad = file('bad.yml', GOOD.replace('== 0', '=='))

  const runLint = (...argv: string[]) => runRulesCli('lint', ...argv)


  it('a directory skips promtool unit-test files that sit beside the rules', async () => {
    const { code, out } = await runLint(new URL('../examples/rules/', import.meta.url).pathname)
    expect(code).toBe(0)
    expect(out).toContain('2 file(s) checked: 0 error(s)')
  })

  it.each([
    ['a clean file', [good], 0],
    ['warnings only', [warn], 0],
    ['warnings with --fail-on warning', ['--fail-on', 'warning', warn], 1],
    ['an error', [bad], 1],
    ['a directory holding an error', [dir], 1],
    ['a missing file', [join(dir, 'missing.yml')], 2],
    ['no files', [], 2],
    ['an unknown flag', ['--frobnicate', good], 2],
    ['a bad --format', ['--format', 'xml', good], 2],
  ] as const)('%s -> exit %d', async (_name, argv, code) => {
    expect((await runLint(...argv)).code).toBe(code)
  })

  it('text output names file:line:column, severity, message and check', async () => {
    const { out } = await runLint(bad)
    expect(out).toMatch(new RegExp(`^${bad}:5:\\d+: error: could not parse expression: .* \\(promql/syntax\\)$`, 'm'))
    expect(out).toContain('1 file(s) checked: 1 error(s)')
  })

  it('json output is one document with every problem', async () => {
    const { out } = await runLint('--format', 'json', bad, warn)
    const doc = JSON.parse(out) as { files: number; problems: { check: string; severity: string; line: number }[] }
    expect(doc.files).toBe(2)
    expect(doc.problems.map((p) => `${p.check}:${p.severity}`).sort()).toEqual(['alerts/for:warning', 'promql/syntax:error'])
  })

  it('github output is workflow annotations', async () => {
    const { out } = await runLint('--format', 'github', bad, warn)
    expect(out).toMatch(new RegExp(`^::error file=${bad},line=5,col=\\d+,title=promql/syntax::could not parse expression`, 'm'))
    expect(out).toMatch(/^::warning file=.*warn\.yml,line=4,col=\d+,title=alerts\/for::/m)
  })
})
