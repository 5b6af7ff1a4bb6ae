/**
 * Hot path: accepted series -> TabSeparated rows for `INSERT INTO samples`.
 *
 * TabSeparated because chDB takes inserts only as JSON, CSV or TSV and TSV parsed fastest
 * (design.md §4: ~1.9M rows/s insert-only). Numbers are written with JavaScript's
 * shortest round-trip formatting, which ClickHouse parses back to the same double;
 * NaNs travel as their raw bits (see store/schema.ts).
 */
import type { Label, Sample } from '../proto/types.js'

export interface SeriesSamples {
  seriesId: bigint
  metricName: string
  labels: Label[]
  samples: Sample[]
}

/** Column list matching the order encodeSamplesTsv writes. */
export const SAMPLE_INSERT_COLUMNS = '(metric_name, series_id, insert_timestamp_ms, insert_value, insert_nan_bits)'

// Canonical quiet NaN, used when a NaN arrives without its bits recorded.
const DEFAULT_NAN_BITS = '9221120237041090561' // 0x7ff8000000000001, Prometheus's NormalNaN

export function escapeTsv(text: string): string {
  // Fast path: label values and metric names almost never need escaping.
  if (!/[\\\t\n\r\0\b\f\v]/.test(text)) return text
  return text.replace(/[\\\t\n\r\0\b\f\v]/g, (c) => {
    switch (c) {
      case '\\':
        return '\\\\'
      case '\t':
        return '\\t'
      case '\n':
        return '\\n'
      case '\r':
        return '\\r'
      case '\0':
        return '\\0'
      case '\b':
        return '\\b'
      case '\f':
        return '\\f'
      default:
        return '\\v'
    }
  })
}

function valueText(value: number): string {
  if (value === Infinity) return 'inf'
  if (value === -Infinity) return '-inf'
  if (value === 0 && Object.is(value, -0)) return '-0'
  return String(value)
}

/** Returns the TSV body and the number of rows in it. */
export function encodeSamplesTsv(series: readonly SeriesSamples[]): { body: string; rows: number } {
  const parts: string[] = []
  let rows = 0
  for (const s of series) {
    const prefix = escapeTsv(s.metricName) + '\t' + s.seriesId.toString() + '\t'
    for (const sample of s.samples) {
      if (Number.isNaN(sample.value)) {
        parts.push(prefix + sample.timestampMs + '\tnan\t' + (sample.nanBits !== undefined ? sample.nanBits.toString() : DEFAULT_NAN_BITS) + '\n')
      } else {
        parts.push(prefix + sample.timestampMs + '\t' + valueText(sample.value) + '\t0\n')
      }
      rows++
    }
  }
  return { body: parts.join(''), rows }
}
