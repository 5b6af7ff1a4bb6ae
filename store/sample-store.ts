/**
 * The SampleStore seam: where the ingester lands batches. Each insert carries a
 * deduplication token that names its exact content, so a batch re-sent after a crash is
 * dropped by ClickHouse (every table has non_replicated_deduplication_window).
 */
import { Readable } from 'node:stream'
import type { ClickHouseClient } from '@clickhouse/client'
import type { Label } from '../proto/types.js'
import { quoteString } from './connection.js'
import { encodeSamplesTsv, SAMPLE_INSERT_COLUMNS, type SeriesSamples } from './tsv-encoder.js'

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

function dateTime64Text(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '')
}

export class ClickHouseSampleStore implements SampleStore {
  constructor(private readonly client: ClickHouseClient) {}

  async insertSamples(series: readonly SeriesSamples[], dedupToken: string): Promise<number> {
    const { body, rows } = encodeSamplesTsv(series)
    if (rows === 0) return 0
    await this.insertRaw(
      `INSERT INTO samples ${SAMPLE_INSERT_COLUMNS} SETTINGS insert_deduplication_token = ${quoteString(dedupToken)} FORMAT TabSeparated`,
      body,
    )
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
    await this.insertRaw(
      `INSERT INTO series SETTINGS insert_deduplication_token = ${quoteString(dedupToken)} FORMAT JSONEachRow`,
      lines.join('\n') + '\n',
    )
  }

  private async insertRaw(query: string, body: string): Promise<void> {
    try {
      const result = await this.client.exec({ query, values: Readable.from([Buffer.from(body)], { objectMode: false }) })
      // The response must be consumed or a server connection stays checked out.
      for await (const _chunk of result.stream) {
        /* drain */
      }
    } catch (err) {
      throw new StoreUnavailableError(`ClickHouse insert failed: ${(err as Error).message.slice(0, 300)}`, { cause: err })
    }
  }
}
