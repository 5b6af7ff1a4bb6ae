/**
 * The promqltest runner's storage (promql/promqltest/runner.ts TestStorage) through
 * ClickHouse: `load` writes the series into the embedded engine with the write path's own
 * SampleStore (series + samples rows, stale markers as their exact bits), `querier` reads
 * them back through the ClickHouse Querier. A conformance run thus exercises matcher SQL,
 * time bounds, stale-marker detection and the float round trip, not just the engine.
 *
 * Test data lives around 1970 (timestamps from 0), so the raw retention is set to a
 * century: chDB drops rows already past their TTL at insert.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Querier } from '../promql/api.js'
import type { TestStorage } from '../promql/promqltest/runner.js'
import { ROLLUP_VIEWS } from '../rollup/schema.js'
import { openStore, quoteIdentifier, type StoreClients } from '../store/connection.js'
import { ClickHouseSampleStore } from '../store/sample-store.js'
import { publicSchema } from '../rollup/public-schema.js'
import { migrate } from '../store/schema.js'
import { ClickHouseQuerier } from './clickhouse-querier.js'
import { SeriesLoader } from './series-loader.js'

const CENTURY_MS = 100 * 365 * 86_400_000

export class ClickHouseTestStorage implements TestStorage {
  private constructor(
    private readonly store: StoreClients,
    private readonly loader: SeriesLoader,
    private readonly reader: ClickHouseQuerier,
    private readonly dir: string | undefined,
  ) {}

  /** Opens an embedded store in a new temporary directory (removed by close()). */
  static async open(): Promise<ClickHouseTestStorage> {
    const dir = await mkdtemp(join(tmpdir(), 'metrichouse-promqltest-'))
    try {
      const store = await openStore({ dataDir: dir, database: 'default' })
      return await ClickHouseTestStorage.onStore(store, dir)
    } catch (err) {
      await rm(dir, { recursive: true, force: true })
      throw err
    }
  }

  static async onStore(store: StoreClients, dir?: string): Promise<ClickHouseTestStorage> {
    await migrate(store.readWrite, publicSchema({ rawRetentionMs: CENTURY_MS }))
    // Rollups of 1970 are of no use here; their refreshes would only take CPU.
    for (const view of ROLLUP_VIEWS) await store.readWrite.command({ query: `SYSTEM STOP VIEW ${quoteIdentifier(view)}` }).catch(() => {})
    const loader = await SeriesLoader.create(new ClickHouseSampleStore(store.insertRaw), `promqltest-${process.pid}-${Date.now()}`)
    return new ClickHouseTestStorage(store, loader, new ClickHouseQuerier(store.readOnly), dir)
  }

  async load(series: Parameters<TestStorage['load']>[0]): Promise<void> {
    await this.loader.load(
      series.map((s) => ({
        labels: s.labels,
        timestamps: s.samples.map((x) => x.t),
        values: s.samples.map((x) => x.v),
        stale: s.samples.map((x) => (x.stale ? 1 : 0)),
      })),
    )
  }

  async clear(): Promise<void> {
    await this.store.readWrite.command({ query: 'TRUNCATE TABLE IF EXISTS series' })
    await this.store.readWrite.command({ query: 'TRUNCATE TABLE IF EXISTS samples' })
  }

  querier(): Querier {
    return this.reader
  }

  async close(): Promise<void> {
    await this.store.close()
    if (this.dir) await rm(this.dir, { recursive: true, force: true })
  }
}
