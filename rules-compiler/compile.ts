/**
 * `rules compile`: for each rule, the ClickHouse statements that evaluating it runs, so an
 * operator can see and reproduce a rule in ClickHouse. Rules are evaluated as instant queries
 * on raw data (SelectHints.rawOnly) at the group's time minus its query_offset.
 *
 * The plan follows the engine: it offers each subtree, largest first, to the query side's
 * compiler (query/pushdown/), and whatever compiles runs as that one statement, printed with
 * its parameters for the evaluation time (pasted into /clickhouse/ with those parameters it
 * gives the subtree's value). What does not compile is read per selector by the Querier: the
 * series lookup, then the samples, whose text comes from the same place (query/read-sql.ts).
 * User text only ever appears as bound parameters.
 */
import type { LabelMatcher, SubtreeGrid } from '../promql/api.js'
import type { SubqueryExpr, VectorSelector } from '../promql/ast.js'
import { printExpr } from '../promql/printer.js'
import { lastSampleSql, matchedSeriesSql, minLastSeen, rawSamplesSql, sampleRangeWhere } from '../query/read-sql.js'
import { DEFAULT_MAX_OUTPUT_SERIES, GRID_AGGREGATES_CLAUSE } from '../query/pushdown/settings.js'
import { compileSubtree } from '../query/pushdown/statement.js'
import { formatDuration } from './duration.js'
import { children, parseRuleExpr, type Expr } from './promql.js'
import type { RuleGroupDefinition } from './rule-file.js'

export interface Statement {
  purpose: string
  sql: string
  params: Record<string, unknown>
}

/** A subtree evaluated as one statement (rows: name, labels, v = values per step, p = present per step). */
export interface PushedPlan {
  subtree: string
  statement: Statement
}

/** A selector the engine reads sample by sample (not part of a compiled subtree). */
export interface SelectorPlan {
  selector: string
  kind: 'instant' | 'range'
  /** How far before the evaluation time the window starts, and where it ends (ms, relative). */
  windowStartMs: number
  windowEndMs: number
  tables: string[]
  tier: 'raw'
  statements: Statement[]
}

export interface RulePlan {
  file: string
  line: number
  group: string
  kind: 'alert' | 'record'
  name: string
  expr: string
  intervalMs: number
  /** The evaluation time the statements' parameters are for (ms). */
  evaluationTime: number
  pushed: PushedPlan[]
  selectors: SelectorPlan[]
  error?: string
}

export interface CompileOptions {
  lookbackDeltaMs?: number
  defaultIntervalMs?: number
  /** Default: now. */
  evaluationTime?: number
}

const DEFAULT_SUBQUERY_STEP_MS = 60_000

export function compileGroups(groups: readonly RuleGroupDefinition[], opts: CompileOptions = {}): RulePlan[] {
  const lookback = opts.lookbackDeltaMs ?? 5 * 60_000
  const now = opts.evaluationTime ?? Date.now()
  const plans: RulePlan[] = []
  for (const g of groups) {
    for (const r of g.rules) {
      const base = { file: g.file, line: r.pos.line, group: g.name.value, kind: r.kind, name: r.name.value, intervalMs: g.intervalMs ?? opts.defaultIntervalMs ?? 60_000 }
      const parsed = parseRuleExpr(r.expr.value)
      if (!parsed.ok) {
        plans.push({ ...base, expr: r.expr.value, evaluationTime: now, pushed: [], selectors: [], error: parsed.message })
        continue
      }
      const t = now - (g.queryOffsetMs ?? 0)
      const grid: SubtreeGrid = { start: t, end: t, step: 0, lookbackDelta: lookback, queryStart: t, queryEnd: t, rawOnly: true }
      const out = { pushed: [] as PushedPlan[], selectors: [] as SelectorPlan[] }
      planNode(parsed.expr, grid, out)
      plans.push({ ...base, expr: printExpr(parsed.expr), evaluationTime: now, ...out })
    }
  }
  return plans
}

/** Node kinds the engine offers to storage whole (promql/eval/evaluator.ts). */
const OFFERED = new Set<Expr['type']>(['VectorSelector', 'Call', 'AggregateExpr', 'BinaryExpr'])

function planNode(e: Expr, grid: SubtreeGrid, out: { pushed: PushedPlan[]; selectors: SelectorPlan[] }): void {
  if (OFFERED.has(e.type)) {
    const stmt = compileSubtree(e, grid, { rowLimit: DEFAULT_MAX_OUTPUT_SERIES + 1 })
    if (stmt) {
      out.pushed.push({
        subtree: printExpr(e),
        statement: { purpose: 'the subtree, evaluated in ClickHouse', sql: `${stmt.sql}\n${GRID_AGGREGATES_CLAUSE}`, params: stmt.params },
      })
      return
    }
  }
  switch (e.type) {
    case 'VectorSelector':
      out.selectors.push(selectorPlan(e, 0, grid))
      return
    case 'MatrixSelector':
      out.selectors.push(selectorPlan(e.selector, e.range, grid, printExpr(e)))
      return
    case 'SubqueryExpr':
      planNode(e.expr, subqueryGrid(e, grid), out)
      return
    case 'Call':
      // timestamp() of a selector reads it directly (promql/eval/functions.ts).
      if (e.func === 'timestamp' && e.args[0]?.type === 'VectorSelector') {
        out.selectors.push(selectorPlan(e.args[0], 0, grid))
        return
      }
      break
    default:
      break
  }
  for (const c of children(e)) planNode(c, grid, out)
}

function atTime(sel: { at?: VectorSelector['at'] }, grid: SubtreeGrid): number | undefined {
  if (!sel.at) return undefined
  return sel.at.kind === 'start' ? grid.queryStart : sel.at.kind === 'end' ? grid.queryEnd : sel.at.t
}

/** The inner grid the engine evaluates a subquery over (promql/eval/evaluator.ts subquery). */
function subqueryGrid(e: SubqueryExpr, grid: SubtreeGrid): SubtreeGrid {
  const end = (atTime(e, grid) ?? grid.end) - e.offset
  const lo = (atTime(e, grid) ?? grid.start) - e.offset
  const step = e.step > 0 ? e.step : DEFAULT_SUBQUERY_STEP_MS
  const from = lo - e.range
  let start = step * Math.trunc(from / step)
  if (start <= from) start += step
  return { ...grid, start, end: start + Math.floor((end - start) / step) * step, step }
}

function selectorPlan(sel: VectorSelector, range: number, grid: SubtreeGrid, text = printExpr(sel)): SelectorPlan {
  const fixed = atTime(sel, grid)
  const end = (fixed ?? grid.end) - sel.offset
  const first = (fixed ?? grid.start) - sel.offset
  const start = first - (range || grid.lookbackDelta) + 1
  const kind = range > 0 ? 'range' : 'instant'
  return {
    selector: text,
    kind,
    windowStartMs: grid.queryEnd - start + 1,
    windowEndMs: grid.queryEnd - end,
    tables: ['series', 'samples'],
    tier: 'raw',
    statements: readStatements(sel.matchers, kind === 'instant' && grid.step === 0, start, end),
  }
}

function readStatements(matchers: readonly LabelMatcher[], lastOnly: boolean, start: number, end: number): Statement[] {
  const series = matchedSeriesSql(matchers)
  const where = sampleRangeWhere('{names:Array(String)}', '{ids:Array(UInt64)}', false)
  return [
    { purpose: 'series lookup (labels resolved on the series index)', sql: series.sql, params: { ...series.params, minLastSeen: minLastSeen(start) } },
    {
      purpose: lastOnly ? 'samples: the newest in the lookback window, per series' : 'samples: every sample in the window',
      sql: lastOnly ? lastSampleSql(where) : rawSamplesSql(where),
      params: { names: '<metric names of the series found>', ids: '<series_id of the series found>', start, end },
    },
  ]
}

function formatStatement(lines: string[], st: Statement, indent: string): void {
  lines.push(`${indent}-- ${st.purpose}`)
  lines.push(...st.sql.split('\n').map((l) => `${indent}${l}`))
  lines.push(`${indent}-- params: ${JSON.stringify(st.params)}`)
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
    if (p.pushed.length === 0 && p.selectors.length === 0) lines.push('  reads nothing (no selector)')
    lines.push(`  statements for evaluation time ${new Date(p.evaluationTime).toISOString()} (parameters below; raw samples, rules never read rollups):`)
    p.pushed.forEach((s, i) => {
      lines.push(`  subtree ${i + 1}: ${s.subtree}  (one statement)`)
      formatStatement(lines, s.statement, '    ')
    })
    p.selectors.forEach((s, i) => {
      const w = s.windowEndMs === 0 ? `(t-${formatDuration(s.windowStartMs)}, t]` : `(t-${formatDuration(s.windowStartMs)}, t-${formatDuration(s.windowEndMs)}]`
      lines.push(`  selector ${i + 1}: ${s.selector}  (${s.kind}, window ${w}, read by the engine; tables ${s.tables.join(', ')})`)
      for (const st of s.statements) formatStatement(lines, st, '    ')
    })
    lines.push('')
  }
  return lines.join('\n')
}
