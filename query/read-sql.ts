/**
 * The one place that writes the SQL text of the query side's reads of `series` and
 * `samples` (docs/schema.md): the selector reads of the ClickHouse Querier, the statements
 * compiled from PromQL subtrees (query/pushdown/) and what `rules compile` prints all take
 * their text from here. Every user value is a bound parameter; the text depends only on
 * the shape of the matchers.
 */
import type { LabelMatcher } from '../promql/api.js'
import { STALE_MARKER_BITS_SQL } from '../proto/stale-marker.js'
import { matchersWhere, type BoundSql } from './matcher-sql.js'
import { SNAPSHOT_CONDITION } from './read-snapshot.js'

/** reinterpretAsUInt64 of the stale marker, as SQL text. */
export const STALE_MARKER_SQL = STALE_MARKER_BITS_SQL

/** SQL: 1 when the Float64 expression is a stale marker (bits compared: text formats print every NaN alike). */
export function isStaleSql(value: string): string {
  return `reinterpretAsUInt64(${value}) = ${STALE_MARKER_SQL}`
}

/**
 * series.last_seen is written at most once an hour per series (ingester/series-registry.ts):
 * it may lag the newest sample by up to an hour, so time filters on it keep that slack.
 */
export const LAST_SEEN_SLACK_MS = 3_600_000

// DateTime64(3)'s range (1900 to 2299): Prometheus's open-range sentinels lie far outside it.
const MIN_MS = -2_208_988_800_000
const MAX_MS = 10_413_791_999_999

/** A time in ms within what ClickHouse's DateTime64 holds. */
export function clampMs(ms: number): number {
  return Math.min(MAX_MS, Math.max(MIN_MS, Math.trunc(ms)))
}

/** SQL: the DateTime64(3) of an Int64 ms parameter. */
export function msParam(name: string): string {
  return `fromUnixTimestamp64Milli({${name}:Int64}, 'UTC')`
}

/**
 * Series whose labels match and that may hold samples at or after `minLastSeen`:
 * rows `series_id, s_name, s_labels`, one per series.
 */
export function matchedSeriesSql(matchers: readonly LabelMatcher[], where: BoundSql = matchersWhere(matchers)): BoundSql {
  return {
    sql: `SELECT series_id, any(metric_name) AS s_name, any(labels) AS s_labels
FROM series
WHERE ${where.sql}
GROUP BY series_id
HAVING max(last_seen) >= ${msParam('minLastSeen')}`,
    params: where.params,
  }
}

/** The `minLastSeen` parameter for reads from `startMs` on. */
export function minLastSeen(startMs: number): number {
  return clampMs(startMs - LAST_SEEN_SLACK_MS)
}

/**
 * WHERE text for samples of the series in `ids` (a subquery or a parameter) within
 * ({start}, {end}] or [{start}, {end}], and (`snapshot`) no newer than the query's read
 * snapshot (query/read-snapshot.ts, parameter from snapshotParams).
 */
export function sampleRangeWhere(names: string, ids: string, leftOpen: boolean, snapshot = false): string {
  return `metric_name IN ${names} AND series_id IN ${ids}${snapshot ? ` AND ${SNAPSHOT_CONDITION}` : ''}
  AND timestamp ${leftOpen ? '>' : '>='} ${msParam('start')} AND timestamp <= ${msParam('end')}`
}

/** Raw samples rows `series_id, t, v, stale` ordered by (series_id, t). */
export function rawSamplesSql(where: string): string {
  return `SELECT series_id, toUnixTimestamp64Milli(timestamp) AS t, value AS v, ${isStaleSql('value')} AS stale
FROM samples
WHERE ${where}
ORDER BY series_id, t`
}

/** The newest sample per series: rows `series_id, t, v, stale` (an instant selector at one time). */
export function lastSampleSql(where: string): string {
  return `SELECT series_id, toUnixTimestamp64Milli(max(timestamp)) AS t, argMax(value, timestamp) AS v, ${isStaleSql('v')} AS stale
FROM samples
WHERE ${where}
GROUP BY series_id`
}
