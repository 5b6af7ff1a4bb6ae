/**
 * Decides which series rows to (re)write into the `series` table: a series the first time
 * this process sees it, and again when its samples move into a later hour, so last_seen
 * stays within an hour of the truth without a write per sample. Bounded: beyond
 * `maxTracked` the oldest entries are forgotten, which only costs a harmless re-insert
 * (the table is an AggregatingMergeTree keyed by series_id).
 */
import type { SeriesRow } from '../store/sample-store.js'
import type { SeriesSamples } from '../proto/series-ref.js'

const HOUR_MS = 3_600_000

export class SeriesRegistry {
  // seriesId -> the hour (ms / HOUR_MS) of the newest sample already written as last_seen.
  private readonly written = new Map<bigint, number>()

  constructor(private readonly maxTracked = 2_000_000) {}

  /** Rows to write for this batch; call `confirm` with them once the insert succeeded. */
  rowsToWrite(series: readonly SeriesSamples[]): SeriesRow[] {
    const rows = new Map<bigint, SeriesRow>()
    for (const s of series) {
      if (s.samples.length === 0) continue
      let min = Infinity
      let max = -Infinity
      for (const sample of s.samples) {
        if (sample.timestampMs < min) min = sample.timestampMs
        if (sample.timestampMs > max) max = sample.timestampMs
      }
      const { id, metricName, labels } = s.ref
      const known = this.written.get(id)
      if (known !== undefined && Math.floor(max / HOUR_MS) <= known) continue
      const row = rows.get(id)
      if (row) {
        row.firstSeenMs = Math.min(row.firstSeenMs, min)
        row.lastSeenMs = Math.max(row.lastSeenMs, max)
      } else {
        rows.set(id, { seriesId: id, metricName, labels, firstSeenMs: min, lastSeenMs: max })
      }
    }
    return [...rows.values()]
  }

  confirm(rows: readonly SeriesRow[]): void {
    for (const r of rows) {
      this.written.delete(r.seriesId) // re-insert at the end: Map order is the eviction order
      this.written.set(r.seriesId, Math.floor(r.lastSeenMs / HOUR_MS))
    }
    while (this.written.size > this.maxTracked) {
      const oldest = this.written.keys().next().value as bigint
      this.written.delete(oldest)
    }
  }

  get size(): number {
    return this.written.size
  }
}
