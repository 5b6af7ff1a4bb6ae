/**
 * Kafka partition keys that keep every aggregation group on one partition.
 *
 * The ingesters aggregate each partition on its own (aggregation/batch-aggregation.ts), so
 * all input series of an output series must share a partition, or two partitions would
 * each write a partial value for the same output series and interval. A series a rule
 * matches is therefore keyed by its metric name and the labels every matching rule groups
 * by (the intersection: each rule's groups then fall within one key); any other series
 * keeps its own fingerprint, spread as before. Measured on the 1000 pools x 100 servers
 * layout with `without: [instance]` rules: bench/aggregation.ts, bench/README.md.
 */
import type { SeriesRef } from '../proto/series-ref.js'
import type { Label } from '../proto/types.js'
import { groupLabels, ruleMatches, type AggregationRule } from './rules.js'

export type KeyedSeries = Pick<SeriesRef, 'id' | 'labels'>

const CACHE_MAX = 1_000_000

export class AggregationPartitionKey {
  private readonly cache = new Map<bigint, bigint>()

  constructor(
    private readonly rules: readonly AggregationRule[],
    private readonly fingerprint: (labels: readonly Label[]) => bigint,
  ) {}

  keyOf(series: KeyedSeries): bigint {
    const hit = this.cache.get(series.id)
    if (hit !== undefined) return hit
    let common: Label[] | undefined
    for (const rule of this.rules) {
      if (!ruleMatches(rule, series.labels)) continue
      const names = new Set(groupLabels(rule, series.labels).map((l) => l.name))
      common = (common ?? series.labels.filter((l) => l.name !== '__name__')).filter((l) => names.has(l.name))
    }
    let key = series.id
    if (common) {
      const name = series.labels.find((l) => l.name === '__name__')
      key = this.fingerprint(name ? [name, ...common] : common)
    }
    if (this.cache.size >= CACHE_MAX) this.cache.clear()
    this.cache.set(series.id, key)
    return key
  }
}
