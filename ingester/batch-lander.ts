/**
 * The one way a batch reaches ClickHouse, shared by the WAL flusher (serve) and the Kafka
 * ingester: series rows the registry has not written yet (token `<token>:series`), then
 * the samples (token `<token>`). The caller builds the token from the batch's exact source
 * range (WAL positions, or topic:partition:offsets) and records that range durably before
 * calling `land`, so a repeat after a crash carries the same tokens and ClickHouse drops
 * what already landed (insert deduplication; test/integration/crash-restart.test.ts kills and counts).
 * A `BatchStage` (stream aggregation) may rewrite the batch first; its outputs then travel in
 * the same insert under the same token.
 */
import type { SampleStore } from '../store/sample-store.js'
import type { SeriesSamples } from '../store/rowbinary-encoder.js'
import type { SeriesRegistry } from './series-registry.js'

/** Where a batch sits in its source: `to` is where the next batch of the stream starts. */
export interface BatchPosition {
  /** The source: the WAL's id, or `<topic>:<partition>`. */
  stream: string
  from: string
  to: string
}

/**
 * A stage that rewrites a batch before it lands (stream aggregation, aggregation/). It must
 * be deterministic in the batch and the stream's state at `position.from`, so a replay lands
 * the same rows under the same token; `landed` runs once the rows are in ClickHouse.
 */
export interface BatchStage {
  prepare(series: readonly SeriesSamples[], position: BatchPosition): Promise<{ series: readonly SeriesSamples[]; landed(): Promise<void> }>
}

export interface Landed {
  samples: number
  seriesRows: number
}

export class BatchLander {
  constructor(
    private readonly store: SampleStore,
    private readonly seriesRegistry: SeriesRegistry,
    private readonly stage?: BatchStage,
  ) {}

  /** `position` is required when a stage is set (it keys the stage's state). */
  async land(input: readonly SeriesSamples[], token: string, position?: BatchPosition): Promise<Landed> {
    if (this.stage && !position) throw new Error(`batch ${token}: a batch stage needs the batch's position`)
    const prepared = await this.stage?.prepare(input, position!)
    const series = prepared ? prepared.series : input
    const seriesRows = this.seriesRegistry.rowsToWrite(series)
    await this.store.insertSeries(seriesRows, `${token}:series`)
    this.seriesRegistry.confirm(seriesRows)
    const samples = await this.store.insertSamples(series, token)
    await prepared?.landed()
    return { samples, seriesRows: seriesRows.length }
  }
}
