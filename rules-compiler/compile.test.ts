import { describe, expect, it } from 'vitest'
import { compileGroups, formatPlansText } from './compile.js'
import { parseRuleFile } from './rule-file.js'

const T = Date.UTC(2026, 11, 4, 12, 0, 0)
const plansOf = (yaml: string) => compileGroups(parseRuleFile('r.yml', yaml).groups, { evaluationTime: T })

describe('rules compile', () => {
  it('prints one statement per subtree ClickHouse evaluates whole, and the engine’s reads for the rest', () => {
    const [p] = plansOf(`groups:
- name: g
  interval: 30s
  rules:
  - alert: Slow
    expr: histogram_quantile(0.99, sum by (le) (rate(http_duration_seconds_bucket{job="api"}[5m]))) > 1 and on() absent(up{job="api"} offset 1m) == 0
`)
    expect(p).toMatchObject({ kind: 'alert', name: 'Slow', group: 'g', intervalMs: 30_000, line: 5, evaluationTime: T })
    expect(p!.pushed.map((s) => s.subtree)).toEqual(['sum by (le) (rate(http_duration_seconds_bucket{job="api"}[5m]))', 'up{job="api"} offset 1m'])
    const [agg, up] = p!.pushed
    expect(agg!.statement.sql).toContain('timeSeriesRateToGrid')
    expect(agg!.statement.sql).toMatch(/SETTINGS allow_experimental_time_series_aggregate_functions = 1$/)
    expect(agg!.statement.params).toMatchObject({ gridStart: T, gridEnd: T, windowMs: 300_000, start: T - 300_000, end: T, grouping: ['le'] })
    expect(Object.values(agg!.statement.params)).toEqual(expect.arrayContaining(['http_duration_seconds_bucket', 'job', 'api']))
    expect(up!.statement.sql).toContain('timeSeriesLastToGrid')
    expect(up!.statement.params).toMatchObject({ gridStart: T - 60_000, windowMs: 300_000 })
    expect(p!.selectors).toEqual([])
  })

  it('selectors outside a compiled subtree are read by the engine: series lookup, then samples', () => {
    const [p] = plansOf(`groups:\n- name: g\n  rules:\n  - record: r\n    expr: timestamp(up{job="a"}) - quantile_over_time(0.5, x[10m])\n`)
    expect(p!.pushed).toEqual([])
    expect(p!.selectors.map((s) => [s.selector, s.kind, s.windowStartMs, s.windowEndMs])).toEqual([
      ['up{job="a"}', 'instant', 300_000, 0],
      ['x[10m]', 'range', 600_000, 0],
    ])
    const [lookup, samples] = p!.selectors[0]!.statements
    expect(lookup!.sql).toMatch(/FROM series\nWHERE /)
    expect(samples!.sql).toContain('argMax(value, timestamp)')
    expect(p!.selectors[1]!.statements[1]!.sql).toMatch(/FROM samples\nWHERE metric_name IN \{names:Array\(String\)\} AND series_id IN \{ids:Array\(UInt64\)\}/)
  })

  it('query_offset moves the evaluation time; a subquery is planned over its own grid', () => {
    const [p] = plansOf(`groups:\n- name: g\n  query_offset: 1m\n  rules:\n  - record: r\n    expr: max_over_time(rate(a_total[5m])[1h:1m])\n`)
    expect(p!.pushed.map((s) => s.subtree)).toEqual(['rate(a_total[5m])'])
    const params = p!.pushed[0]!.statement.params
    expect(params.gridEnd).toBe(T - 60_000)
    expect(params.stepMs).toBe(60_000)
    expect(params.gridStart).toBe(T - 60_000 - 3_600_000 + 60_000)
  })

  it('user text reaches the SQL only as parameters', () => {
    const evil = `x'); DROP TABLE samples; --`
    for (const promql of [`up{job=${JSON.stringify(evil)}, instance=~"a.*"}`, `sum by (${'a'}) (quantile_over_time(0.5, up{job=${JSON.stringify(evil)}}[5m]))`]) {
      const [p] = plansOf(`groups:\n- name: g\n  rules:\n  - record: r\n    expr: ${JSON.stringify(promql)}\n`)
      const statements = [...p!.pushed.map((s) => s.statement), ...p!.selectors.flatMap((s) => s.statements)]
      expect(statements.length).toBeGreaterThan(0)
      for (const st of statements) expect(st.sql).not.toContain('DROP')
      expect(statements.flatMap((st) => Object.values(st.params))).toContain(evil)
    }
  })

  it('a rule that does not parse is reported, with the others still planned', () => {
    const plans = plansOf(`groups:\n- name: g\n  rules:\n  - record: bad\n    expr: sum(\n  - record: good\n    expr: vector(1)\n`)
    expect(plans.map((p) => [p.name, p.error !== undefined, p.pushed.length + p.selectors.length])).toEqual([
      ['bad', true, 0],
      ['good', false, 0],
    ])
    expect(formatPlansText(plans)).toContain('reads nothing (no selector)')
  })
})
