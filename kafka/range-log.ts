/**
 * The durable "batch about to be inserted" record of the Kafka ingester, kept in ClickHouse
 * itself (table kafka_ingest_ranges), one live row per consumer group, topic and partition.
 *
 * The same idea as ClickHouse Kafka Connect's exactly-once design, which keeps each
 * partition's [minOffset, maxOffset] in a KeeperMap state table before it inserts: here
 * the row is written before the insert, the insert carries the token naming the range,
 * and Kafka offsets are committed after it. A consumer that takes the partition over finds
 * the range uncommitted (its `from` is the committed offset), rebuilds exactly that range,
 * and inserts it with the same token; ClickHouse drops it if the first attempt landed.
 * A plain ReplacingMergeTree is used instead of KeeperMap because the embedded engine has
 * no Keeper; the newest row of a partition is the one with the highest range end (ranges
 * only move forward), so reads need neither FINAL nor a clock.
 */
import type { ClickHouseClient } from '@clickhouse/client'
import type { StoreClients } from '../store/connection.js'

export interface OffsetRange {
  /** First offset of the batch. */
  from: bigint
  /** Last offset of the batch (inclusive). */
  to: bigint
}

export const RANGE_TABLE_DDL = `CREATE TABLE IF NOT EXISTS kafka_ingest_ranges
(
    consumer_group String,
    topic String,
    partition UInt32,
    from_offset Int64,
    to_offset Int64,
    recorded_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(to_offset)
ORDER BY (consumer_group, topic, partition)
COMMENT 'Kafka ingester: the offset range each partition inserts next, recorded before the insert'`

export class RangeLog {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly insertRaw: StoreClients['insertRaw'],
    private readonly group: string,
  ) {}

  async migrate(): Promise<void> {
    await this.client.command({ query: RANGE_TABLE_DDL })
  }

  /** The last range recorded for the partition, or undefined. */
  async last(topic: string, partition: number): Promise<OffsetRange | undefined> {
    const rs = await this.client.query({
      query: `SELECT toString(argMax(from_offset, (to_offset, recorded_at))) AS f, toString(max(to_offset)) AS t, count() AS n
FROM kafka_ingest_ranges WHERE consumer_group = {g:String} AND topic = {t:String} AND partition = {p:UInt32}`,
      query_params: { g: this.group, t: topic, p: partition },
      format: 'JSONEachRow',
    })
    const [row] = await rs.json<{ f: string; t: string; n: string | number }>()
    if (!row || Number(row.n) === 0) return undefined
    return { from: BigInt(row.f), to: BigInt(row.t) }
  }

  /** Makes the range durable; resolves once ClickHouse acknowledged the row. */
  async record(topic: string, partition: number, range: OffsetRange): Promise<void> {
    const row = JSON.stringify({ consumer_group: this.group, topic, partition, from_offset: range.from.toString(), to_offset: range.to.toString() })
    await this.insertRaw({
      table: 'kafka_ingest_ranges',
      columns: ['consumer_group', 'topic', 'partition', 'from_offset', 'to_offset'],
      // A replicated table would drop a repeated identical row as a duplicate insert: the
      // record must always land.
      settings: { insert_deduplicate: '0' },
      format: 'JSONEachRow',
      body: Buffer.from(row + '\n'),
    })
  }
}
