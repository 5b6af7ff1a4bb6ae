/**
 * The pieces every metrichouse table's DDL shares, so that one schema text serves a single
 * node and a cluster: with a cluster name, a table `t` becomes `t_local`
 * (Replicated*MergeTree, ON CLUSTER) plus `t` (Distributed over it, sharded by series_id so
 * a series and its rollups live on one shard).
 */
import { quoteIdentifier, quoteString } from './connection.js'

export interface DdlTarget {
  /** ClickHouse cluster name (`remote_servers`); absent: a single node. */
  cluster?: string
  /** Recent insert blocks remembered per table for deduplication. */
  dedupWindow: number
  /** Storage policy holding `coldVolume` (server deployments). */
  storagePolicy?: string
  /** Volume that parts older than `coldAfterMs` move to (`TTL ... TO VOLUME`). */
  coldVolume?: string
  coldAfterMs?: number
}

export type MergeTreeKind = 'MergeTree' | 'ReplacingMergeTree' | 'AggregatingMergeTree'

export function onCluster(target: DdlTarget): string {
  return target.cluster ? ` ON CLUSTER ${quoteIdentifier(target.cluster)}` : ''
}

/** The name the data lives under: `t` on a single node, `t_local` on a cluster. */
export function localName(target: DdlTarget, table: string): string {
  return target.cluster ? `${table}_local` : table
}

export function engineClause(target: DdlTarget, kind: MergeTreeKind, table: string, args = ''): string {
  if (!target.cluster) return args ? `${kind}(${args})` : kind
  const zkPath = quoteString(`/clickhouse/tables/{shard}/{database}/${localName(target, table)}`)
  return `Replicated${kind}(${zkPath}, '{replica}'${args ? `, ${args}` : ''})`
}

/** Deduplication of re-sent insert blocks: a setting of its own name on replicated tables. */
export function dedupSetting(target: DdlTarget): string {
  return `${target.cluster ? 'replicated' : 'non_replicated'}_deduplication_window = ${target.dedupWindow}`
}

export function seconds(ms: number): number {
  return Math.max(1, Math.floor(ms / 1000))
}

/**
 * A TTL clause in the text ClickHouse prints back in `engine_full` (so migrate can tell
 * whether it changed): deletion after `retentionMs`, and a move to the cold volume first when
 * one is configured and comes earlier. `keepAtLeast`: an expression the deletion waits for
 * in any case (see samples_1m).
 */
export function ttlExpression(target: DdlTarget, timeExpr: string, retentionMs: number, keepAtLeast?: string): string {
  const expiry = `${timeExpr} + toIntervalSecond(${seconds(retentionMs)})`
  const parts: string[] = [keepAtLeast ? `greatest(${expiry}, ${keepAtLeast})` : expiry]
  if (target.coldVolume && target.coldAfterMs !== undefined && target.coldAfterMs < retentionMs) {
    parts.push(`${timeExpr} + toIntervalSecond(${seconds(target.coldAfterMs)}) TO VOLUME ${quoteString(target.coldVolume)}`)
  }
  return parts.join(', ')
}

export function storagePolicySetting(target: DdlTarget): string {
  return target.storagePolicy ? `, storage_policy = ${quoteString(target.storagePolicy)}` : ''
}

/** On a cluster: the Distributed table `t` over `t_local`, rows placed by series. */
export function distributedTable(target: DdlTarget, table: string): string[] {
  if (!target.cluster) return []
  return [
    `CREATE TABLE IF NOT EXISTS ${table}${onCluster(target)} AS ${localName(target, table)}
ENGINE = Distributed(${quoteString(target.cluster)}, currentDatabase(), ${localName(target, table)}, series_id)`,
  ]
}
