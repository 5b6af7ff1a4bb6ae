/**
 * Loads whole series (labels + samples) into ClickHouse through the write path's own store
 * (store/sample-store.ts: the same TSV encoding, EPHEMERAL insert columns and series rows
 * the ingester writes), so what the query side reads in tests, the promqltest runner and
 * the bench is stored exactly as production data is. Stale markers keep their bits.
 */
import { Fingerprinter } from '../proto/fingerprint.js'
import type { Label } from '../proto/types.js'
import type { Labels } from '../promql/api.js'
import type { SampleStore, SeriesRow } from '../store/sample-store.js'
import type { SeriesSamples } from '../store/rowbinary-encoder.js'

import { STALE_NAN_BITS } from '../proto/stale-marker.js'

// Four days of hourly partitions per insert: under ClickHouse's 100 partitions per block.
const WINDOW_MS = 96 * 3_600_000

export interface LoadSeries {
  labels: Labels
  timestamps: ArrayLike<number>
  values: ArrayLike<number>
  /** 1 = stale marker at this index. */
  stale?: ArrayLike<number>
}

export class SeriesLoader {
  private batch = 0

  private constructor(
    private readonly store: SampleStore,
    private readonly fingerprinter: Fingerprinter,
    /** Distinguishes this loader's dedup tokens from any other writer's. */
    private readonly tokenPrefix: string,
  ) {}

  static async create(store: SampleStore, tokenPrefix = `loader-${process.pid}-${Date.now()}`): Promise<SeriesLoader> {
    return new SeriesLoader(store, await Fingerprinter.create(), tokenPrefix)
  }

  /**
   * Inserts in batches of about `batchRows` samples, each batch within one window of
   * WINDOW_MS (samples is partitioned by hour, and ClickHouse refuses an insert block that
   * touches more than 100 partitions); returns the samples written.
   */
  async load(series: readonly LoadSeries[], batchRows = 500_000): Promise<number> {
    const windows = new Map<number, SeriesSamples[]>()
    const seriesRows: SeriesRow[] = []
    for (const s of mergeDuplicates(series)) {
      if (s.timestamps.length === 0) continue
      const labels: Label[] = Object.entries(s.labels).map(([name, value]) => ({ name, value }))
      const seriesId = this.fingerprinter.fingerprint(labels)
      const metricName = s.labels.__name__ ?? ''
      let first = Infinity
      let last = -Infinity
      let current: SeriesSamples | undefined
      let currentWindow = NaN
      for (let i = 0; i < s.timestamps.length; i++) {
        const t = s.timestamps[i]
        first = Math.min(first, t)
        last = Math.max(last, t)
        const w = Math.floor(t / WINDOW_MS)
        if (w !== currentWindow || !current) {
          currentWindow = w
          let list = windows.get(w)
          if (!list) windows.set(w, (list = []))
          current = list.find((x) => x.ref.id === seriesId)
          if (!current) list.push((current = { ref: { id: seriesId, metricName, labels }, samples: [] }))
        }
        const stale = s.stale?.[i] === 1
        current.samples.push(stale ? { timestampMs: t, value: NaN, nanBits: STALE_NAN_BITS } : { timestampMs: t, value: s.values[i] })
      }
      seriesRows.push({ seriesId, metricName, labels, firstSeenMs: first, lastSeenMs: last })
    }
    const prefix = `${this.tokenPrefix}:${this.batch++}`
    for (let i = 0; i < seriesRows.length; i += 50_000) await this.store.insertSeries(seriesRows.slice(i, i + 50_000), `${prefix}:series:${i}`)
    let written = 0
    let part = 0
    for (const w of [...windows.keys()].sort((a, b) => a - b)) {
      let pending: SeriesSamples[] = []
      let rows = 0
      for (const s of windows.get(w)!) {
        pending.push(s)
        rows += s.samples.length
        if (rows >= batchRows) {
          written += await this.store.insertSamples(pending, `${prefix}:${part++}`)
          pending = []
          rows = 0
        }
      }
      if (pending.length > 0) written += await this.store.insertSamples(pending, `${prefix}:${part++}`)
    }
    return written
  }
}

/**
 * One entry per label set, the later entry's sample winning at a shared timestamp (as a
 * TSDB append overwrites in a promqltest `load`). ClickHouse would keep both rows, and a
 * read could not tell which came last.
 */
function mergeDuplicates(series: readonly LoadSeries[]): LoadSeries[] {
  const byKey = new Map<string, LoadSeries[]>()
  for (const s of series) {
    const key = JSON.stringify(Object.entries(s.labels).sort())
    const list = byKey.get(key)
    if (list) list.push(s)
    else byKey.set(key, [s])
  }
  const out: LoadSeries[] = []
  for (const list of byKey.values()) {
    if (list.length === 1) {
      out.push(list[0])
      continue
    }
    const points = new Map<number, { v: number; stale: number }>()
    for (const s of list) for (let i = 0; i < s.timestamps.length; i++) points.set(s.timestamps[i], { v: s.values[i], stale: s.stale?.[i] ?? 0 })
    const times = [...points.keys()].sort((a, b) => a - b)
    out.push({ labels: list[0].labels, timestamps: times, values: times.map((t) => points.get(t)!.v), stale: times.map((t) => points.get(t)!.stale) })
  }
  return out
}
