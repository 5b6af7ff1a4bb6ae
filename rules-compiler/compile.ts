/**
 * `rules compile`: for each rule, what it reads and the SQL that runs, so an operator can
 * reproduce a rule in ClickHouse. Rules are evaluated as instant queries on raw data
 * (SelectHints.rawOnly), so every selector reads the `series` index, then the raw `samples`
 * table by (metric_name, series_id, timestamp); rollup tiers are never used for rules.
 * The series lookup is the ClickHouse querier's own statement (query/clickhouse-querier.ts,
 * seriesStatement); the samples statement follows the same shape (the querier keeps it
 * private): the newest sample per series for an instant selector, every sample in the
 * window for a range selector. User text only ever appears as bound parameters.
 */
import type { LabelMatcher } from '../promql/api.js'
import type { MatrixSelector, SubqueryExpr, VectorSelector } from '../promql/ast.js'
import { printExpr } from '../promql/printer.js'
import { ClickHouseQuerier } from '../query/clickhouse-querier.js'
import { rawSamplesSql, SAMPLE_KEYS } from '../query/sample-sql.js'
import { formatDuration } from './duration.js'
import { children, parseRuleExpr, type Expr } from './promql.js'
import type { RuleGroupDefinition } from './rule-file.js'

export interface SelectorPlan {
  selector: string
  kind: 'instant' | 'range'
  /** How far before the evaluation time the window starts, and where it ends (ms, relative). */
  windowStartMs: number
  windowEndMs: number
  tables: string[]
  tier: 'raw'
  statements: { purpose: string; sql: string; params: Record<string, unknown> }[]
}

export interface RulePlan {
  file: string
  line: number
  group: string
  kind: 'alert' | 'record'
  name: string
  expr: string
  intervalMs: number
  selectors: SelectorPlan[]
  error?: string
}

// Never called: seriesStatement only builds text.
const statements = new ClickHouseQuerier(undefined as never)

export function compileGroups(groups: readonly RuleGroupDefinition[], opts: { lookbackDeltaMs?: number; defaultIntervalMs?: number } = {}): RulePlan[] {
  const lookback = opts.lookbackDeltaMs ?? 5 * 60_000
  const plans: RulePlan[] = []
  for (const g of groups) {
    for (const r of g.rules) {
      const base = { file: g.file, line: r.pos.line, group: g.name.value, kind: r.kind, name: r.name.value, intervalMs: g.intervalMs ?? opts.defaultIntervalMs ?? 60_000 }
      const parsed = parseRuleExpr(r.expr.value)
      if (!parsed.ok) {
        plans.push({ ...base, expr: r.expr.value, selectors: [], error: parsed.message })
        continue
      }
      const offsetMs = g.queryOffsetMs ?? 0
      plans.push({ ...base, expr: printExpr(parsed.expr), selectors: selectorPlans(parsed.expr, lookback, offsetMs) })
    }
  }
  return plans
}

function selectorPlans(expr: Expr, lookback: number, queryOffset: number): SelectorPlan[] {
  const out: SelectorPlan[] = []
  const visit = (e: Expr, extraRange: number, extraOffset: number) => {
    if (e.type === 'SubqueryExpr') {
      const sq = e as SubqueryExpr
      visit(sq.expr, extraRange + sq.range, extraOffset + sq.offset)
      return
    }
    if (e.type === 'MatrixSelector' || e.type === 'VectorSelector') {
      const sel: VectorSelector = e.type === 'MatrixSelector' ? (e as MatrixSelector).selector : (e as VectorSelector)
      const range = e.type === 'MatrixSelector' ? (e as MatrixSelector).range : 0
      const end = queryOffset + extraOffset + sel.offset
      const start = end + extraRange + (range || lookback)
      out.push(plan(printExpr(e), sel.matchers, range > 0 || extraRange > 0 ? 'range' : 'instant', start, end))
      return
    }
    for (const c of children(e)) visit(c, extraRange, extraOffset)
  }
  visit(expr, 0, 0)
  return out
}

function plan(selector: string, matchers: readonly LabelMatcher[], kind: 'instant' | 'range', startBeforeMs: number, endBeforeMs: number): SelectorPlan {
  const series = statements.seriesStatement(matchers, 0)
  // The evaluation time is a parameter: {t:Int64} (ms). The series lookup's time bound follows it.
  const seriesParams = { ...series.params, minLastSeen: `{t} - ${startBeforeMs} - 3600000` }
  const window = `timestamp >= fromUnixTimestamp64Milli({t:Int64} - ${startBeforeMs}, 'UTC') AND timestamp <= fromUnixTimestamp64Milli({t:Int64} - ${endBeforeMs}, 'UTC')`
  const samplesSql = rawSamplesSql(kind === 'instant' ? 'newest' : 'all', `${SAMPLE_KEYS} AND ${window}`)
  return {
    selector,
    kind,
    windowStartMs: startBeforeMs,
    windowEndMs: endBeforeMs,
    tables: ['series', 'samples'],
    tier: 'raw',
    statements: [
      { purpose: 'series lookup (labels resolved on the series index)', sql: series.sql, params: seriesParams },
      {
        purpose: kind === 'instant' ? 'samples: the newest in the lookback window, per series' : 'samples: every sample in the range window',
        sql: samplesSql,
        params: { names: '<metric names of the series found>', ids: '<series_id of the series found>', t: '<evaluation time, ms>' },
      },
    ],
  }
}

export function formatPlansText(plans: readonly RulePlan[]): string {
  const lines: string[] = []
  for (const p of plans) {
    lines.push(`${p.file}:${p.line}: ${p.kind === 'alert' ? 'alert' : 'record'} ${p.name} (group ${p.group}, every ${formatDuration(p.intervalMs)})`)
    lines.push(`  expr: ${p.expr}`)
    if (p.error) {
      lines.push(`  error: ${p.error}`, '')
      continue
    }
    if (p.selectors.length === 0) lines.push('  reads nothing (no selector)')
    p.selectors.forEach((s, i) => {
      const w = s.windowEndMs === 0 ? `[t-${formatDuration(s.windowStartMs)}, t]` : `[t-${formatDuration(s.windowStartMs)}, t-${formatDuration(s.windowEndMs)}]`
      lines.push(`  selector ${i + 1}: ${s.selector}  (${s.kind}, window ${w}, tier ${s.tier}: rules read raw samples; tables ${s.tables.join(', ')})`)
      for (const st of s.statements) {
        lines.push(`    -- ${st.purpose}`)
        lines.push(...st.sql.split('\n').map((l) => `    ${l}`))
        lines.push(`    -- params: ${JSON.stringify(st.params)}`)
      }
    })
    lines.push('')
  }
  return lines.join('\n')
}
