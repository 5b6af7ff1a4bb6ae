/**
 * Metric metadata (TYPE, HELP, UNIT per metric family) as remote write 1.0/2.0 and the text
 * formats carry it: the `metric_metadata` table, its writer and its readers.
 *
 * Last write wins, not exactly once: a row is keyed by the whole (family, type, help, unit)
 * and versioned by `updated_at`, so re-sending an entry only refreshes it, and a family whose
 * type changed keeps both rows until the old one ages out (TTL). Readers that need one type
 * per family take the latest (`argMax(type, updated_at)`). Senders repeat their metadata (a
 * Prometheus 2.x sender every minute, a 2.0 sender with every series), so a lost write is
 * repaired by the next one.
 */
import type { ClickHouseClient } from '@clickhouse/client'
import type { MetricMetadata, MetricType } from '../proto/types.js'
import type { StoreClients } from './connection.js'
import { quoteString } from './connection.js'
import { dedupSetting, engineClause, localName, onCluster, ttlExpression, type DdlTarget } from './ddl.js'

export const METADATA_TABLE = 'metric_metadata'

const COLUMNS = ['metric_family_name', 'type', 'help', 'unit', 'updated_at'] as const

/** The table's TTL as ClickHouse prints it back (migrate compares it); never a cold volume. */
export function metadataTtl(target: DdlTarget, retentionMs: number): string {
  return ttlExpression({ ...target, coldVolume: undefined }, 'toDateTime(updated_at)', retentionMs)
}

/** DDL of the metadata table; rows live as long as raw samples unless refreshed. */
export function metadataStatements(target: DdlTarget, retentionMs: number): string[] {
  const local = localName(target, METADATA_TABLE)
  const statements = [
    `CREATE TABLE IF NOT EXISTS ${local}${onCluster(target)}
(
    metric_family_name String,
    type LowCardinality(String) COMMENT 'counter, gauge, histogram, gaugehistogram, summary, info, stateset or unknown',
    help String,
    unit LowCardinality(String),
    updated_at DateTime64(3, 'UTC') COMMENT 'version: the last time a sender sent this entry'
)
ENGINE = ${engineClause(target, 'ReplacingMergeTree', METADATA_TABLE, 'updated_at')}
ORDER BY (metric_family_name, type, help, unit)
TTL ${metadataTtl(target, retentionMs)}
SETTINGS ${dedupSetting(target)}`,
  ]
  if (target.cluster) {
    // Sharded by family, not by series: every entry of one family lives on one shard.
    statements.push(`CREATE TABLE IF NOT EXISTS ${METADATA_TABLE}${onCluster(target)} AS ${local}
ENGINE = Distributed(${quoteString(target.cluster)}, currentDatabase(), ${local}, cityHash64(metric_family_name))`)
  }
  return statements
}

function dateTime64Text(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '')
}

export interface MetadataQuery {
  /** Only this family (Prometheus' `metric` parameter); all when absent. */
  metric?: string
  /** Families returned at most; negative: all (Prometheus' `limit`). */
  limit: number
  /** Entries per family at most; zero or negative: all (`limit_per_metric`). */
  limitPerMetric: number
}

export interface MetadataEntry {
  type: MetricType
  help: string
  unit: string
}

/** The most families one metadata answer reads, whatever `limit` says (bounds memory). */
export const MAX_METADATA_FAMILIES = 100_000

export class ClickHouseMetadataStore {
  /** `client` reads (read-only is enough); `insertRaw` is needed only to write. */
  constructor(private readonly clients: { client: ClickHouseClient; insertRaw?: StoreClients['insertRaw'] }) {}

  /** Inserts entries as seen at `atMs`; no dedup token: a repeat only refreshes `updated_at`. */
  async writeMetadata(entries: readonly MetricMetadata[], atMs: number): Promise<void> {
    if (entries.length === 0) return
    if (!this.clients.insertRaw) throw new Error('this metadata store was opened read-only')
    const updated = dateTime64Text(atMs)
    const lines = entries.map((e) => JSON.stringify({ metric_family_name: e.metricFamilyName, type: e.type, help: e.help, unit: e.unit, updated_at: updated }))
    await this.clients.insertRaw({ table: METADATA_TABLE, columns: COLUMNS, settings: {}, format: 'JSONEachRow', body: Buffer.from(lines.join('\n') + '\n') })
  }

  /** `/api/v1/metadata`: family -> its distinct entries, latest first. */
  async metadata(q: MetadataQuery, signal?: AbortSignal): Promise<Map<string, MetadataEntry[]>> {
    const families = q.limit < 0 ? MAX_METADATA_FAMILIES : Math.min(q.limit, MAX_METADATA_FAMILIES)
    const out = new Map<string, MetadataEntry[]>()
    if (families === 0) return out
    const perFamily = q.limitPerMetric > 0 ? q.limitPerMetric : 1_000
    const rs = await this.clients.client.query({
      query: `SELECT metric_family_name AS family, type, help, unit
FROM ${METADATA_TABLE} FINAL
WHERE metric_family_name IN (
    SELECT DISTINCT metric_family_name FROM ${METADATA_TABLE}
    WHERE {metric:String} = '' OR metric_family_name = {metric:String}
    ORDER BY metric_family_name LIMIT {families:UInt32}
)
ORDER BY family, updated_at DESC
LIMIT {perFamily:UInt32} BY family`,
      query_params: { metric: q.metric ?? '', families, perFamily },
      format: 'JSONEachRow',
      abort_signal: signal,
    })
    for (const row of await rs.json<{ family: string; type: MetricType; help: string; unit: string }>()) {
      let list = out.get(row.family)
      if (!list) out.set(row.family, (list = []))
      list.push({ type: row.type, help: row.help, unit: row.unit })
    }
    return out
  }

  /** The latest type of each family (of `families`, or all): what counter detection needs. */
  async familyTypes(families?: readonly string[]): Promise<Map<string, MetricType>> {
    const rs = await this.clients.client.query({
      query: `SELECT metric_family_name AS family, argMax(type, updated_at) AS type FROM ${METADATA_TABLE}
WHERE {all:Bool} OR metric_family_name IN {families:Array(String)}
GROUP BY family`,
      query_params: { all: families === undefined, families: families ?? [] },
      format: 'JSONEachRow',
    })
    const out = new Map<string, MetricType>()
    for (const row of await rs.json<{ family: string; type: MetricType }>()) out.set(row.family, row.type)
    return out
  }
}
