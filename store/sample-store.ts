/**
 * The SampleStore seam: where the ingester lands batches. Each insert carries a
 * deduplication token that names its exact content, so a batch re-sent after a crash is
 * dropped by ClickHouse (every table has non_replicated_deduplication_window).
 */
import type { Label } from '../proto/types.js'
import type { RawInsert, StoreClients } from './connection.js'
import { encodeSamplesRowBinary, SAMPLE_INSERT_COLUMNS, type SeriesSamples } from './rowbinary-encoder.js'

export interface SeriesRow {
  seriesId: bigint
  metricName: string
  labels: Label[]
  firstSeenMs: number
  lastSeenMs: number
}

export interface SampleStore {
  /** Resolves with the number of rows sent once ClickHouse has acknowledged the insert. */
  insertSamples(series: readonly SeriesSamples[], dedupToken: string): Promise<number>
  insertSeries(rows: readonly SeriesRow[], dedupToken: string): Promise<void>
}

export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError'
}

const SERIES_COLUMNS = ['series_id', 'metric_name', 'labels', 'first_seen', 'last_seen']

function dateTime64Text(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '')
}

export class ClickHouseSampleStore implements SampleStore {
  constructor(private readonly insertRaw: StoreClients['insertRaw']) {}

  async insertSamples(series: readonly SeriesSamples[], dedupToken: string): Promise<number> {
    const { body, rows } = encodeSamplesRowBinary(series)
    if (rows === 0) return 0
    await this.insert('samples', SAMPLE_INSERT_COLUMNS, 'RowBinaryWithNamesAndTypes', body, dedupToken)
    return rows
  }

  async insertSeries(rows: readonly SeriesRow[], dedupToken: string): Promise<void> {
    if (rows.length === 0) return
    const lines: string[] = []
    for (const r of rows) {
      const labels: Record<string, string> = {}
      for (const l of r.labels) if (l.name !== '__name__') labels[l.name] = l.value
      lines.push(
        JSON.stringify({
          series_id: r.seriesId.toString(),
          metric_name: r.metricName,
          labels,
          first_seen: dateTime64Text(r.firstSeenMs),
          last_seen: dateTime64Text(r.lastSeenMs),
        }),
      )
    }
    await this.insert('series', SERIES_COLUMNS, 'JSONEachRow', Buffer.from(lines.join('\n') + '\n'), dedupToken)
  }

  private async insert(table: string, columns: readonly string[], format: RawInsert['format'], body: Buffer, dedupToken: string): Promise<void> {
    try {
      await this.insertRaw({ table, columns, format, body, settings: { insert_deduplication_token: dedupToken } })
    } catch (err) {
      throw new StoreUnavailableError(`ClickHouse insert into ${table} failed: ${(err as Error).message.slice(0, 300)}`, { cause: err })
    }
  }
}
