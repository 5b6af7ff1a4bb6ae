/**
 * DDL of the rollup tiers (docs/schema.md, rollup/README.md).
 *
 * Why refreshable views over closed hours instead of plain materialized views on insert:
 * an exact counter increase needs the samples of a bucket in time order (a reset is a sample
 * lower than the one before it in TIME, not in arrival order). A plain view sees one insert
 * at a time (about one sample per series per insert), and its partial states are merged in
 * part order, so a late sample lands between two partials that were already combined;
 * no bounded state can repair that (measured: deltaSumTimestamp-style states drift as soon
 * as a batch arrives out of order). So each tier is computed from the raw samples of whole,
 * closed hours, sorted by time, by a refreshable view; plain views only track WHICH hours
 * changed (`rollup_progress`) and keep backfill that the raw TTL would drop at insert
 * (`samples_backfill`).
 */
import { createHash } from 'node:crypto'
import { seriesKindSql } from './metric-kind.js'
import { dedupSetting, distributedTable, engineClause, localName, onCluster, seconds, storagePolicySetting, ttlExpression, type DdlTarget } from '../store/ddl.js'

export interface RollupRetentions {
  rawRetentionMs: number
  oneMinuteRetentionMs: number
  oneHourRetentionMs: number
}

export interface RollupTuning {
  /** An hour is rolled up this long after it ends (remote-write delay). */
  graceSeconds: number
  /** How often each refreshable view looks for hours to (re)compute. */
  refreshSeconds: number
  /** Hours computed per refresh at most (bounds memory after downtime; the rest follow). */
  maxHoursPerRefresh: number
}

export const DEFAULT_ROLLUP_TUNING: RollupTuning = { graceSeconds: 120, refreshSeconds: 60, maxHoursPerRefresh: 6 }

export type RollupTier = '1m' | '1h'

interface TierSpec {
  table: string
  bucket: string
  partition: string
  retention: keyof RollupRetentions
}

const TIERS: Record<RollupTier, TierSpec> = {
  '1m': { table: 'samples_1m', bucket: 'toStartOfMinute', partition: 'toDate(timestamp)', retention: 'oneMinuteRetentionMs' },
  '1h': { table: 'samples_1h', bucket: 'toStartOfHour', partition: 'toMonday(timestamp)', retention: 'oneHourRetentionMs' },
}

import { STALE_MARKER_BITS_SQL as STALE_MARKER_BITS } from '../proto/stale-marker.js'


/** Samples younger than raw expiry plus this margin are copied to samples_backfill too. */
const BACKFILL_MARGIN_SECONDS = 3600
/** How long samples_backfill keeps a row after receiving it: many refresh periods. */
const BACKFILL_KEEP_SECONDS = 86_400
/** A raw insert this close before a computation may not have been visible to it. */
const VISIBILITY_MARGIN_SECONDS = 60

export const ROLLUP_VIEWS = ['samples_1m_refresh', 'samples_1h_refresh'] as const

/** Every rollup statement, in creation order (after `samples` exists). */
export function rollupStatements(target: DdlTarget, retentions: RollupRetentions, tuning: RollupTuning = DEFAULT_ROLLUP_TUNING): string[] {
  const stmts: string[] = []
  const progress = localName(target, 'rollup_progress')
  const backfill = localName(target, 'samples_backfill')
  const raw = localName(target, 'samples')
  stmts.push(`CREATE TABLE IF NOT EXISTS ${progress}${onCluster(target)}
(
    stage LowCardinality(String) COMMENT 'raw: samples inserted; 1m, 1h: rollups computed',
    hour DateTime('UTC'),
    at SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = ${engineClause(target, 'AggregatingMergeTree', 'rollup_progress')}
ORDER BY (stage, hour)
TTL hour + toIntervalSecond(${seconds(retentions.oneHourRetentionMs) + 86_400})
SETTINGS ${dedupSetting(target)}`)
  stmts.push(`CREATE TABLE IF NOT EXISTS ${backfill}${onCluster(target)}
(
    metric_name LowCardinality(String),
    series_id UInt64,
    timestamp DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    value Float64 CODEC(Delta, ZSTD(1)),
    received_at DateTime('UTC') DEFAULT now()
)
ENGINE = ${engineClause(target, 'MergeTree', 'samples_backfill')}
PARTITION BY toDate(received_at)
ORDER BY (metric_name, series_id, timestamp)
TTL received_at + toIntervalSecond(${BACKFILL_KEEP_SECONDS})
SETTINGS ${dedupSetting(target)}, ttl_only_drop_parts = 1`)
  for (const tier of ['1m', '1h'] as const) stmts.push(...tierTable(target, tier, retentions))
  stmts.push(
    ...versioned(`rollup_progress_raw_mv`, target, (comment) => `CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_progress_raw_mv${onCluster(target)} TO ${progress}
AS SELECT 'raw' AS stage, toStartOfHour(timestamp) AS hour, any(now64(3, 'UTC')) AS at
FROM ${raw}
WHERE reinterpretAsUInt64(value) != ${STALE_MARKER_BITS}
GROUP BY hour
COMMENT ${comment}`),
    ...versioned(`samples_backfill_mv`, target, (comment) => `CREATE MATERIALIZED VIEW IF NOT EXISTS samples_backfill_mv${onCluster(target)} TO ${backfill}
AS SELECT metric_name, series_id, timestamp, value
FROM ${raw}
WHERE toDateTime(timestamp) + toIntervalSecond(${seconds(retentions.rawRetentionMs) - BACKFILL_MARGIN_SECONDS}) <= now()
  AND reinterpretAsUInt64(value) != ${STALE_MARKER_BITS}
COMMENT ${comment}`),
  )
  for (const tier of ['1m', '1h'] as const) {
    const spec = TIERS[tier]
    stmts.push(
      ...versioned(`rollup_progress_${tier}_mv`, target, (comment) => `CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_progress_${tier}_mv${onCluster(target)} TO ${progress}
AS SELECT '${tier}' AS stage, toStartOfHour(timestamp) AS hour, max(computed_at) AS at
FROM ${localName(target, spec.table)}
GROUP BY hour
COMMENT ${comment}`),
    )
  }
  for (const tier of ['1m', '1h'] as const) {
    const spec = TIERS[tier]
    stmts.push(
      ...versioned(`${spec.table}_refresh`, target, (comment) => `CREATE MATERIALIZED VIEW IF NOT EXISTS ${spec.table}_refresh${onCluster(target)}
REFRESH EVERY ${tuning.refreshSeconds} SECOND APPEND TO ${localName(target, spec.table)}
AS ${rollupSelect(target, tier, retentions, tuning)}
COMMENT ${comment}`),
    )
  }
  return stmts
}

/**
 * The 1m tier keeps a row at least a day after computing it, even when the bucket is older
 * than the 1m retention: the 1h tier is computed from 1m rows, and a backfill older than
 * the 1m retention would otherwise be dropped at insert (chDB applies TTL on insert) before
 * the 1h refresh could read it. Queries do not see the difference: the resolution rule never
 * reads 1m beyond its retention.
 */
export function tierTtl(target: DdlTarget, tier: RollupTier, retentions: RollupRetentions): string {
  const keep = tier === '1m' ? `toDateTime(computed_at) + toIntervalSecond(${BACKFILL_KEEP_SECONDS})` : undefined
  return ttlExpression(target, 'timestamp', retentions[TIERS[tier].retention], keep)
}

function tierTable(target: DdlTarget, tier: RollupTier, retentions: RollupRetentions): string[] {
  const spec = TIERS[tier]
  const name = localName(target, spec.table)
  return [
    `CREATE TABLE IF NOT EXISTS ${name}${onCluster(target)}
(
    metric_name LowCardinality(String),
    series_id UInt64,
    timestamp DateTime('UTC') COMMENT 'bucket start' CODEC(DoubleDelta, ZSTD(1)),
    kind Enum8('gauge' = 1, 'counter' = 2) COMMENT 'counter: typed so by metric_metadata, else named _total, _count, _sum or _bucket',
    count UInt32 COMMENT 'samples in the bucket, stale markers excluded' CODEC(T64, ZSTD(1)),
    first_timestamp DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    last_timestamp DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    first_value Float64 CODEC(Delta, ZSTD(1)),
    last_value Float64 CODEC(Delta, ZSTD(1)),
    reset_sum Float64 COMMENT 'counter: sum of the values before each reset in the bucket' CODEC(Delta, ZSTD(1)),
    resets UInt32 COMMENT 'counter: resets in the bucket' CODEC(T64, ZSTD(1)),
    min_value Float64 COMMENT 'gauge only (NaN for counters)' CODEC(Delta, ZSTD(1)),
    max_value Float64 COMMENT 'gauge only (NaN for counters)' CODEC(Delta, ZSTD(1)),
    sum_value Float64 COMMENT 'gauge only (NaN for counters)' CODEC(Delta, ZSTD(1)),
    computed_at DateTime64(3, 'UTC') COMMENT 'version: a recomputed bucket replaces the older row' CODEC(Delta, ZSTD(1))
)
ENGINE = ${engineClause(target, 'ReplacingMergeTree', spec.table, 'computed_at')}
PARTITION BY ${spec.partition}
ORDER BY (metric_name, series_id, timestamp)
TTL ${tierTtl(target, tier, retentions)}
SETTINGS ${dedupSetting(target)}, ttl_only_drop_parts = 1${storagePolicySetting(target)}`,
    ...distributedTable(target, spec.table),
  ]
}

/**
 * The hours a tier must (re)compute: closed, within the 1h retention, and changed in its source
 * (raw samples for 1m, 1m rows for 1h) after the tier last computed them.
 */
function pendingHours(target: DdlTarget, tier: RollupTier, retentions: RollupRetentions, tuning: RollupTuning): string {
  const source = tier === '1m' ? 'raw' : '1m'
  // 1m computes every hour the 1h tier still keeps: 1h is computed from it.
  const horizon = Math.max(retentions[TIERS[tier].retention], retentions.oneHourRetentionMs)
  return `WITH
    now64(3, 'UTC') AS computed,
    (
        SELECT groupArray(hour) FROM (
            SELECT hour FROM ${localName(target, 'rollup_progress')}
            WHERE hour >= now() - toIntervalSecond(${seconds(horizon)} + 3600)
              AND hour + toIntervalSecond(${3600 + tuning.graceSeconds}) <= now()
            GROUP BY hour
            HAVING maxIf(at, stage = '${source}') > maxIf(at, stage = '${tier}') - toIntervalSecond(${VISIBILITY_MARGIN_SECONDS})
            ORDER BY hour
            LIMIT ${tuning.maxHoursPerRefresh}
        )
    ) AS pending,
    if(empty(pending), toDateTime(0, 'UTC'), arrayMin(pending)) AS pending_from,
    if(empty(pending), toDateTime(0, 'UTC'), arrayMax(pending) + toIntervalSecond(3600)) AS pending_to`
}

/**
 * The refresh query of one tier. 1m: the pending hours recomputed whole from raw and
 * backfill samples sorted by time. 1h: from the 1m rows of the pending hours, sorted by
 * time, combined as docs/schema.md says (a quarter of the rows at a 15 s scrape, so the 1h
 * tier costs a fraction of the 1m one; measured in bench/README.md).
 */
export function rollupSelect(target: DdlTarget, tier: RollupTier, retentions: RollupRetentions, tuning: RollupTuning): string {
  return tier === '1m' ? oneMinuteSelect(target, retentions, tuning) : oneHourSelect(target, retentions, tuning)
}

function oneHourSelect(target: DdlTarget, retentions: RollupRetentions, tuning: RollupTuning): string {
  // rs: the 1m rows of one series and hour, sorted by time; tuple fields by position:
  // 1 timestamp, 2 first_timestamp, 3 last_timestamp, 4 first_value, 5 last_value,
  // 6 reset_sum, 7 count, 8 resets, 9 min_value, 10 max_value, 11 sum_value
  return `${pendingHours(target, '1h', retentions, tuning)}
SELECT
    metric_name,
    series_id,
    bucket AS timestamp,
    kind,
    toUInt32(arraySum(arrayMap(r -> r.7, rs))) AS count,
    rs[1].2 AS first_timestamp,
    rs[-1].3 AS last_timestamp,
    rs[1].4 AS first_value,
    rs[-1].5 AS last_value,
    -- a bucket that starts lower than the previous one ended: a reset between them
    if(kind = 'counter', arraySum(arrayMap(r -> r.6, rs)) + arraySum(arrayMap((a, b) -> if(b.4 < a.5, a.5, 0), arrayPopBack(rs), arrayPopFront(rs))), 0) AS reset_sum,
    toUInt32(if(kind = 'counter', arraySum(arrayMap(r -> r.8, rs)) + arrayCount((a, b) -> b.4 < a.5, arrayPopBack(rs), arrayPopFront(rs)), 0)) AS resets,
    if(kind = 'gauge', arrayMin(arrayMap(r -> r.9, rs)), nan) AS min_value,
    if(kind = 'gauge', arrayMax(arrayMap(r -> r.10, rs)), nan) AS max_value,
    if(kind = 'gauge', arraySum(arrayMap(r -> r.11, rs)), nan) AS sum_value,
    computed AS computed_at
FROM
(
    SELECT
        metric_name,
        series_id,
        toStartOfHour(timestamp) AS bucket,
        any(kind) AS kind,
        arraySort(groupArray((timestamp, first_timestamp, last_timestamp, first_value, last_value, reset_sum, count, resets, min_value, max_value, sum_value))) AS rs
    FROM ${localName(target, 'samples_1m')} FINAL
    WHERE timestamp >= pending_from AND timestamp < pending_to AND has(pending, toStartOfHour(timestamp))
    GROUP BY metric_name, series_id, bucket
)
SETTINGS max_bytes_before_external_group_by = 1000000000`
}

function oneMinuteSelect(target: DdlTarget, retentions: RollupRetentions, tuning: RollupTuning): string {
  const raw = localName(target, 'samples')
  const backfill = localName(target, 'samples_backfill')
  return `${pendingHours(target, '1m', retentions, tuning)}
SELECT
    metric_name,
    series_id,
    bucket AS timestamp,
    kind,
    toUInt32(length(pts)) AS count,
    pts[1].1 AS first_timestamp,
    pts[-1].1 AS last_timestamp,
    vs[1] AS first_value,
    vs[-1] AS last_value,
    if(kind = 'counter', arraySum(arrayMap((a, b) -> if(b < a, a, 0), arrayPopBack(vs), arrayPopFront(vs))), 0) AS reset_sum,
    toUInt32(if(kind = 'counter', arrayCount((a, b) -> b < a, arrayPopBack(vs), arrayPopFront(vs)), 0)) AS resets,
    if(kind = 'gauge', arrayMin(vs), nan) AS min_value,
    if(kind = 'gauge', arrayMax(vs), nan) AS max_value,
    if(kind = 'gauge', arraySum(vs), nan) AS sum_value,
    computed AS computed_at
FROM
(
    SELECT
        metric_name,
        series_id,
        toStartOfMinute(timestamp) AS bucket,
        ${seriesKindSql('metric_name')} AS kind,
        arraySort(groupArray((timestamp, value))) AS sorted,
        -- one sample per timestamp: a re-sent sample counts once (the lowest value wins a tie)
        arrayFilter((p, i) -> (i = 1) OR (p.1 != sorted[i - 1].1), sorted, arrayEnumerate(sorted)) AS pts,
        arrayMap(p -> p.2, pts) AS vs
    FROM
    (
        SELECT metric_name, series_id, timestamp, value FROM ${raw}
        WHERE timestamp >= pending_from AND timestamp < pending_to AND has(pending, toStartOfHour(timestamp))
          AND reinterpretAsUInt64(value) != ${STALE_MARKER_BITS}
        UNION ALL
        SELECT metric_name, series_id, timestamp, value FROM ${backfill}
        WHERE timestamp >= pending_from AND timestamp < pending_to AND has(pending, toStartOfHour(timestamp))
    )
    GROUP BY metric_name, series_id, bucket
)
SETTINGS max_bytes_before_external_group_by = 1000000000`
}

/**
 * A view's definition carries the hash of its own text in its COMMENT, so migrate can tell
 * a changed definition (e.g. a new retention) and recreate it: views hold no data.
 */
function versioned(name: string, target: DdlTarget, build: (comment: string) => string): string[] {
  const hash = createHash('sha256').update(build("''")).digest('hex').slice(0, 16)
  const create = build(`'metrichouse:${hash}'`)
  return [create]
}

/** The `metrichouse:<hash>` comment each view of `rollupStatements` must carry. */
export function viewVersions(statements: readonly string[]): Map<string, string> {
  const versions = new Map<string, string>()
  for (const s of statements) {
    const m = /^CREATE MATERIALIZED VIEW IF NOT EXISTS (\w+)[\s\S]*COMMENT '(metrichouse:[0-9a-f]+)'$/.exec(s)
    if (m) versions.set(m[1]!, m[2]!)
  }
  return versions
}
