/**
 * The public schema (docs/schema.md) and `metrichouse migrate`. Every statement is
 * idempotent, so migrate runs on every start of `serve` and may be repeated at will.
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
import type { Config } from '../config/config.js'
import { DEFAULT_ROLLUP_TUNING, rollupStatements, tierTtl, viewVersions, type RollupTuning } from '../rollup/schema.js'
import { quoteIdentifier } from './connection.js'
import { METADATA_TABLE, metadataStatements, metadataTtl } from './metadata-store.js'
import { dedupSetting, distributedTable, engineClause, localName, onCluster, storagePolicySetting, ttlExpression, type DdlTarget } from './ddl.js'

const DAY_MS = 86_400_000

export interface SchemaOptions {
  rawRetentionMs: number
  /** 1-minute rollups; default 30 days. */
  oneMinuteRetentionMs?: number
  /** 1-hour rollups; default 365 days. */
  oneHourRetentionMs?: number
  /** Recent insert tokens remembered per table; a re-sent batch within this window is dropped. */
  dedupWindow?: number
  /** ClickHouse cluster: Replicated tables, Distributed tables and ON CLUSTER. */
  cluster?: string
  storagePolicy?: string
  coldVolume?: string
  coldAfterMs?: number
  rollup?: Partial<RollupTuning>
  /** false: raw samples and series only (the benchmark's baseline). Default true. */
  rollups?: boolean
}

export const SCHEMA_VERSION = 2

/** The schema options the configuration asks for. */
export function schemaOptionsFromConfig(config: Config): SchemaOptions {
  return {
    rawRetentionMs: config.retention.rawMs,
    oneMinuteRetentionMs: config.retention.oneMinuteMs,
    oneHourRetentionMs: config.retention.oneHourMs,
    cluster: config.clickhouse.cluster,
    storagePolicy: config.clickhouse.storagePolicy,
    coldVolume: config.clickhouse.coldVolume,
    coldAfterMs: config.retention.coldAfterMs,
  }
}

interface Resolved {
  target: DdlTarget
  retentions: { rawRetentionMs: number; oneMinuteRetentionMs: number; oneHourRetentionMs: number }
  tuning: RollupTuning
}

function resolve(opts: SchemaOptions): Resolved {
  return {
    target: {
      cluster: opts.cluster || undefined,
      dedupWindow: opts.dedupWindow ?? 1000,
      storagePolicy: opts.storagePolicy || undefined,
      coldVolume: opts.coldVolume || undefined,
      coldAfterMs: opts.coldAfterMs,
    },
    retentions: {
      rawRetentionMs: opts.rawRetentionMs,
      oneMinuteRetentionMs: opts.oneMinuteRetentionMs ?? 30 * DAY_MS,
      oneHourRetentionMs: opts.oneHourRetentionMs ?? 365 * DAY_MS,
    },
    tuning: { ...DEFAULT_ROLLUP_TUNING, ...opts.rollup },
  }
}

/** The TTL each table with a retention must carry, as ClickHouse prints it in engine_full. */
function wantedTtls({ target, retentions }: Resolved): { table: string; ttl: string }[] {
  return [
    { table: localName(target, 'samples'), ttl: ttlExpression(target, 'toDateTime(timestamp)', retentions.rawRetentionMs) },
    { table: localName(target, 'samples_1m'), ttl: tierTtl(target, '1m', retentions) },
    { table: localName(target, 'samples_1h'), ttl: tierTtl(target, '1h', retentions) },
    { table: localName(target, METADATA_TABLE), ttl: metadataTtl(target, retentions.rawRetentionMs) },
  ]
}

export function schemaStatements(opts: SchemaOptions): string[] {
  const resolved = resolve(opts)
  const { target, retentions, tuning } = resolved
  const [rawTtl] = wantedTtls(resolved)
  return [
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
TTL ${rawTtl!.ttl}
SETTINGS ${dedupSetting(target)}, ttl_only_drop_parts = 1${storagePolicySetting(target)}`,
    ...distributedTable(target, 'samples'),
    ...metadataStatements(target, retentions.rawRetentionMs),
    ...(opts.rollups === false ? [] : rollupStatements(target, retentions, tuning)),
  ]
}

async function queryRows<T>(client: ClickHouseClient, query: string, params: Record<string, unknown>): Promise<T[]> {
  const rs = await client.query({ query, query_params: params, format: 'JSONEachRow' })
  return rs.json<T>()
}

/**
 * Creates what is missing, recreates views whose definition changed (they hold no data) and
 * brings every tier's TTL in line with the configuration.
 */
export async function migrate(client: ClickHouseClient, opts: SchemaOptions): Promise<void> {
  const resolved = resolve(opts)
  const { target } = resolved
  const statements = schemaStatements(opts)
  const views = viewVersions(statements)
  const existing = await queryRows<{ name: string; comment: string }>(
    client,
    `SELECT name, comment FROM system.tables WHERE database = currentDatabase() AND name IN {names:Array(String)}`,
    { names: [...views.keys()] },
  )
  for (const { name, comment } of existing) {
    if (views.get(name) !== comment) {
      await client.command({ query: `DROP VIEW IF EXISTS ${quoteIdentifier(name)}${onCluster(target)} SYNC` })
    }
  }
  for (const statement of statements) await client.command({ query: statement })
  const tables = await queryRows<{ name: string; engine_full: string }>(
    client,
    `SELECT name, engine_full FROM system.tables WHERE database = currentDatabase() AND name IN {names:Array(String)}`,
    { names: wantedTtls(resolved).map((w) => w.table) },
  )
  for (const { table, ttl } of wantedTtls(resolved)) {
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
