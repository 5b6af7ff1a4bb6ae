/**
 * The PromQL engine's storage over ClickHouse (promql/api.ts: Querier and LabelQuerier).
 *
 * One selector costs two statements: the matchers resolve on the small `series` table
 * (labels come back once per series), then the samples of exactly those series ids are
 * read by the primary key (metric_name, series_id, timestamp) within the hinted bounds.
 * Stale markers are recognised in SQL by their bits: text output formats print every NaN
 * as `nan` and would lose the payload that makes a NaN a marker.
 *
 * Push-downs (each can be switched off to measure it, see bench/query.ts):
 * - `matchers`: label matchers evaluated by ClickHouse on `series`; off, every series of
 *   the metric (or all series) is read and the matchers run here with RE2 (re2js).
 * - `lastSample`: an instant vector selector evaluated at one time needs only the newest
 *   sample of each series in its lookback window; ClickHouse returns just that one
 *   (argMax by timestamp). Exactly equivalent: the engine takes the newest sample in the
 *   window, and a newest sample that is a stale marker hides the series either way.
 *
 * A tier resolver (optional) may answer a range query from a rollup table; the querier
 * then reads the columns the resolver names instead of raw `samples`.
 */
import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client'
import { RE2JS } from 're2js'
import {
  PromQLCanceledError,
  PromQLExecutionError,
  PromQLTimeoutError,
  type Labels,
  type LabelMatcher,
  type LabelQuerier,
  type Querier,
  type QueryRange,
  type SelectHints,
  type SeriesData,
} from '../promql/api.js'
import type { Tier, TierSpan } from '../rollup/resolution.js'
import { matcherSetsWhere, matchersWhere, pinnedMetricName } from './matcher-sql.js'
import { LIMIT_ERROR_CODES, limitSettings, settingsClause, type ClickHouseLimits } from './clickhouse-limits.js'
import { snapshotParams, takeReadSnapshot, type ReadSnapshot } from './read-snapshot.js'
import { countsPoints, rollupSql, type PlanScope, type TierPlanner } from './tier-source.js'
import { clampMs, lastSampleSql, matchedSeriesSql, minLastSeen, rawSamplesSql, sampleRangeWhere } from './read-sql.js'
import type { Expr } from '../promql/ast.js'
import type { GridSeries, SubtreeGrid } from '../promql/api.js'
import { compileSubtree, type CompiledStatement } from './pushdown/statement.js'
import { decodeGridRows } from './pushdown/decode.js'
import { DEFAULT_MAX_OUTPUT_SERIES, GRID_AGGREGATES_SETTING } from './pushdown/settings.js'


export interface PushdownOptions {
  matchers: boolean
  lastSample: boolean
  /** Whole subtrees (range functions, aggregations) compiled into one statement (query/pushdown/). */
  subtrees: boolean
}

export interface ClickHouseQuerierOptions {
  /** Most series one selector may read (Prometheus has no such limit; ours protects the process). */
  maxSeries?: number
  /** Most samples one selector may read (Prometheus's query.max-samples is per query, 50M). */
  maxSamples?: number
  pushdown?: Partial<PushdownOptions>
  /** Most series one compiled subtree may return (its memory grows with its output). */
  maxOutputSeries?: number
  /** Called once per compiled subtree with the series it returned. */
  onPushdown?: (series: number) => void
  /**
   * Splits a selector's range into tier spans (query/tier-source.ts); absent: raw only.
   * Never consulted when hints.rawOnly is set.
   */
  tiers?: TierPlanner
  /**
   * Bound the raw reads of one query (`forQuery`) by one snapshot of the store (default true).
   * Off for a cluster, where insert block numbers do not give one (query/read-snapshot.ts).
   */
  readSnapshots?: boolean
  /** Called once per select with the tiers read, the series and the samples returned. */
  onSelect?: (tiers: readonly Tier[], series: number, samples: number) => void
  /** ClickHouse-side bounds on every statement (query/clickhouse-limits.ts); absent: none. */
  limits?: ClickHouseLimits
}

export class QueryLimitError extends PromQLExecutionError {}

/** What one query fixes for all its reads (`forQuery`). */
interface QueryScope {
  readonly plan: PlanScope | undefined
  /** The query's read snapshot, taken on first use; absent when snapshots are off. */
  readonly snapshot: ((signal?: AbortSignal) => Promise<ReadSnapshot>) | undefined
}

interface SeriesRow {
  id: string
  s_name: string
  s_labels: Record<string, string>
}

export class ClickHouseQuerier implements Querier, LabelQuerier {
  readonly maxSeries: number
  readonly maxSamples: number
  readonly pushdown: PushdownOptions
  readonly maxOutputSeries: number
  /** Appended to every statement: the limits travel in the text (see clickhouse-limits.ts). */
  private readonly settings: string
  private readonly readSnapshots: boolean
  /** Settings of compiled subtrees: the limits plus what the grid aggregates need. */
  private readonly pushdownSettings: string

  constructor(
    private readonly client: ClickHouseClient,
    private readonly options: ClickHouseQuerierOptions = {},
  ) {
    this.maxSeries = options.maxSeries ?? 100_000
    this.maxSamples = options.maxSamples ?? 50_000_000
    this.maxOutputSeries = options.maxOutputSeries ?? DEFAULT_MAX_OUTPUT_SERIES
    this.pushdown = { matchers: true, lastSample: true, subtrees: true, ...options.pushdown }
    this.settings = options.limits ? settingsClause(limitSettings(options.limits)) : ''
    this.readSnapshots = options.readSnapshots ?? true
    this.pushdownSettings = settingsClause({ ...(options.limits ? limitSettings(options.limits) : {}), ...GRID_AGGREGATES_SETTING })
  }

  /** Querier.evaluate: the subtree as one statement when plan.ts can compile it exactly. */
  evaluate(expr: Expr, grid: SubtreeGrid, signal?: AbortSignal): Promise<GridSeries[] | undefined> {
    return this.evaluateIn(expr, grid, undefined, signal)
  }

  private async evaluateIn(expr: Expr, grid: SubtreeGrid, scope: QueryScope | undefined, signal?: AbortSignal): Promise<GridSeries[] | undefined> {
    if (!this.compile(expr, grid, scope?.plan)) return undefined
    // Bounded by the query's snapshot as its other reads are (query/read-snapshot.ts).
    const snapshot = await scope?.snapshot?.(signal)
    const stmt = this.compile(expr, grid, scope?.plan, snapshot)
    if (!stmt) return undefined
    const limit = this.maxOutputSeries
    const buf = await this.run(signal, async () => {
      const rs = await this.client.exec({
        query: stmt.sql + this.pushdownSettings,
        query_params: stmt.params,
        clickhouse_settings: { default_format: 'RowBinary' as ClickHouseSettings['default_format'] },
        abort_signal: signal,
      })
      const chunks: Buffer[] = []
      for await (const chunk of rs.stream) chunks.push(chunk as Buffer)
      return Buffer.concat(chunks)
    })
    const series = decodeGridRows(buf, { steps: stmt.grid.n, repeat: stmt.repeat, dropName: stmt.dropName })
    if (series.length > limit) throw new QueryLimitError(`query processing would return too many series: a subtree gives more than ${limit} series`)
    this.options.onPushdown?.(series.length)
    return series
  }

  /** The statement `evaluate` would run for the subtree, or undefined when it declines. */
  compile(expr: Expr, grid: SubtreeGrid, scope?: PlanScope, snapshot?: ReadSnapshot): CompiledStatement | undefined {
    if (!this.pushdown.subtrees || !this.pushdown.matchers) return undefined
    const stmt = compileSubtree(expr, grid, { rowLimit: this.maxOutputSeries + 1, ...(snapshot ? { snapshot } : {}) })
    if (!stmt) return undefined
    // Long ranges the tier rule sends to a rollup stay on the sample-reading path for now.
    if (!grid.rawOnly && this.options.tiers) {
      const hints: SelectHints = {
        start: stmt.read.start + 1, end: stmt.read.end, step: grid.step, range: stmt.read.range, lookbackDelta: grid.lookbackDelta,
        ...(stmt.read.func ? { func: stmt.read.func } : {}),
      }
      if (this.options.tiers.plan(hints, scope).some((s) => s.tier !== 'raw')) return undefined
    }
    return stmt
  }

  select(matchers: readonly LabelMatcher[], hints: SelectHints, signal?: AbortSignal): Promise<SeriesData[]> {
    return this.read(matchers, hints, undefined, signal)
  }

  /**
   * One query's view (promql/api.ts `forQuery`): every selector plans its tiers from the
   * whole query's range, at the instant the query started, and reads raw samples as of one
   * snapshot of the store (query/read-snapshot.ts), taken before the query's first read.
   */
  forQuery(range: QueryRange): Querier {
    let snapshot: Promise<ReadSnapshot> | undefined
    const scope: QueryScope = {
      plan: this.options.tiers?.scope(range),
      snapshot: this.readSnapshots ? (signal) => (snapshot ??= this.run(signal, () => takeReadSnapshot(this.client, signal))) : undefined,
    }
    const view: Querier = {
      select: (matchers, hints, signal) => this.read(matchers, hints, scope, signal),
      evaluate: (expr, grid, signal) => this.evaluateIn(expr, grid, scope, signal),
      forQuery: () => view,
    }
    return view
  }

  private async read(matchers: readonly LabelMatcher[], hints: SelectHints, scope: QueryScope | undefined, signal?: AbortSignal): Promise<SeriesData[]> {
    // Before the series lookup: a series is registered before its samples are written, so
    // every series with samples in the snapshot is found.
    const snapshot = await scope?.snapshot?.(signal)
    const series = await this.resolveSeries(matchers, hints.start, signal)
    if (series.length === 0) return []
    const spans: TierSpan[] = hints.rawOnly || !this.options.tiers ? [{ tier: 'raw', start: hints.start, end: hints.end }] : this.options.tiers.plan(hints, scope?.plan)
    const lastOnly =
      spans.length === 1 && spans[0].tier === 'raw' && this.pushdown.lastSample && hints.step === 0 && hints.range === 0 && hints.end - hints.start <= hints.lookbackDelta
    const acc = new SeriesAccumulator(series)
    for (const span of spans) acc.add(await this.readSpan(series, span, hints.func, lastOnly, snapshot, signal), span.tier !== 'raw' && countsPoints(hints.func))
    const data = acc.result(this.maxSamples)
    this.options.onSelect?.(
      spans.map((s) => s.tier),
      data.length,
      data.reduce((n, s) => n + s.timestamps.length, 0),
    )
    return data
  }

  /** SQL and parameters of the series lookup; exposed so tests can show user text never reaches the SQL. */
  seriesStatement(matchers: readonly LabelMatcher[], startMs: number): { sql: string; params: Record<string, unknown> } {
    const matched = matchedSeriesSql(matchers, this.pushdown.matchers ? matchersWhere(matchers) : coarseWhere(matchers))
    return {
      sql: `SELECT toString(series_id) AS id, s_name, s_labels FROM (
${matched.sql}
)
LIMIT {limit:UInt64}`,
      params: { ...matched.params, minLastSeen: minLastSeen(startMs), limit: this.maxSeries + 1 },
    }
  }

  private async resolveSeries(matchers: readonly LabelMatcher[], startMs: number, signal?: AbortSignal): Promise<SeriesRow[]> {
    const { sql, params } = this.seriesStatement(matchers, startMs)
    let rows = await this.json<SeriesRow>(sql, params, signal)
    if (!this.pushdown.matchers) {
      const test = compileMatchers(matchers)
      rows = rows.filter((r) => test(r.s_name, r.s_labels))
    }
    if (rows.length > this.maxSeries) {
      throw new QueryLimitError(`query processing would load too many series: a selector matches more than ${this.maxSeries} series`)
    }
    return rows
  }

  private async readSpan(series: SeriesRow[], span: TierSpan, func: string | undefined, lastOnly: boolean, snapshot: ReadSnapshot | undefined, signal?: AbortSignal): Promise<string> {
    const params = {
      ...(snapshot ? snapshotParams(snapshot) : {}),
      names: [...new Set(series.map((s) => s.s_name))],
      ids: series.map((s) => BigInt(s.id)),
      start: clampMs(span.start),
      end: clampMs(span.end),
      limit: this.maxSamples + 1,
    }
    let sql: string
    if (span.tier !== 'raw') {
      // The bucket start is in the key; the sample times bound the rows exactly.
      const bounds = `metric_name IN {names:Array(String)} AND series_id IN {ids:Array(UInt64)}
      AND timestamp >= toDateTime(intDiv({start:Int64}, 1000) - 3600, 'UTC') AND timestamp <= toDateTime(intDiv({end:Int64}, 1000), 'UTC')
      AND last_timestamp >= fromUnixTimestamp64Milli({start:Int64}, 'UTC') AND last_timestamp <= fromUnixTimestamp64Milli({end:Int64}, 'UTC')`
      sql = `${rollupSql(span.tier, func, bounds)}\nLIMIT {limit:UInt64}`
    } else {
      const where = sampleRangeWhere('{names:Array(String)}', '{ids:Array(UInt64)}', false, snapshot !== undefined)
      sql = lastOnly ? lastSampleSql(where) : `${rawSamplesSql(where)}\nLIMIT {limit:UInt64}`
    }
    return this.text(sql, params, signal)
  }

  async series(matcherSets: readonly (readonly LabelMatcher[])[], start: number, end: number, limit?: number, signal?: AbortSignal): Promise<Labels[]> {
    const where = matcherSetsWhere(matcherSets)
    const rows = await this.json<SeriesRow>(
      `SELECT toString(series_id) AS id, any(metric_name) AS s_name, any(labels) AS s_labels
FROM series
WHERE ${where.sql}
GROUP BY series_id
HAVING ${TIME_FILTER}
ORDER BY s_name, id
${limit ? 'LIMIT {limit:UInt64}' : ''}`,
      { ...where.params, ...timeParams(start, end), limit },
      signal,
    )
    return rows.map(toLabels).sort(compareLabels)
  }

  async labelNames(matcherSets: readonly (readonly LabelMatcher[])[], start: number, end: number, limit?: number, signal?: AbortSignal): Promise<string[]> {
    const where = matcherSetsWhere(matcherSets)
    const rows = await this.json<{ name: string }>(
      `SELECT DISTINCT arrayJoin(arrayConcat(if(s_name = '', [], ['__name__']), mapKeys(s_labels))) AS name
FROM (
  SELECT any(metric_name) AS s_name, any(labels) AS s_labels FROM series WHERE ${where.sql} GROUP BY series_id HAVING ${TIME_FILTER}
)
ORDER BY name
${limit ? 'LIMIT {limit:UInt64}' : ''}`,
      { ...where.params, ...timeParams(start, end), limit },
      signal,
    )
    return rows.map((r) => r.name)
  }

  async labelValues(name: string, matcherSets: readonly (readonly LabelMatcher[])[], start: number, end: number, limit?: number, signal?: AbortSignal): Promise<string[]> {
    const where = matcherSetsWhere(matcherSets)
    const valueExpr = name === '__name__' ? 'any(metric_name)' : 'any(labels)[{label:String}]'
    const rows = await this.json<{ value: string }>(
      `SELECT DISTINCT value FROM (
  SELECT ${valueExpr} AS value FROM series WHERE ${where.sql} GROUP BY series_id HAVING ${TIME_FILTER}
)
WHERE value != ''
ORDER BY value
${limit ? 'LIMIT {limit:UInt64}' : ''}`,
      { ...where.params, ...timeParams(start, end), label: name, limit },
      signal,
    )
    return rows.map((r) => r.value)
  }

  private async json<T>(query: string, params: Record<string, unknown>, signal?: AbortSignal): Promise<T[]> {
    return this.run(signal, async () => {
      const rs = await this.client.query({ query: query + this.settings, query_params: params, format: 'JSONEachRow', abort_signal: signal })
      return rs.json<T>()
    })
  }

  private async text(query: string, params: Record<string, unknown>, signal?: AbortSignal): Promise<string> {
    return this.run(signal, async () => {
      const rs = await this.client.query({ query: query + this.settings, query_params: params, format: 'TabSeparated', abort_signal: signal })
      return rs.text()
    })
  }

  private async run<T>(signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    if (signal?.aborted) throw new PromQLCanceledError('query canceled')
    try {
      const result = await abortable(fn(), signal)
      if (signal?.aborted) throw new PromQLCanceledError('query canceled')
      return result
    } catch (err) {
      if (signal?.aborted || (err as Error).name === 'AbortError') throw new PromQLCanceledError('query canceled')
      if (err instanceof PromQLExecutionError || err instanceof PromQLCanceledError) throw err
      const code = Number((err as { code?: string | number }).code)
      if (code === LIMIT_ERROR_CODES.timeout) throw new PromQLTimeoutError('query timed out in ClickHouse (query.timeout)')
      if (code === LIMIT_ERROR_CODES.memory || code === LIMIT_ERROR_CODES.rows) {
        throw new QueryLimitError(`query processing would take too much memory in ClickHouse (query.max_memory): ${(err as Error).message.slice(0, 200)}`)
      }
      throw new PromQLExecutionError(`reading ClickHouse failed: ${(err as Error).message.slice(0, 300)}`)
    }
  }
}

/**
 * Settles when the work does or when the signal aborts, whichever is first. The embedded
 * engine's connection does not always settle an aborted query (chDB runs it to completion),
 * and a cancelled PromQL query must not wait for it.
 */
function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new PromQLCanceledError('query canceled'))
    signal.addEventListener('abort', onAbort, { once: true })
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(err instanceof Error ? err : new Error(String(err)))
      },
    )
  })
}

// A series overlaps [start, end] when it was first seen by the end and last seen (with the
// registry's slack) after the start.
const TIME_FILTER = `min(first_seen) <= fromUnixTimestamp64Milli({end:Int64}, 'UTC') AND max(last_seen) >= fromUnixTimestamp64Milli({minLastSeen:Int64}, 'UTC')`

function timeParams(start: number, end: number) {
  return { end: clampMs(end), minLastSeen: minLastSeen(start) }
}

/** Push-down off: only the metric name narrows the read (it is the table's primary key). */
function coarseWhere(matchers: readonly LabelMatcher[]): { sql: string; params: Record<string, unknown> } {
  const name = pinnedMetricName(matchers)
  return name === undefined ? { sql: '1', params: {} } : { sql: 'metric_name = {name:String}', params: { name } }
}

/** The matchers as a JS predicate (RE2 via re2js, fully anchored, `.` matching newlines). */
export function compileMatchers(matchers: readonly LabelMatcher[]): (name: string, labels: Record<string, string>) => boolean {
  const tests = matchers.map((m) => {
    const get = m.name === '__name__' ? (name: string) => name : (_: string, labels: Record<string, string>) => labels[m.name] ?? ''
    if (m.type === '=') return (n: string, l: Record<string, string>) => get(n, l) === m.value
    if (m.type === '!=') return (n: string, l: Record<string, string>) => get(n, l) !== m.value
    const re = RE2JS.compile(m.value, RE2JS.DOTALL)
    if (m.type === '=~') return (n: string, l: Record<string, string>) => re.matches(get(n, l))
    return (n: string, l: Record<string, string>) => !re.matches(get(n, l))
  })
  return (name, labels) => tests.every((t) => t(name, labels))
}

function toLabels(row: SeriesRow): Labels {
  return row.s_name === '' ? { ...row.s_labels } : { __name__: row.s_name, ...row.s_labels }
}

function compareLabels(a: Labels, b: Labels): number {
  const ka = Object.keys(a).sort()
  const kb = Object.keys(b).sort()
  for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
    if (ka[i] !== kb[i]) return ka[i] < kb[i] ? -1 : 1
    const va = a[ka[i]]
    const vb = b[kb[i]]
    if (va !== vb) return va < vb ? -1 : 1
  }
  return ka.length - kb.length
}

function parseFloat64(text: string): number {
  switch (text) {
    case 'inf':
    case '+inf':
      return Infinity
    case '-inf':
      return -Infinity
    case 'nan':
    case '-nan':
      return NaN
    default:
      return Number(text)
  }
}

interface Points {
  ts: number[]
  vs: number[]
  st: number[]
  /** Samples each point stands for; absent while every point is one sample. */
  ns?: number[]
  anyStale: boolean
}

/**
 * Collects TabSeparated rows `series_id, t, v, stale` (and `n`, samples per point, from
 * rollup spans that count them) ordered by (series_id, t), span after span (oldest first),
 * into one SeriesData per series with samples. Rows of one timestamp appear once (the last
 * wins), as in a TSDB.
 */
export class SeriesAccumulator {
  private readonly byId: Map<string, SeriesRow>
  private readonly points = new Map<string, Points>()
  private total = 0

  constructor(series: readonly SeriesRow[]) {
    this.byId = new Map(series.map((s) => [s.id, s]))
  }

  add(text: string, withCounts = false): void {
    let pos = 0
    const len = text.length
    let currentId = ''
    let cur: Points | undefined
    while (pos < len) {
      const t1 = text.indexOf('\t', pos)
      const t2 = text.indexOf('\t', t1 + 1)
      const t3 = text.indexOf('\t', t2 + 1)
      const t4 = withCounts ? text.indexOf('\t', t3 + 1) : -1
      let nl = text.indexOf('\n', t3 + 1)
      if (nl < 0) nl = len
      const id = text.slice(pos, t1)
      if (id !== currentId || !cur) {
        currentId = id
        cur = this.points.get(id)
        if (!cur) this.points.set(id, (cur = { ts: [], vs: [], st: [], anyStale: false }))
        if (withCounts && !cur.ns) cur.ns = cur.ts.map(() => 1)
      }
      const t = Number(text.slice(t1 + 1, t2))
      const stale = text.charCodeAt(t3 + 1) === 49 // '1'
      const v = stale ? NaN : parseFloat64(text.slice(t2 + 1, t3))
      const count = withCounts ? Number(text.slice(t4 + 1, nl)) : 1
      const n = cur.ts.length
      if (n > 0 && cur.ts[n - 1] >= t) {
        // Same timestamp (a duplicate, or the first point of a span meeting the last of
        // the one before): keep one, the later.
        if (cur.ts[n - 1] === t) {
          cur.vs[n - 1] = v
          cur.st[n - 1] = stale ? 1 : 0
          if (cur.ns) cur.ns[n - 1] = count
        }
      } else {
        cur.ts.push(t)
        cur.vs.push(v)
        cur.st.push(stale ? 1 : 0)
        cur.ns?.push(count)
        this.total++
      }
      if (stale) cur.anyStale = true
      pos = nl + 1
    }
  }

  result(maxSamples: number): SeriesData[] {
    if (this.total > maxSamples) throw new QueryLimitError(`query processing would load too many samples into memory in query execution: more than ${maxSamples}`)
    const out: SeriesData[] = []
    for (const [id, p] of this.points) {
      const s = this.byId.get(id)
      if (!s || p.ts.length === 0) continue
      const labels = toLabels(s)
      out.push({ labels, timestamps: p.ts, values: p.vs, ...(p.anyStale ? { stale: p.st } : {}), ...(p.ns ? { counts: p.ns } : {}) })
    }
    return out
  }
}
