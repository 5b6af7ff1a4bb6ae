/**
 * One state of the raw samples for all the statements of one query (or one rule evaluation).
 *
 * A query reads each selector with its own statements; a flush landing between two of them
 * is seen by one and not the other (`errors / total` answered 0.5495 on data that is 0.5 at
 * every instant). So a query takes, at its start, the newest insert block of each partition
 * of `samples` from `system.parts`, and every statement it runs reads only rows of blocks up
 * to that: `samples` keeps each row's block number through merges
 * (`enable_block_number_column`, store/schema.ts), and a plain MergeTree numbers blocks in
 * the order they become visible, so every row of a block at or below the snapshot was
 * already visible when it was taken, and no row of a later block is ever read. Rows of a
 * partition created later are not read either (the map answers 0 for it).
 *
 * Measured (test/integration/query-consistency.test.ts, bench/README.md): the tear tests of
 * issue 14 give 0 torn answers; the snapshot costs one small statement per query.
 *
 * Not covered: the rollup tiers (recomputed only for late samples; they are bounded by the
 * query's one planning instant instead, query/tier-source.ts), and a cluster's Replicated
 * tables (block numbers are per partition there and may become visible out of order, and
 * each shard numbers its own): queries through `clickhouse.cluster` are not bounded.
 */
import type { ClickHouseClient } from '@clickhouse/client'

/** The newest insert block of each partition of `samples` when a query started. */
export interface ReadSnapshot {
  /** partition_id -> block number. */
  readonly blocks: ReadonlyMap<string, number>
}

/**
 * WHERE text bounding a read of `samples` (any statement over it, the compiled ones too) by
 * a snapshot; its parameter comes from `snapshotParams`.
 */
export const SNAPSHOT_CONDITION = '_block_number <= {snapshot_blocks:Map(String, UInt64)}[_partition_id]'

export function snapshotParams(snapshot: ReadSnapshot): { snapshot_blocks: Map<string, number> } {
  return { snapshot_blocks: new Map(snapshot.blocks) }
}

/** Takes the snapshot: one statement over `system.parts` (active parts of `samples`). */
export async function takeReadSnapshot(client: ClickHouseClient, signal?: AbortSignal): Promise<ReadSnapshot> {
  const rs = await client.query({
    query: `SELECT partition_id, toString(max(max_block_number)) AS block
FROM system.parts
WHERE database = currentDatabase() AND table = 'samples' AND active
GROUP BY partition_id`,
    format: 'JSONEachRow',
    abort_signal: signal,
  })
  const rows = await rs.json<{ partition_id: string; block: string }>()
  return { blocks: new Map(rows.map((r) => [r.partition_id, Number(r.block)])) }
}
