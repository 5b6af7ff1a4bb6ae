/**
 * `/api/v1/status/tsdb` answered from the `series` table: what Prometheus reports for its
 * head block (series count, top metric names, label names by distinct values and by bytes,
 * top label pairs), here over the series active in the last two hours (a series row's
 * last_seen is renewed once per hour it receives samples, so two hours hold every series
 * still being written, about what a Prometheus head holds).
 *
 * One pass per statistic, each a GROUP BY over the window's rows (not FINAL: a series
 * rewritten in a later hour has two rows until merged, so counts of series use
 * uniqExact(series_id), and distinct values do not care). Measured in bench/README.md.
 */
import type { ClickHouseClient } from '@clickhouse/client'

/** Series whose last_seen is within this are counted, as Prometheus counts its head. */
export const ACTIVE_WINDOW_MS = 2 * 3_600_000

export interface NameCount {
  name: string
  value: number
}

export interface TsdbStatus {
  headStats: { numSeries: number; numLabelPairs: number; chunkCount: number; minTime: number; maxTime: number }
  seriesCountByMetricName: NameCount[]
  labelValueCountByLabelName: NameCount[]
  memoryInBytesByLabelName: NameCount[]
  seriesCountByLabelValuePair: NameCount[]
}

const ACTIVE = `FROM series WHERE last_seen >= fromUnixTimestamp64Milli({since:Int64})`
// Every label of an active series as (name, value), __name__ included.
const PAIRS = `SELECT series_id, arrayJoin(arrayPushFront(CAST(labels, 'Array(Tuple(String, String))'), ('__name__', toString(metric_name)))) AS pair ${ACTIVE}`

export class TsdbStatusSource {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly now: () => number = Date.now,
  ) {}

  async status(limit: number, signal?: AbortSignal): Promise<TsdbStatus> {
    const params = { since: this.now() - ACTIVE_WINDOW_MS, limit }
    // 64-bit integers arrive as strings (the read-only session may not change that): numbers here.
    const rows = async <T>(query: string): Promise<T[]> => {
      const rs = await this.client.query({ query, query_params: params, format: 'JSONEachRow', abort_signal: signal })
      const raw = await rs.json<Record<string, string | number>>()
      return raw.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, k === 'name' ? v : Number(v)]))) as T[]
    }
    const [head] = await rows<{ series: number; minTime: number; maxTime: number }>(
      `SELECT uniqExact(series_id) AS series, toUnixTimestamp64Milli(min(first_seen)) AS minTime, toUnixTimestamp64Milli(max(last_seen)) AS maxTime ${ACTIVE}`,
    )
    const byMetric = await rows<NameCount>(`SELECT toString(metric_name) AS name, uniqExact(series_id) AS value ${ACTIVE} GROUP BY metric_name ORDER BY value DESC, name LIMIT {limit:UInt32}`)
    const byLabel = await rows<{ name: string; values: number; bytes: number }>(
      `SELECT pair.1 AS name, uniqExact(pair.2) AS values, sum(length(pair.2)) AS bytes FROM (SELECT DISTINCT pair FROM (${PAIRS})) GROUP BY name`,
    )
    const byPair = await rows<NameCount>(
      `SELECT concat(pair.1, '=', pair.2) AS name, uniqExact(series_id) AS value FROM (${PAIRS}) GROUP BY pair ORDER BY value DESC, name LIMIT {limit:UInt32}`,
    )
    const top = (list: NameCount[]) => [...list].sort((a, b) => b.value - a.value || (a.name < b.name ? -1 : 1)).slice(0, limit)
    return {
      headStats: {
        numSeries: head?.series ?? 0,
        numLabelPairs: byLabel.reduce((n, l) => n + l.values, 0),
        // Chunks are a Prometheus storage detail with no counterpart here.
        chunkCount: 0,
        minTime: head && head.series > 0 ? head.minTime : 0,
        maxTime: head && head.series > 0 ? head.maxTime : 0,
      },
      seriesCountByMetricName: byMetric,
      labelValueCountByLabelName: top(byLabel.map((l) => ({ name: l.name, value: l.values }))),
      memoryInBytesByLabelName: top(byLabel.map((l) => ({ name: l.name, value: l.bytes }))),
      seriesCountByLabelValuePair: byPair,
    }
  }
}
