/**
 * What `metrichouse serve` stored for one scrape job, read through /clickhouse/ in the
 * public schema (`samples`, `series`), keyed like the peers' counts (`seriesKey`) so the
 * two sides can be compared series by series.
 */
import { STALE_MARKER_BITS_SQL as STALE_MARKER_BITS } from '../../proto/stale-marker.js'
import type { Metrichouse } from '../peers/metrichouse.js'

/** Whatever answers SQL over the store: `serve`, or the scale-out stack's `store` role. */
type SqlPeer = Pick<Metrichouse, 'query' | 'queryNumber'>

const quote = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`

function where(job: string, metricNames: string[], staleMarkers: 'without' | 'with'): string {
  const names = metricNames.map(quote).join(', ')
  const stale = staleMarkers === 'without' ? ` AND reinterpretAsUInt64(value) != ${STALE_MARKER_BITS}` : ''
  return `metric_name IN (${names}) AND series_id IN (SELECT series_id FROM series WHERE labels['job'] = ${quote(job)})${stale}`
}

/** Samples stored for the job's metrics, stale markers aside. */
export async function storedSampleCount(server: SqlPeer, job: string, metricNames: string[]): Promise<number> {
  return server.queryNumber(`SELECT count() FROM samples WHERE ${where(job, metricNames, 'without')}`)
}

/** Samples whose value has exactly these 64 bits (e.g. the stale marker, Go's NaN). */
export async function storedCountWithBits(server: SqlPeer, job: string, metricNames: string[], bits: bigint): Promise<number> {
  return server.queryNumber(
    `SELECT count() FROM samples WHERE ${where(job, metricNames, 'with')} AND reinterpretAsUInt64(value) = ${bits.toString()}`,
  )
}

/** Rows that repeat a (series, timestamp) already stored: 0 unless something was written twice. */
export async function storedDuplicates(server: SqlPeer, job: string, metricNames: string[]): Promise<number> {
  return server.queryNumber(`SELECT count() - uniqExact(series_id, timestamp) FROM samples WHERE ${where(job, metricNames, 'with')}`)
}

/** Samples per series (stale markers aside), keyed `name{label=value,...}` without __name__. */
export async function storedSampleCounts(server: SqlPeer, job: string, metricNames: string[]): Promise<Map<string, number>> {
  const keys = new Map<string, string>()
  const seriesRows = await server.query(
    'SELECT series_id, any(metric_name), any(arrayStringConcat(arraySort(arrayFilter(x -> NOT startsWith(x, \'__name__=\'), ' +
      "arrayMap((k, v) -> concat(k, '=', v), mapKeys(labels), mapValues(labels)))), ',')) " +
      `FROM series WHERE labels['job'] = ${quote(job)} GROUP BY series_id`,
  )
  for (const line of seriesRows.split('\n')) {
    if (line === '') continue
    const [id, name, labels] = line.split('\t')
    keys.set(id, `${name}{${labels}}`)
  }
  const counts = new Map<string, number>()
  const countRows = await server.query(`SELECT series_id, count() FROM samples WHERE ${where(job, metricNames, 'without')} GROUP BY series_id`)
  for (const line of countRows.split('\n')) {
    if (line === '') continue
    const [id, count] = line.split('\t')
    const key = keys.get(id) ?? `unknown series ${id}`
    counts.set(key, (counts.get(key) ?? 0) + Number(count))
  }
  return counts
}

/** The series whose counts differ, at most `limit` of them, for an error message. */
export function countDifferences(want: Map<string, number>, got: Map<string, number>, limit = 10): string[] {
  const out: string[] = []
  for (const key of new Set([...want.keys(), ...got.keys()])) {
    const a = want.get(key) ?? 0
    const b = got.get(key) ?? 0
    if (a !== b) out.push(`${key}: want ${a}, stored ${b}`)
    if (out.length >= limit) break
  }
  return out
}
