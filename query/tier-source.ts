/**
 * Reading a selector from the rollup tiers (samples_1m / samples_1h, docs/schema.md) so
 * that the PromQL function consuming it computes what it would from raw samples — the
 * approach of Thanos's downsampled aggregates, through our Querier seam: storage returns
 * points, the engine applies the function unchanged, so the points must be chosen per
 * function.
 *
 * | consumer (hints.func)        | points per bucket                                         |
 * |------------------------------|-----------------------------------------------------------|
 * | max_over_time                | max_value (gauge; a counter's last_value) at last_timestamp |
 * | min_over_time                | min_value (gauge; a counter's first_value)                |
 * | rate, increase               | first and last sample of the bucket as stored, with the    |
 * |                              | samples each stands for, and the bucket's resets as two    |
 * |                              | points between: over whole buckets, raw's answer exactly   |
 * | last_over_time, none (plain  | last_value at last_timestamp                              |
 * |   selector), others          |                                                           |
 *
 * Functions whose answer a bucket summary cannot give point-wise (avg/sum/count/quantile/
 * stddev_over_time, changes, resets, deriv, irate, ...) read raw when the range is within raw
 * retention (see `needsRaw`), and the last value per bucket beyond it (approximate, and
 * documented in docs/query.md).
 *
 * Every table name and SQL fragment here is fixed text; user values arrive as parameters.
 */
import type { QueryRange, SelectHints } from '../promql/api.js'
import { resolveTiers, type Tier, type TierRetentions, type TierSpan } from '../rollup/resolution.js'

const ROLLUP_TABLES: Record<Exclude<Tier, 'raw'>, string> = { '1m': 'samples_1m', '1h': 'samples_1h' }

/** Functions the rollup points answer as raw data would (for whole buckets). */
const ROLLUP_EXACT = new Set(['max_over_time', 'min_over_time', 'rate', 'increase', 'last_over_time'])

/** Functions whose rollup points carry a sample count (the fifth column of `rollupSql`). */
export function countsPoints(func: string | undefined): boolean {
  return func === 'rate' || func === 'increase'
}

export function needsRaw(hints: SelectHints): boolean {
  // A plain selector (no function, range 0) reads the last value: what a rollup keeps.
  if (hints.func === undefined || hints.range === 0) return false
  return !ROLLUP_EXACT.has(hints.func)
}

/** What one query fixes for all its selectors: its whole range and the instant it plans at. */
export interface PlanScope {
  readonly range: QueryRange
  readonly now: number
}

export interface TierPlanner {
  /**
   * The tier spans of one selector. With `scope`, the choice between raw and rollups is
   * taken from the whole query's range, not the selector's piece of it (the results cache
   * evaluates a long query day by day, and each day alone is shorter than minRollupRangeMs),
   * and every selector of the query plans at the same `now`, so none sees an hour from raw
   * that another sees from a tier.
   */
  plan(hints: SelectHints, scope?: PlanScope): TierSpan[]
  /** The scope of one query starting now. */
  scope(range: QueryRange): PlanScope
}

export interface TierPlannerOptions {
  retention: TierRetentions
  /**
   * Selectors reading less than this (and within raw retention) read raw: exact answers for
   * the dashboards of the last hours, rollups where the volume makes them pay (long ranges).
   */
  minRollupRangeMs?: number
  now?: () => number
}

export function rollupTierPlanner(opts: TierPlannerOptions): TierPlanner {
  const now = opts.now ?? Date.now
  const minRange = opts.minRollupRangeMs ?? 0
  return {
    scope: (range) => ({ range, now: now() }),
    plan(hints, scope) {
      const t = scope?.now ?? now()
      if (hints.rawOnly || hints.step === 0) return [{ tier: 'raw', start: hints.start, end: hints.end }]
      const reach = Math.max(hints.end - hints.start, scope ? scope.range.end - scope.range.start + hints.range : 0)
      if (reach < minRange && hints.start >= t - opts.retention.rawMs) return [{ tier: 'raw', start: hints.start, end: hints.end }]
      // Raw still holds the whole range: a function rollups cannot answer reads it.
      if (needsRaw(hints) && hints.start >= t - opts.retention.rawMs) return [{ tier: 'raw', start: hints.start, end: hints.end }]
      return resolveTiers({ start: hints.start, end: hints.end, step: hints.step, range: hints.range, now: t, retention: opts.retention })
    },
  }
}

/**
 * SQL returning rows `series_id, t, v, stale` ordered by (series_id, t) for one rollup span,
 * and for rate/increase a fifth column `n`, the raw samples each point stands for
 * (SeriesData.counts). `bounds` is the caller's fixed WHERE text over metric_name,
 * series_id and {start}/{end} on `last_timestamp`.
 */
export function rollupSql(tier: Exclude<Tier, 'raw'>, func: string | undefined, bucketBounds: string): string {
  const table = ROLLUP_TABLES[tier]
  if (countsPoints(func)) {
    // Per bucket, the raw samples rate() needs for a window made of whole buckets: the first
    // and the last (their own times and values, so extrapolation and the zero point are
    // raw's), the count (the average spacing), and the increase in between. The engine sums
    // drops as resets, so a bucket with resets inside gets two points between its ends:
    // reset_sum (never below first_value: the value before the first reset is not) and 0;
    // first -> reset_sum -> 0 -> last then adds up to last - first + reset_sum, the raw increase.
    return `SELECT series_id, p.1 AS t, p.2 AS v, 0 AS stale, p.3 AS n FROM (
  SELECT series_id,
    toUnixTimestamp64Milli(first_timestamp) AS first_ms,
    toUnixTimestamp64Milli(last_timestamp) AS last_ms,
    arrayJoin(arrayConcat(
      [(first_ms, first_value, toUInt32(1))],
      if(resets > 0 AND last_ms - first_ms > 2, [(first_ms + 1, reset_sum, toUInt32(0)), (first_ms + 2, 0., toUInt32(0))], []),
      if(count > 1, [(last_ms, last_value, toUInt32(count - 1))], [])
    )) AS p
  FROM ${table} FINAL
  WHERE ${bucketBounds}
)
ORDER BY series_id, t`
  }
  const value =
    func === 'max_over_time' ? "if(kind = 'gauge', max_value, last_value)" : func === 'min_over_time' ? "if(kind = 'gauge', min_value, first_value)" : 'last_value'
  return `SELECT series_id, toUnixTimestamp64Milli(last_timestamp) AS t, ${value} AS v, 0 AS stale
FROM ${table} FINAL
WHERE ${bucketBounds}
ORDER BY series_id, t`
}
