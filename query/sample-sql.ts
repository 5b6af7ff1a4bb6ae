/**
 * The SQL text of the raw sample reads, in one place: the querier runs it and `rules compile`
 * prints it. Rows are `series_id, t, v, stale` (stale markers by their bits: text formats
 * print every NaN alike); `where` is the caller's fixed WHERE text, values as parameters.
 */
import { STALE_MARKER_BITS_SQL } from '../proto/stale-marker.js'

/** The selected series of one metric set: parameters {names:Array(String)} and {ids:Array(UInt64)}. */
export const SAMPLE_KEYS = 'metric_name IN {names:Array(String)} AND series_id IN {ids:Array(UInt64)}'

/** `newest`: each series' newest sample in the window (an instant selector); `all`: every sample, ordered. */
export function rawSamplesSql(kind: 'newest' | 'all', where: string): string {
  return kind === 'newest'
    ? `SELECT series_id, toUnixTimestamp64Milli(max(timestamp)) AS t, argMax(value, timestamp) AS v, reinterpretAsUInt64(v) = ${STALE_MARKER_BITS_SQL} AS stale
FROM samples
WHERE ${where}
GROUP BY series_id`
    : `SELECT series_id, toUnixTimestamp64Milli(timestamp) AS t, value AS v, reinterpretAsUInt64(value) = ${STALE_MARKER_BITS_SQL} AS stale
FROM samples
WHERE ${where}
ORDER BY series_id, t`
}
