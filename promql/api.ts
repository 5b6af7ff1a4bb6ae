/**
 * The seam between the PromQL engine (promql/, pure: knows no ClickHouse) and the storage
 * that feeds it (query/clickhouse-querier.ts in production, an in-memory Querier in tests).
 * Everything the two sides exchange is declared here; each side owns its implementation.
 *
 * Times are Unix milliseconds everywhere (Prometheus's int64 ms), values Float64.
 */
import type { Expr } from './ast.js'

/** A label set, `__name__` included when the series has one. Keys in any order. */
export type Labels = Readonly<Record<string, string>>

export type MatchType = '=' | '!=' | '=~' | '!~'

/** One label matcher of a selector. Regex values are RE2, fully anchored (as Prometheus). */
export interface LabelMatcher {
  readonly type: MatchType
  readonly name: string
  readonly value: string
}

/**
 * What the engine tells storage about one selector, so that storage can read only what is
 * needed and pick a resolution tier (Prometheus's storage.SelectHints, by other names).
 * `start`/`end` already include the lookback delta, the range, offset and `@`.
 */
export interface SelectHints {
  /** First millisecond any evaluation may read (inclusive). */
  readonly start: number
  /** Last millisecond any evaluation may read (inclusive). */
  readonly end: number
  /** Query step in ms; 0 for an instant query. */
  readonly step: number
  /** The range of the enclosing matrix selector (`[5m]` -> 300000); 0 for a vector selector. */
  readonly range: number
  /** The function that consumes the selector (`rate`, `max_over_time`, ...), if any. */
  readonly func?: string
  /** Names in `by (...)`/`without (...)` of the enclosing aggregation, if any. */
  readonly grouping?: readonly string[]
  readonly by?: boolean
  /** Lookback delta the engine applies (5 minutes unless configured). */
  readonly lookbackDelta: number
  /**
   * True when the caller demands raw samples (alert rules, instant queries, promqltest);
   * storage then must not answer from a rollup tier.
   */
  readonly rawOnly?: boolean
}

/**
 * One series as storage returns it: samples sorted by timestamp, no duplicates. Staleness
 * markers are returned, flagged in `stale` (1 = marker), so the engine can end a lookback at
 * them; their `values` entry is NaN. `stale` may be omitted when no sample is a marker.
 */
export interface SeriesData {
  readonly labels: Labels
  readonly timestamps: ArrayLike<number>
  readonly values: ArrayLike<number>
  readonly stale?: ArrayLike<number>
  /**
   * How many stored samples each point stands for, when storage answers from summaries (a
   * rollup bucket's first and last sample): rate, increase and delta take a window's sample
   * count from their sum, so they extrapolate as they would over the samples themselves.
   * Omitted: 1 each.
   */
  readonly counts?: ArrayLike<number>
}

/** The evaluation range of a whole query, in ms (start = end for an instant query). */
export interface QueryRange {
  readonly start: number
  readonly end: number
}

/**
 * The step grid a subtree is evaluated over, as the engine offers it to storage: steps
 * start, start+step, ... end (one step when `step` is 0). `@` and offsets inside the
 * subtree are still to be applied by whoever evaluates it.
 */
export interface SubtreeGrid {
  readonly start: number
  readonly end: number
  readonly step: number
  readonly lookbackDelta: number
  /** The outer query's start/end: what `@ start()` / `@ end()` mean at any depth. */
  readonly queryStart: number
  readonly queryEnd: number
  readonly rawOnly?: boolean
}

/** One series of a subtree's instant-vector result: a value slot and a presence flag per step. */
export interface GridSeries {
  readonly labels: Labels
  /** Prometheus's delayed name removal: `__name__` is still in `labels` and goes when the query ends. */
  readonly dropName: boolean
  readonly values: Float64Array
  readonly present: Uint8Array
}

/** Storage as the engine sees it. Implementations honour `signal` (the client went away). */
export interface Querier {
  select(matchers: readonly LabelMatcher[], hints: SelectHints, signal?: AbortSignal): Promise<SeriesData[]>
  /**
   * Optional: one query's view of storage. The engine reads every selector of a query through
   * the view it returns, so storage can fix per query what must not differ between selectors:
   * the state of the store they see (one snapshot for all reads) and decisions taken from the
   * whole query's range (which rollup tier answers). A view returns itself from `forQuery`, so
   * a caller that evaluates one query in pieces (the results cache, day by day) scopes it once.
   */
  forQuery?(range: QueryRange): Querier
  /**
   * Optional: evaluate a whole instant-vector subtree (a range function over a selector, an
   * aggregation of one, ...) where the data lives, and return only its step grid. The engine
   * offers every vector-valued node, largest first; `undefined` declines, and the engine then
   * evaluates the node itself from `select`. An answer must be exactly what the engine would
   * compute, series in any order. Annotations stay the engine's: it derives rate/increase's
   * "might not be a counter" note from the result labels, or (for an aggregated result) from a
   * selector's `__name__="..."` matcher, so a querier declines aggregations over rate/increase
   * of selectors that do not pin the name.
   */
  evaluate?(expr: Expr, grid: SubtreeGrid, signal?: AbortSignal): Promise<GridSeries[] | undefined>
}

/** Metadata lookups of the HTTP API (/api/v1/series, /labels, /label/x/values). */
export interface LabelQuerier {
  series(matcherSets: readonly (readonly LabelMatcher[])[], start: number, end: number, limit?: number, signal?: AbortSignal): Promise<Labels[]>
  labelNames(matcherSets: readonly (readonly LabelMatcher[])[], start: number, end: number, limit?: number, signal?: AbortSignal): Promise<string[]>
  labelValues(name: string, matcherSets: readonly (readonly LabelMatcher[])[], start: number, end: number, limit?: number, signal?: AbortSignal): Promise<string[]>
}

/** A point of a range-vector result, or the single point of an instant-vector element. */
export interface Point {
  readonly t: number
  readonly v: number
}

export type QueryValue =
  | { readonly type: 'scalar'; readonly t: number; readonly v: number }
  | { readonly type: 'string'; readonly t: number; readonly v: string }
  | { readonly type: 'vector'; readonly samples: readonly { readonly labels: Labels; readonly t: number; readonly v: number }[] }
  | { readonly type: 'matrix'; readonly series: readonly { readonly labels: Labels; readonly points: readonly Point[] }[] }

export interface QueryResult {
  readonly value: QueryValue
  /** Prometheus's annotations: warnings and infos, as its API returns them. */
  readonly warnings: readonly string[]
  readonly infos: readonly string[]
}

export interface QueryOptions {
  /** Aborts evaluation and storage reads (timeout, client gone). */
  readonly signal?: AbortSignal
  /** Overrides the engine's lookback delta for this query (Prometheus's lookback_delta parameter). */
  readonly lookbackDelta?: number
  /** Forwarded to every SelectHints: read raw samples only. */
  readonly rawOnly?: boolean
}

export interface PromQLEngine {
  instantQuery(querier: Querier, query: string, time: number, opts?: QueryOptions): Promise<QueryResult>
  rangeQuery(querier: Querier, query: string, start: number, end: number, step: number, opts?: QueryOptions): Promise<QueryResult>
}

/** A query that does not parse or type-check: Prometheus's `bad_data`, HTTP 400. */
export class PromQLParseError extends Error {
  override readonly name = 'PromQLParseError'
  constructor(
    message: string,
    /** 0-based offsets into the query text, when known. */
    readonly position?: { start: number; end: number },
  ) {
    super(message)
  }
}

/** Evaluation failed (e.g. many-to-many matching, too many samples): Prometheus's `execution`, HTTP 422. */
export class PromQLExecutionError extends Error {
  override readonly name = 'PromQLExecutionError'
}

/** The query ran out of time: Prometheus's `timeout`, HTTP 503. */
export class PromQLTimeoutError extends Error {
  override readonly name = 'PromQLTimeoutError'
}

/** The query was cancelled by its caller: Prometheus's `canceled`, HTTP 503. */
export class PromQLCanceledError extends Error {
  override readonly name = 'PromQLCanceledError'
}
