/**
 * Which PromQL subtrees one ClickHouse statement answers exactly, as Prometheus would:
 * the planner's half of Querier.evaluate (promql/api.ts). It reads the AST and either
 * returns a plan or declines (undefined), and the engine then evaluates the node itself.
 *
 * What is pushed down, and why the rest is not, was measured against Prometheus's own
 * test files run through this path (test/integration/query-promqltest.test.ts) and against
 * the engine on random data (query/pushdown/pushdown.property.test.ts); docs/promql.md
 * lists it for users.
 */
import type { AggregateOp, AtModifier, Expr, VectorSelector } from '../../promql/ast.js'

/** Range functions with a `timeSeries*ToGrid` aggregate that agrees with Prometheus. */
export const GRID_FUNCTIONS = {
  rate: 'timeSeriesRateToGrid',
  increase: 'timeSeriesIncreaseToGrid',
  delta: 'timeSeriesDeltaToGrid',
  irate: 'timeSeriesInstantRateToGrid',
  idelta: 'timeSeriesInstantDeltaToGrid',
  resets: 'timeSeriesResetsToGrid',
  predict_linear: 'timeSeriesPredictLinearToGrid',
  last_over_time: 'timeSeriesLastToGrid',
} as const

export type GridFunction = keyof typeof GRID_FUNCTIONS

/** Aggregations computed over the per-series grids (labels from the `series` table). */
export const AGGREGATIONS = ['sum', 'avg', 'min', 'max', 'count', 'group', 'stddev', 'stdvar'] as const
export type PushedAggregation = (typeof AGGREGATIONS)[number]

/** Where and when a selector reads: its matchers, offset and `@`. */
export interface SelectorRead {
  readonly selector: VectorSelector
  readonly offset: number
  readonly at?: AtModifier
}

/** One grid per series: an instant selector (lookback, staleness) or a range function. */
export type SeriesPlan =
  | { readonly kind: 'instant'; readonly read: SelectorRead }
  | { readonly kind: 'range'; readonly func: GridFunction; readonly read: SelectorRead; readonly range: number; readonly arg?: number }

export interface AggregatePlan {
  readonly kind: 'aggregate'
  readonly op: PushedAggregation
  readonly grouping: readonly string[]
  readonly without: boolean
  readonly inner: SeriesPlan
}

export type PushdownPlan = SeriesPlan | AggregatePlan

function unwrap(e: Expr): Expr {
  while (e.type === 'ParenExpr') e = e.expr
  return e
}

function readOf(sel: VectorSelector): SelectorRead {
  return { selector: sel, offset: sel.offset, ...(sel.at ? { at: sel.at } : {}) }
}

function isGridFunction(name: string): name is GridFunction {
  return Object.hasOwn(GRID_FUNCTIONS, name)
}

function planSeries(e: Expr): SeriesPlan | undefined {
  e = unwrap(e)
  if (e.type === 'VectorSelector') return { kind: 'instant', read: readOf(e) }
  if (e.type !== 'Call' || !isGridFunction(e.func)) return undefined
  const m = unwrap(e.args[0] ?? { type: 'StringLiteral', value: '', pos: { start: 0, end: 0 } })
  if (m.type !== 'MatrixSelector') return undefined
  if (e.func === 'predict_linear') {
    // Prometheus predicts from the evaluation time, the grid aggregate from the (offset) read time.
    if (m.selector.offset !== 0 || m.selector.at) return undefined
    const t = unwrap(e.args[1])
    if (t.type !== 'NumberLiteral' || !Number.isFinite(t.value)) return undefined
    return { kind: 'range', func: e.func, read: readOf(m.selector), range: m.range, arg: t.value }
  }
  if (e.args.length !== 1) return undefined
  return { kind: 'range', func: e.func, read: readOf(m.selector), range: m.range }
}

function pinsName(sel: VectorSelector): boolean {
  return sel.matchers.some((m) => m.name === '__name__' && m.type === '=')
}

export function planSubtree(expr: Expr): PushdownPlan | undefined {
  const e = unwrap(expr)
  if (e.type === 'AggregateExpr') {
    if (!(AGGREGATIONS as readonly AggregateOp[]).includes(e.op) || e.param) return undefined
    const inner = planSeries(e.expr)
    if (!inner) return undefined
    // The engine names rate/increase's non-counter note from a pinned name (promql/api.ts).
    if (inner.kind === 'range' && (inner.func === 'rate' || inner.func === 'increase') && !pinsName(inner.read.selector)) return undefined
    return { kind: 'aggregate', op: e.op as PushedAggregation, grouping: e.grouping, without: e.without, inner }
  }
  return planSeries(e)
}
