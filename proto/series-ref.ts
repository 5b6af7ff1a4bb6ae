/**
 * One series as every stage after the decoder knows it, on both write paths (serve's WAL and
 * the Kafka ingester). A cache that first meets a label set (the receiver's series cache,
 * the log reader's RecordDecoder) makes one SeriesRef for it, and every batch of that series
 * shares it while the cache holds it: what a later stage derives from the series alone (the
 * store's row prefix) is computed once per series, not once per batch or per sample.
 */
import type { Label, Sample } from './types.js'

export interface SeriesRef {
  /** Stable 64-bit fingerprint of the sorted label set (proto/fingerprint.ts). */
  readonly id: bigint
  readonly metricName: string
  /** Sorted by name, `__name__` included. */
  readonly labels: Label[]
  /** What the store's insert encoding writes in front of every row of this series; the store fills it on first use. */
  insertPrefix?: Uint8Array
}

/** Samples of one series in one batch. */
export interface SeriesSamples {
  ref: SeriesRef
  samples: Sample[]
}
