/**
 * The one way a batch reaches ClickHouse, shared by the WAL flusher (serve) and the Kafka
 * ingester: series rows the registry has not written yet (token `<token>:series`), then
 * the samples (token `<token>`). The caller builds the token from the batch's exact source
 * range (WAL positions, or topic:partition:offsets) and records that range durably before
 * calling `land`, so a repeat after a crash carries the same tokens and ClickHouse drops
 * what already landed (insert deduplication; test/integration/crash-restart.test.ts kills and counts).
 */
import type { SampleStore } from '../store/sample-store.js'
import type { SeriesSamples } from '../store/rowbinary-encoder.js'
import type { SeriesRegistry } from './series-registry.js'

export interface Landed {
  samples: number
  seriesRows: number
}

export class BatchLander {
  constructor(
    private readonly store: SampleStore,
    private readonly seriesRegistry: SeriesRegistry,
  ) {}

  async land(series: readonly SeriesSamples[], token: string): Promise<Landed> {
    const seriesRows = this.seriesRegistry.rowsToWrite(series)
    await this.store.insertSeries(seriesRows, `${token}:series`)
    this.seriesRegistry.confirm(seriesRows)
    const samples = await this.store.insertSamples(series, token)
    return { samples, seriesRows: seriesRows.length }
  }
}
