/**
 * Where a stream's aggregation state is kept between batches: ClickHouse table
 * `aggregation_state`, one row per stream and position (the source position right after
 * the batch that produced it). Kept in ClickHouse rather than on local disk because a Kafka
 * partition's state must follow the partition to whichever ingester gets it next.
 *
 * Rows are looked up by exact position, never "the newest": a member that lost its
 * partition in a rebalance may still save the state after a batch the group never
 * committed, and the next owner must not build on it.
 */
import type { ClickHouseClient } from '@clickhouse/client'
import type { StoreClients } from '../store/connection.js'

export const AGGREGATION_STATE_DDL = `CREATE TABLE IF NOT EXISTS aggregation_state
(
    stream String,
    position String,
    saved_at DateTime64(3, 'UTC') DEFAULT now64(3),
    state String CODEC(ZSTD(1))
)
ENGINE = MergeTree
ORDER BY (stream, position)
TTL toDateTime(saved_at) + INTERVAL 1 DAY
COMMENT 'Stream aggregation: the state of each stream (WAL, Kafka partition) after each landed batch'`

export interface AggregationStateStore {
  /** The state saved at exactly this position, or undefined. */
  load(stream: string, position: string): Promise<Buffer | undefined>
  /** Whether any state of the stream is kept (to tell a first start from a lost state). */
  has(stream: string): Promise<boolean>
  save(stream: string, position: string, state: Buffer): Promise<void>
}

export class ClickHouseAggregationStateStore implements AggregationStateStore {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly insertRaw: StoreClients['insertRaw'],
  ) {}

  async migrate(): Promise<void> {
    await this.client.command({ query: AGGREGATION_STATE_DDL })
  }

  async load(stream: string, position: string): Promise<Buffer | undefined> {
    const rs = await this.client.query({
      query: 'SELECT state FROM aggregation_state WHERE stream = {s:String} AND position = {p:String} ORDER BY saved_at DESC LIMIT 1',
      query_params: { s: stream, p: position },
      format: 'JSONEachRow',
    })
    const [row] = await rs.json<{ state: string }>()
    return row ? Buffer.from(row.state, 'base64') : undefined
  }

  async has(stream: string): Promise<boolean> {
    const rs = await this.client.query({
      query: 'SELECT count() AS n FROM aggregation_state WHERE stream = {s:String}',
      query_params: { s: stream },
      format: 'JSONEachRow',
    })
    const [row] = await rs.json<{ n: string | number }>()
    return Number(row?.n ?? 0) > 0
  }

  async save(stream: string, position: string, state: Buffer): Promise<void> {
    await this.insertRaw({
      table: 'aggregation_state',
      columns: ['stream', 'position', 'state'],
      // Saving the same position twice (a replay) writes the same bytes: no token needed.
      settings: { insert_deduplicate: '0' },
      format: 'JSONEachRow',
      body: Buffer.from(JSON.stringify({ stream, position, state: state.toString('base64') }) + '\n'),
    })
  }
}
