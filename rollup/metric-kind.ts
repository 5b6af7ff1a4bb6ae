/**
 * Counter or gauge: how the rollups decide which columns a series' buckets fill.
 *
 * A series whose metric family has a TYPE in `metric_metadata` is typed from it (a counter's
 * `_total`, a histogram's `_bucket`/`_sum`/`_count`, a summary's `_sum`/`_count`; a gauge stays
 * a gauge even when named `..._total`); a series without metadata falls back to its name's
 * suffix. The table below is the one statement of that rule: the TypeScript lookup and the
 * SQL the refresh views run are both built from it (rollup/metric-kind.test.ts holds them
 * to each other against chDB).
 *
 * Family names arrive in two shapes: the exposition's family (`http_request_duration_seconds`
 * typed histogram) and, from remote write 2.0, the series' own name
 * (`http_request_duration_seconds_bucket` typed histogram). The empty suffix covers the second.
 */
import type { MetricType } from '../proto/types.js'
import { METADATA_TABLE } from '../store/metadata-store.js'
import type { SeriesKind } from './buckets.js'

/** Metric names typed as counters when no metadata says otherwise. */
export const COUNTER_NAME_PATTERN = '(_total|_count|_sum|_bucket)$'
const COUNTER_NAME_RE = new RegExp(COUNTER_NAME_PATTERN)

/** 'by_name': the family's own series is a counter if its name says so (a summary's quantiles are gauges). */
type SuffixKind = SeriesKind | 'by_name'

const SERIES_OF_TYPE: Partial<Record<MetricType, readonly (readonly [suffix: string, kind: SuffixKind])[]>> = {
  counter: [
    ['', 'counter'],
    ['_total', 'counter'],
  ],
  gauge: [['', 'gauge']],
  histogram: [
    ['', 'counter'],
    ['_bucket', 'counter'],
    ['_sum', 'counter'],
    ['_count', 'counter'],
  ],
  summary: [
    ['', 'by_name'],
    ['_sum', 'counter'],
    ['_count', 'counter'],
  ],
  gaugehistogram: [
    ['', 'gauge'],
    ['_bucket', 'gauge'],
    ['_gsum', 'gauge'],
    ['_gcount', 'gauge'],
  ],
}

function resolveKind(kind: SuffixKind, family: string): SeriesKind {
  if (kind !== 'by_name') return kind
  return /_(sum|count)$/.test(family) ? 'counter' : 'gauge'
}

/**
 * The kind metadata gives a series, or undefined when no family of it has a type that
 * decides (a counter reading wins over a gauge one, as in the SQL).
 */
export function typedSeriesKind(metricName: string, familyTypes: ReadonlyMap<string, MetricType>): SeriesKind | undefined {
  let found: SeriesKind | undefined
  for (const [type, entries] of Object.entries(SERIES_OF_TYPE)) {
    for (const [suffix, kind] of entries!) {
      if (!metricName.endsWith(suffix)) continue
      const family = metricName.slice(0, metricName.length - suffix.length)
      if (family === '' || familyTypes.get(family) !== type) continue
      const k = resolveKind(kind, family)
      if (k === 'counter') return 'counter'
      found = k
    }
  }
  return found
}

/** The kind the rollups store for a series: from metadata where known, else from its name. */
export function seriesKind(metricName: string, familyTypes: ReadonlyMap<string, MetricType>): SeriesKind {
  return typedSeriesKind(metricName, familyTypes) ?? (COUNTER_NAME_RE.test(metricName) ? 'counter' : 'gauge')
}

function sqlString(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
}

/** SELECT name, kind: every series name the metadata types, as the table above says. */
function typedNamesSelect(): string {
  const branches = Object.entries(SERIES_OF_TYPE).map(([type, entries]) => {
    const pairs = entries!.map(([suffix, kind]) => {
      const name = suffix === '' ? 'family' : `concat(family, ${sqlString(suffix)})`
      const k = kind === 'by_name' ? `if(match(family, '_(sum|count)$'), 'counter', 'gauge')` : sqlString(kind)
      return `(${name}, ${k})`
    })
    return `type = ${sqlString(type)}, [${pairs.join(', ')}]`
  })
  return `SELECT tupleElement(pair, 1) AS name, tupleElement(pair, 2) AS kind FROM (
            SELECT arrayJoin(multiIf(${branches.join(', ')}, [])) AS pair
            FROM (SELECT metric_family_name AS family, argMax(type, updated_at) AS type FROM ${METADATA_TABLE} GROUP BY family)
        )`
}

/** The SQL twin of `seriesKind` over the column `nameColumn` ('counter' or 'gauge'). */
export function seriesKindSql(nameColumn: string): string {
  const typed = typedNamesSelect()
  return `multiIf(
            ${nameColumn} IN (SELECT name FROM (${typed}) WHERE kind = 'counter'), 'counter',
            ${nameColumn} IN (SELECT name FROM (${typed}) WHERE kind = 'gauge'), 'gauge',
            match(${nameColumn}, '${COUNTER_NAME_PATTERN}'), 'counter', 'gauge')`
}
