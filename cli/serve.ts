/**
 * `metrichouse serve`: the embedded default, one process on one port. Wires the parts:
 * HTTP receiver -> WAL sink -> WAL -> flusher -> embedded ClickHouse, and read-only SQL.
 */
import { MetadataRecorder } from '../adapter/metadata-recorder.js'
import type { Route } from '../http/server.js'
import { RecordDecoder } from '../ingester/record-decoder.js'
import { SeriesRegistry } from '../ingester/series-registry.js'
import { Fingerprinter } from '../proto/fingerprint.js'
import { createSnappyCodec } from '../proto/snappy.js'
import { registerRollupMetrics } from '../rollup/metrics.js'
import { createConfiguredEngine } from '../query/query-service.js'
import { SqlGateway } from '../query/sql-gateway.js'
import { sqlHandler } from '../query/sql-handler.js'
import { openStore, type StoreClients } from '../store/connection.js'
import { ClickHouseMetadataStore } from '../store/metadata-store.js'
import { ClickHouseSampleStore } from '../store/sample-store.js'
import { publicSchema, schemaOptionsFromConfig } from '../rollup/public-schema.js'
import { migrate } from '../store/schema.js'
import { FlushCheckpoint } from '../wal/checkpoint.js'
import { createWalMetrics } from '../wal/metrics.js'
import { RecentBatches } from '../wal/recent-batches.js'
import { WalFlusher } from '../wal/wal-flusher.js'
import { WalSink } from '../wal/wal-sink.js'
import { WriteAheadLog } from '../wal/write-ahead-log.js'
import { aggregationFromConfig } from './aggregation-wiring.js'
import { openReaderLane, storeOptions } from './store-options.js'
import { querierFromConfig, queryServiceFromConfig } from './query-wiring.js'
import { haTrackerFromConfig, receiverRoutes } from './remote-write-route.js'
import { lockDataDir } from './data-dir-lock.js'
import { role, type RunningRole } from './role.js'

export type RunningServe = RunningRole

/** Graceful shutdown: stop taking writes, drain the WAL into ClickHouse, close. */
export const serve = role('serve', async ({ config, logger, registry, onShutdown }) => {
  onShutdown(lockDataDir(config.dataDir))
  const store: StoreClients = await openStore(storeOptions(config))
  onShutdown(() => store.close())
  await migrate(store.readWrite, publicSchema(schemaOptionsFromConfig(config)))
  // Ad-hoc SQL (store.readOnly), dashboards and the ruler each read on a lane of their own,
  // so none waits behind another's statement (docs/operations.md, "Isolation"). The rollup
  // state /metrics reports reads on the dashboards' lane: on the SQL lane a long ad-hoc
  // statement held every /metrics scrape until it ended.
  const dashboards = await openReaderLane(config, store)
  onShutdown(() => dashboards.close())
  registerRollupMetrics(registry, dashboards.client, logger)

  const wal = await WriteAheadLog.open({
    dir: config.wal.dir,
    segmentBytes: config.wal.segmentBytes,
    maxBytes: config.wal.maxBytes,
    fsync: config.wal.fsync,
    logger,
    metrics: createWalMetrics(registry, config.wal.maxBytes),
  })
  onShutdown(() => wal.close())
  const checkpoint = await FlushCheckpoint.open(config.wal.dir)
  // What an earlier run flushed stops counting against wal.max_bytes now, not after the next flush
  // (which a WAL full of flushed records would never let happen).
  await wal.removeBefore(checkpoint.get().committed)
  const snappy = await createSnappyCodec()
  const fingerprinter = await Fingerprinter.create()
  const recent = new RecentBatches()
  const aggregation = await aggregationFromConfig(config.aggregation, store, fingerprinter, registry, logger)
  const flusher = new WalFlusher({
    wal,
    checkpoint,
    recent,
    store: new ClickHouseSampleStore(store.insertRaw),
    decoder: new RecordDecoder(snappy, fingerprinter),
    seriesRegistry: new SeriesRegistry(),
    stage: aggregation,
    logger,
    registry,
    maxBatchBytes: config.flush.maxBatchBytes,
    idleIntervalMs: config.flush.intervalMs,
  })

  const sink = new WalSink(wal, snappy, (position, batch) => recent.put(position, batch.series, batch.sampleCount))
  // Before the flusher starts removing flushed segments under the scan.
  const knownRequests = await sink.loadRequestIds()
  flusher.start()
  onShutdown(() => flusher.stop({ drain: true }))
  // Metric metadata (TYPE/HELP/UNIT) goes straight to ClickHouse, last write wins (store/metadata-store.ts).
  const metadata = new MetadataRecorder({ writer: new ClickHouseMetadataStore({ client: store.readWrite, insertRaw: store.insertRaw }), logger, registry })
  metadata.start()
  onShutdown(() => metadata.stop())
  const ha = haTrackerFromConfig(config, registry, logger)
  if (ha) onShutdown(() => ha.close())
  const routes: Route[] = [
    ...receiverRoutes(config, registry, { sink, snappy, fingerprinter, metadata, ha: ha?.tracker }),
  ]
  if (config.sql.enabled) {
    const gateway = new SqlGateway({
      client: store.readOnly,
      embedded: store.embedded,
      database: config.clickhouse.database,
      maxExecutionTimeMs: config.sql.maxExecutionTimeMs,
      maxResultRows: config.sql.maxResultRows,
    })
    routes.push({ method: 'get', path: '/clickhouse', handler: sqlHandler(gateway) })
    routes.push({ method: 'post', path: '/clickhouse', handler: sqlHandler(gateway) })
    // As ClickHouse's /ping: @clickhouse/client's ping() and Grafana's health check call it.
    routes.push({
      method: 'get',
      path: '/clickhouse/ping',
      handler: (_req, res) => {
        res.type('text/plain').send('Ok.\n')
      },
    })
  }

  // The Prometheus query API (docs/query.md).
  const queryService = queryServiceFromConfig(config, dashboards.client, registry, logger)
  onShutdown(() => queryService.close())
  routes.push(...queryService.routes)

  // The ruler (docs/rules.md), when rule files are configured: reads through the query
  // service's querier, writes ALERTS and recording results through the WAL like any sample.
  if (config.ruler.ruleFiles.length > 0) {
    const { startRulerOrRefuse } = await import('./ruler-startup.js')
    const rules = await openReaderLane(config, store)
    onShutdown(() => rules.close())
    const ruler = await startRulerOrRefuse({
      config: config.ruler,
      engine: createConfiguredEngine(config.query),
      querier: querierFromConfig(config, rules.client),
      sink,
      fingerprinter,
      registry,
      logger,
      handleSighup: true,
    })
    onShutdown(() => ruler.stop())
    routes.push(...ruler.routes)
  }

  return {
    routes,
    // A log that failed a write refuses appends until it has reopened itself: not ready then.
    isReady: () => wal.writable,
    log: {
      dataDir: config.dataDir,
      clickhouse: store.embedded ? 'embedded' : config.clickhouse.url,
      snappy: snappy.implementation,
      requestIdsInLog: knownRequests,
    },
  }
})
