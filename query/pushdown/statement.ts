/**
 * A pushdown plan (plan.ts) over a step grid -> one ClickHouse statement. The statement
 * resolves the selector's series on `series`, reduces each series' samples to its step grid
 * with a `timeSeries*ToGrid` aggregate, and (for an aggregation) folds those grids by label
 * group with `-ForEach` aggregates. It returns rows `name, labels, v, p`: the metric name
 * ('' when aggregated away), the other labels, and per step a value and a presence flag.
 *
 * Every value that comes from the query (matchers, times, grouping labels, arguments) is a
 * bound parameter; the SQL text depends only on the plan's shape.
 */
import type { SubtreeGrid } from '../../promql/api.js'
import { isStaleSql, matchedSeriesSql, minLastSeen, msParam, clampMs, sampleRangeWhere } from '../read-sql.js'
import { snapshotParams, type ReadSnapshot } from '../read-snapshot.js'
import type { BoundSql } from '../matcher-sql.js'
import type { Expr } from '../../promql/ast.js'
import { GRID_FUNCTIONS, planSubtree, type AggregatePlan, type PushdownPlan, type SelectorRead, type SeriesPlan } from './plan.js'

/** The grid the SQL computes: one point when `@` pins the time (the engine's grid repeats it). */
export interface SqlGrid {
  readonly start: number
  readonly end: number
  readonly step: number
  readonly n: number
}

export interface CompiledStatement extends BoundSql {
  /** Steps per returned series; 1 with `@` (then repeated over `repeat` steps). */
  readonly grid: SqlGrid
  readonly repeat: number
  /** Whether the result's series still carry a `__name__` the query must drop at its end. */
  readonly dropName: boolean
  /** The selector's read span (ms, left-open), for the tier rule. */
  readonly read: { readonly start: number; readonly end: number; readonly range: number; readonly func?: string }
}

export interface CompileOptions {
  /** At most this many rows come back; the caller refuses the query when it gets all of them. */
  readonly rowLimit: number
  /** The query's read snapshot: samples newer than it are not read (query/read-snapshot.ts). */
  readonly snapshot?: ReadSnapshot
}

function stepsOf(start: number, end: number, step: number): number {
  return step > 0 ? Math.floor((end - start) / step) + 1 : 1
}

/** The times the selector reads at, after `@` and offset (promql/eval/evaluator.ts readTimes). */
function sqlGrid(read: SelectorRead, g: SubtreeGrid, n: number): SqlGrid {
  if (read.at) {
    const t = (read.at.kind === 'start' ? g.queryStart : read.at.kind === 'end' ? g.queryEnd : read.at.t) - read.offset
    return { start: t, end: t, step: 0, n: 1 }
  }
  const start = g.start - read.offset
  return { start, end: start + (n - 1) * g.step, step: n > 1 ? g.step : 0, n }
}

const GRID_ARGS = `${msParam('gridStart')}, ${msParam('gridEnd')}, toDecimal64({stepMs:Int64}, 3) / 1000, toDecimal64({windowMs:Int64}, 3) / 1000`

/** SQL of one series' grid: an Array(Nullable(Float64)) over the series' samples. */
function gridExpr(plan: SeriesPlan): string {
  if (plan.kind === 'instant') {
    // The newest sample in the lookback window, unless it is a stale marker: the same
    // aggregate run over the marker flag tells which steps end on one.
    return `arrayMap((x, s) -> if(s = 1, NULL, x),
      timeSeriesLastToGrid(${GRID_ARGS})(timestamp, value),
      timeSeriesLastToGrid(${GRID_ARGS})(timestamp, toFloat64(${isStaleSql('value')})))`
  }
  const extra = plan.func === 'predict_linear' ? ', {arg:Float64}' : ''
  return `${GRID_FUNCTIONS[plan.func]}(${GRID_ARGS}${extra})(timestamp, value)`
}

/**
 * Per aggregation: the `-ForEach` aggregates over the grids (columns of the grouped select,
 * `cnt` is always there) and the per-step value computed from them. Where ClickHouse's float
 * rules differ from Prometheus's, the value corrects them (each case failed a promqltest eval):
 * - sum: Kahan summation as Prometheus, but ClickHouse's sumKahan turns an infinite input into
 *   NaN where Prometheus keeps the infinity: the plain sum answers those steps.
 * - avg: Prometheus switches to an incremental mean when the sum overflows; the sum of the
 *   values scaled by 2^-64 (exact for doubles this large) gives that mean.
 * - stddev/stdvar: any NaN or infinite input makes Prometheus's Welford sum NaN; ClickHouse
 *   skips NaN.
 */
const AGGREGATE_SQL: Record<AggregatePlan['op'], { cols: string; value: string }> = {
  sum: { cols: 'sumKahanForEach(grid) AS k, sumForEach(grid) AS s', value: "arrayMap((k, s) -> if(isNaN(k) AND NOT isNaN(s), s, k), k, s)" },
  avg: {
    cols: 'sumKahanForEach(grid) AS k, sumForEach(grid) AS s, sumKahanForEach(arrayMap(x -> x * pow(2, -64), grid)) AS scaled',
    value: "arrayMap((k, s, scaled, c) -> if(isInfinite(s) AND isFinite(scaled), scaled / c * pow(2, 64), if(isNaN(k) AND NOT isNaN(s), s, k) / c), k, s, scaled, cnt)",
  },
  min: { cols: 'minForEach(grid) AS m', value: 'm' },
  max: { cols: 'maxForEach(grid) AS m', value: 'm' },
  count: { cols: '1 AS none', value: 'arrayMap(c -> toFloat64(c), cnt)' },
  group: { cols: '1 AS none', value: 'arrayMap(c -> 1.0, cnt)' },
  stddev: { cols: 'stddevPopStableForEach(grid) AS d, maxForEach(arrayMap(x -> toUInt8(NOT isFinite(x)), grid)) AS bad', value: 'arrayMap((d, b) -> if(b = 1, nan, d), d, bad)' },
  stdvar: { cols: 'varPopStableForEach(grid) AS d, maxForEach(arrayMap(x -> toUInt8(NOT isFinite(x)), grid)) AS bad', value: 'arrayMap((d, b) -> if(b = 1, nan, d), d, bad)' },
}

/** SQL: the output labels of an aggregation's group (Prometheus's by/without rules). */
function groupLabelsSql(plan: AggregatePlan): string {
  if (plan.without) return `mapFilter((k, v) -> NOT has({grouping:Array(String)}, k), CAST(m.s_labels AS Map(String, String)))`
  // `by (__name__)` over a function that dropped the name groups by the empty name.
  const name = dropsName(plan.inner) ? "''" : 'toString(m.s_name)'
  return `mapFilter((k, v) -> v != '', mapFromArrays({grouping:Array(String)}, arrayMap(k -> if(k = '__name__', ${name}, m.s_labels[k]), {grouping:Array(String)})))`
}

/** Prometheus 3.5: every range function but last_over_time drops the metric name. */
function dropsName(plan: SeriesPlan): boolean {
  return plan.kind === 'range' && plan.func !== 'last_over_time'
}

export function compileStatement(plan: PushdownPlan, g: SubtreeGrid, opts: CompileOptions): CompiledStatement {
  const series = plan.kind === 'aggregate' ? plan.inner : plan
  const n = stepsOf(g.start, g.end, g.step)
  const grid = sqlGrid(series.read, g, n)
  const window = series.kind === 'instant' ? g.lookbackDelta : series.range
  const readStart = grid.start - window
  const matched = matchedSeriesSql(series.read.selector.matchers)
  const grids = `SELECT series_id, ${gridExpr(series)} AS grid
  FROM samples
  WHERE ${sampleRangeWhere('(SELECT s_name FROM matched)', '(SELECT series_id FROM matched)', true, opts.snapshot !== undefined)}${series.kind === 'range' ? `\n    AND NOT ${isStaleSql('value')}` : ''}
  GROUP BY series_id`
  let select: string
  if (plan.kind === 'aggregate') {
    const agg = AGGREGATE_SQL[plan.op]
    select = `SELECT '' AS name, labels, arrayMap(x -> ifNull(x, nan), ${agg.value}) AS v, arrayMap(c -> toUInt8(c > 0), cnt) AS p
FROM (
  SELECT ${groupLabelsSql(plan)} AS labels, ${agg.cols}, countForEach(grid) AS cnt
  FROM grids INNER JOIN matched AS m ON grids.series_id = m.series_id
  GROUP BY labels
)`
  } else {
    select = `SELECT toString(m.s_name) AS name, CAST(m.s_labels AS Map(String, String)) AS labels, arrayMap(x -> ifNull(x, nan), grid) AS v, arrayMap(x -> toUInt8(isNotNull(x)), grid) AS p
FROM grids INNER JOIN matched AS m ON grids.series_id = m.series_id
WHERE arrayExists(x -> isNotNull(x), grid)`
  }
  const sql = `WITH
matched AS (
${matched.sql}
),
grids AS (
  ${grids}
)
${select}
LIMIT {rowLimit:UInt64}`
  const params: Record<string, unknown> = {
    ...matched.params,
    ...(opts.snapshot ? snapshotParams(opts.snapshot) : {}),
    minLastSeen: minLastSeen(readStart),
    start: clampMs(readStart),
    end: clampMs(grid.end),
    gridStart: grid.start,
    gridEnd: grid.end,
    stepMs: grid.step,
    windowMs: window,
    rowLimit: opts.rowLimit,
  }
  if (series.kind === 'range' && series.arg !== undefined) params.arg = series.arg
  if (plan.kind === 'aggregate') params.grouping = plan.grouping
  return {
    sql,
    params,
    grid,
    repeat: series.read.at ? n : 1,
    dropName: plan.kind !== 'aggregate' && dropsName(series),
    read: { start: readStart, end: grid.end, range: series.kind === 'range' ? series.range : 0, ...(series.kind === 'range' ? { func: series.func } : {}) },
  }
}

/**
 * The statement for a subtree over a grid, or undefined when the planner declines it or its
 * times lie outside what DateTime64 holds: what the Querier runs and `rules compile` prints.
 */
export function compileSubtree(expr: Expr, g: SubtreeGrid, opts: CompileOptions): CompiledStatement | undefined {
  const plan = planSubtree(expr)
  if (!plan) return undefined
  const stmt = compileStatement(plan, g, opts)
  if (stmt.grid.start !== clampMs(stmt.grid.start) || stmt.grid.end !== clampMs(stmt.grid.end)) return undefined
  return stmt
}
