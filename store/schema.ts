/**
 * The store's own tables (`series`, `samples`; docs/schema.md) and `metrichouse migrate`.
 * migrate applies a `SchemaPlan` its caller composes (rollup/public-schema.ts adds the
 * rollup tiers), so this folder knows nothing of what is built on the raw samples. Every
 * statement is idempotent, so migrate runs on every start of `serve` and may be repeated
 * at will.
 *
 * Why the EPHEMERAL insert columns: text formats canonicalise every NaN (losing the stale
 * marker's payload 0x7ff0000000000002) and guess the unit of a bare integer parsed into
 * DateTime64, so a text writer sends the timestamp as Int64 milliseconds and, for NaNs, the
 * raw bits; the column DEFAULTs rebuild `timestamp` and `value` exactly. metrichouse's own
 * writer sends RowBinary (store/rowbinary-encoder.ts), exact as it is; the columns stay for
 * text writers and for data directories written before.
 *
 * `series.labels` sits outside the sorting key on purpose: it is a function of series_id
 * (its hash), so any copy a merge keeps is the right one. Users who insert their own rows may still
 * write `timestamp` and `value` directly.
 *
 * Raw samples are partitioned by hour (not day) because the rollup tiers read one closed
 * hour at a time (rollup/schema.ts): with daily partitions every hourly refresh would read
 * the whole day so far, the sorting key (series first) being no help for a time slice.
 */
import type { ClickHouseClient } from '@clickhouse/client'
import { quoteIdentifier } from './connection.js'
import { METADATA_TABLE, metadataStatements, metadataTtl } from './metadata-store.js'
import { dedupSetting, distributedTable, engineClause, localName, onCluster, storagePolicySetting, ttlExpression, type DdlTarget } from './ddl.js'

export interface SchemaOptions {
  rawRetentionMs: number
  /** Recent insert tokens remembered per table; a re-sent batch within this window is dropped. */
  dedupWindow?: number
  /** ClickHouse cluster: Replicated tables, Distributed tables and ON CLUSTER. */
  cluster?: string
  storagePolicy?: string
  coldVolume?: string
  coldAfterMs?: number
}

export const SCHEMA_VERSION = 2

/** What migrate brings a database to: statements in creation order, and what it checks beyond them. */
export interface SchemaPlan {
  target: DdlTarget
  statements: string[]
  /**
   * Views by name -> the version comment their definition carries: a view whose comment
   * differs is dropped and created again (views hold no data).
   */
  viewVersions: Map<string, string>
  /** The TTL each table with a retention must carry, as ClickHouse prints it in engine_full. */
  ttls: { table: string; ttl: string }[]
}

export function ddlTarget(opts: SchemaOptions): DdlTarget {
  return {
    cluster: opts.cluster || undefined,
    dedupWindow: opts.dedupWindow ?? 1000,
    storagePolicy: opts.storagePolicy || undefined,
    coldVolume: opts.coldVolume || undefined,
    coldAfterMs: opts.coldAfterMs,
  }
}

/** `series`, `samples` and `metric_metadata`: what the write path needs, with nothing built on them. */
export function storeSchema(opts: SchemaOptions): SchemaPlan {
  const target = ddlTarget(opts)
  const rawTtl = ttlExpression(target, 'toDateTime(timestamp)', opts.rawRetentionMs)
  return {
    target,
    viewVersions: new Map(),
    ttls: [
      { table: localName(target, 'samples'), ttl: rawTtl },
      { table: localName(target, METADATA_TABLE), ttl: metadataTtl(target, opts.rawRetentionMs) },
    ],
    statements: [
      `CREATE TABLE IF NOT EXISTS ${localName(target, 'series')}${onCluster(target)}
(
    series_id UInt64 COMMENT 'xxHash64 of the sorted label set: Prometheus labels.StableHash()',
    metric_name LowCardinality(String),
    labels Map(LowCardinality(String), String) COMMENT 'every label but __name__',
    first_seen SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_seen SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = ${engineClause(target, 'AggregatingMergeTree', 'series')}
ORDER BY (metric_name, series_id)
SETTINGS ${dedupSetting(target)}, allow_dimensions_outside_sorting_key = 1`,
      ...distributedTable(target, 'series'),
      `CREATE TABLE IF NOT EXISTS ${localName(target, 'samples')}${onCluster(target)}
(
    metric_name LowCardinality(String),
    series_id UInt64,
    timestamp DateTime64(3, 'UTC') DEFAULT fromUnixTimestamp64Milli(insert_timestamp_ms, 'UTC') CODEC(Delta, ZSTD(1)),
    value Float64 DEFAULT if(insert_nan_bits = 0, insert_value, reinterpretAsFloat64(insert_nan_bits)) CODEC(Delta, ZSTD(1)),
    insert_timestamp_ms Int64 EPHEMERAL,
    insert_value Float64 EPHEMERAL,
    insert_nan_bits UInt64 EPHEMERAL
)
ENGINE = ${engineClause(target, 'MergeTree', 'samples')}
PARTITION BY toStartOfHour(timestamp)
ORDER BY (metric_name, series_id, timestamp)
TTL ${rawTtl}
SETTINGS ${dedupSetting(target)}, ttl_only_drop_parts = 1, enable_block_number_column = 1${storagePolicySetting(target)}`,
      // Every row keeps the number of the insert block that wrote it, through merges: a query
      // reads only blocks up to the newest at its start (query/read-snapshot.ts), so all its
      // statements see one state of the store. Tables created before it get it here.
      `ALTER TABLE ${localName(target, 'samples')}${onCluster(target)} MODIFY SETTING enable_block_number_column = 1`,
      ...distributedTable(target, 'samples'),
      ...metadataStatements(target, opts.rawRetentionMs),
    ],
  }
}

async function queryRows<T>(client: ClickHouseClient, query: string, params: Record<string, unknown>): Promise<T[]> {
  const rs = await client.query({ query, query_params: params, format: 'JSONEachRow' })
  return rs.json<T>()
}

/**
 * Creates what is missing, recreates views whose definition changed (they hold no data) and
 * brings every table's TTL in line with the plan.
 */
export async function migrate(client: ClickHouseClient, plan: SchemaPlan): Promise<void> {
  const { target, statements, viewVersions, ttls } = plan
  const existing = await queryRows<{ name: string; comment: string }>(
    client,
    `SELECT name, comment FROM system.tables WHERE database = currentDatabase() AND name IN {names:Array(String)}`,
    { names: [...viewVersions.keys()] },
  )
  for (const { name, comment } of existing) {
    if (viewVersions.get(name) !== comment) {
      await client.command({ query: `DROP VIEW IF EXISTS ${quoteIdentifier(name)}${onCluster(target)} SYNC` })
    }
  }
  for (const statement of statements) await client.command({ query: statement })
  const tables = await queryRows<{ name: string; engine_full: string }>(
    client,
    `SELECT name, engine_full FROM system.tables WHERE database = currentDatabase() AND name IN {names:Array(String)}`,
    { names: ttls.map((w) => w.table) },
  )
  for (const { table, ttl } of ttls) {
    const row = tables.find((t) => t.name === table)
    const current = row ? (/ TTL (.*?)(?: SETTINGS |$)/.exec(row.engine_full.replace(/\\'/g, "'"))?.[1] ?? '') : ttl
    if (current !== ttl) {
      // materialize_ttl_after_modify=0: old parts keep their TTL until merged, instead of a
      // rewrite of the whole table at migrate time.
      await client.command({
        query: `ALTER TABLE ${quoteIdentifier(table)}${onCluster(target)} MODIFY TTL ${ttl} SETTINGS materialize_ttl_after_modify = 0`,
      })
    }
  }
}
