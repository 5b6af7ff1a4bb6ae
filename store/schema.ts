/**
 * The public schema (docs/schema.md) and `metrichouse migrate`. Every statement is
 * idempotent, so migrate runs on every start of `serve` and may be repeated at will.
 *
 * Why the EPHEMERAL insert columns: chDB accepts inserts only as text formats, whose
 * parsers canonicalise every NaN (losing the stale marker's payload 0x7ff0000000000002)
 * and guess the unit of a bare integer parsed into DateTime64. The writer therefore sends
 * the timestamp as Int64 milliseconds and, for NaNs, the raw bits; the column DEFAULTs
 * rebuild `timestamp` and `value` exactly.
 *
 * `series.labels` sits outside the sorting key on purpose: it is a function of series_id
 * (its hash), so any copy a merge keeps is the right one. Users who insert their own rows may still
 * write `timestamp` and `value` directly.
 */
import type { ClickHouseClient } from '@clickhouse/client'

export interface SchemaOptions {
  rawRetentionMs: number
  /** Recent insert tokens remembered per table; a re-sent batch within this window is dropped. */
  dedupWindow?: number
}

export const SCHEMA_VERSION = 1

function retentionSeconds(ms: number): number {
  return Math.max(1, Math.floor(ms / 1000))
}

export function schemaStatements(opts: SchemaOptions): string[] {
  const window = opts.dedupWindow ?? 1000
  return [
    `CREATE TABLE IF NOT EXISTS series
(
    series_id UInt64 COMMENT 'xxHash64 of the sorted label set: Prometheus labels.StableHash()',
    metric_name LowCardinality(String),
    labels Map(LowCardinality(String), String) COMMENT 'every label but __name__',
    first_seen SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_seen SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
ORDER BY (metric_name, series_id)
SETTINGS non_replicated_deduplication_window = ${window}, allow_dimensions_outside_sorting_key = 1`,
    `CREATE TABLE IF NOT EXISTS samples
(
    metric_name LowCardinality(String),
    series_id UInt64,
    timestamp DateTime64(3, 'UTC') DEFAULT fromUnixTimestamp64Milli(insert_timestamp_ms, 'UTC') CODEC(Delta, ZSTD(1)),
    value Float64 DEFAULT if(insert_nan_bits = 0, insert_value, reinterpretAsFloat64(insert_nan_bits)) CODEC(Gorilla, ZSTD(1)),
    insert_timestamp_ms Int64 EPHEMERAL,
    insert_value Float64 EPHEMERAL,
    insert_nan_bits UInt64 EPHEMERAL
)
ENGINE = MergeTree
PARTITION BY toDate(timestamp)
ORDER BY (metric_name, series_id, timestamp)
TTL toDateTime(timestamp) + toIntervalSecond(${retentionSeconds(opts.rawRetentionMs)})
SETTINGS non_replicated_deduplication_window = ${window}, ttl_only_drop_parts = 1`,
  ]
}

/** Creates what is missing and brings the raw TTL in line with the configuration. */
export async function migrate(client: ClickHouseClient, opts: SchemaOptions): Promise<void> {
  for (const statement of schemaStatements(opts)) await client.command({ query: statement })
  const rs = await client.query({
    query: `SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = 'samples'`,
    format: 'JSONEachRow',
  })
  const [row] = await rs.json<{ engine_full: string }>()
  const wanted = `toIntervalSecond(${retentionSeconds(opts.rawRetentionMs)})`
  if (row && !row.engine_full.includes(wanted)) {
    // materialize_ttl_after_modify=0: old parts keep their TTL until merged, instead of a
    // rewrite of the whole table at migrate time.
    await client.command({
      query: `ALTER TABLE samples MODIFY TTL toDateTime(timestamp) + ${wanted} SETTINGS materialize_ttl_after_modify = 0`,
    })
  }
}
