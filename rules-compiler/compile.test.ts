import { describe, expect, it } from 'vitest'
import { compileGroups, formatPlansText } from './compile.js'
import { parseRuleFile } from './rule-file.js'

const plansOf = (yaml: string) => compileGroups(parseRuleFile('r.yml', yaml).groups)

describe('rules compile', () => {
  it('lists per rule each selector, its window, the raw tier and the SQL of the series lookup and the samples read', () => {
    const [p] = plansOf(`groups:
- name: g
  interval: 30s
  rules:
  - alert: Slow
    expr: histogram_quantile(0.99, sum by (le) (rate(http_duration_seconds_bucket{job="api"}[5m]))) > 1 and on() absent(up{job="api"} offset 1m) == 0
`)
    expect(p).toMatchObject({ kind: 'alert', name: 'Slow', group: 'g', intervalMs: 30_000, line: 5 })
    expect(p!.selectors.map((s) => [s.selector, s.kind, s.windowStartMs, s.windowEndMs, s.tier, s.tables.join('+')])).toEqual([
      ['http_duration_seconds_bucket{job="api"}[5m]', 'range', 300_000, 0, 'raw', 'series+samples'],
      ['up{job="api"} offset 1m', 'instant', 360_000, 60_000, 'raw', 'series+samples'],
    ])
    const [lookup, samples] = p!.selectors[0]!.statements
    expect(lookup!.sql).toMatch(/FROM series\nWHERE /)
    expect(Object.values(lookup!.params)).toEqual(expect.arrayContaining(['http_duration_seconds_bucket', 'job', 'api']))
    expect(samples!.sql).toMatch(/FROM samples\nWHERE metric_name IN \{names:Array\(String\)\} AND series_id IN \{ids:Array\(UInt64\)\}/)
    expect(p!.selectors[1]!.statements[1]!.sql).toContain('argMax(value, timestamp)')
  })

  it('query_offset and subqueries widen the window', () => {
    const [p] = plansOf(`groups:\n- name: g\n  query_offset: 1m\n  rules:\n  - record: r\n    expr: max_over_time(rate(a_total[5m])[1h:1m])\n`)
    expect(p!.selectors.map((s) => [s.kind, s.windowStartMs, s.windowEndMs])).toEqual([['range', 60_000 + 3_600_000 + 300_000, 60_000]])
  })

  it('user text reaches the SQL only as parameters', () => {
    const evil = `x'); DROP TABLE samples; --`
    const promql = `up{job=${JSON.stringify(evil)}, instance=~"a.*"}`
    const [p] = plansOf(`groups:\n- name: g\n  rules:\n  - record: r\n    expr: ${JSON.stringify(promql)}\n`)
    for (const st of p!.selectors[0]!.statements) expect(st.sql).not.toContain('DROP')
    expect(Object.values(p!.selectors[0]!.statements[0]!.params)).toContain(evil)
  })

  it('a rule that does not parse is reported, with the others still planned', () => {
    const plans = plansOf(`groups:\n- name: g\n  rules:\n  - record: bad\n    expr: sum(\n  - record: good\n    expr: vector(1)\n`)
    expect(plans.map((p) => [p.name, p.error !== undefined, p.selectors.length])).toEqual([
      ['bad', true, 0],
      ['good', false, 0],
    ])
    expect(formatPlansText(plans)).toContain('reads nothing (no selector)')
  })
})
