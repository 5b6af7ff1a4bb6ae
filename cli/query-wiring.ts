/** The query service as every role that serves the Prometheus API builds it from the configuration. */
import type { ClickHouseClient } from '@clickhouse/client'
import type { Registry } from 'prom-client'
import type { Config } from '../config/config.js'
import type { Logger } from '../observability/logger.js'
import { ClickHouseQuerier } from '../query/clickhouse-querier.js'
import { createConfiguredEngine, createQueryService, queryLimits, type QueryService } from '../query/query-service.js'
import { rollupTierPlanner, type TierPlanner } from '../query/tier-source.js'
import { schemaOptionsFromConfig } from '../rollup/public-schema.js'

const DAY_MS = 86_400_000

/** `client` must be read-only: an embedded session locked readonly (cli/store-options.ts openReaderLane), or a server's. */
export function queryServiceFromConfig(config: Config, client: ClickHouseClient, registry: Registry, logger: Logger): QueryService {
  return createQueryService({
    client,
    engine: createConfiguredEngine(config.query),
    config: config.query,
    registry,
    logger,
    querier: { tiers: tierPlannerFromConfig(config), readSnapshots: readSnapshotsFromConfig(config) },
  })
}

/** A querier like the query service's (tiers, limits) on a client of its own: the ruler's lane. */
export function querierFromConfig(config: Config, client: ClickHouseClient): ClickHouseQuerier {
  return new ClickHouseQuerier(client, {
    tiers: tierPlannerFromConfig(config),
    readSnapshots: readSnapshotsFromConfig(config),
    maxSeries: config.query.maxSeries,
    maxSamples: config.query.maxSamples,
    limits: queryLimits(config.query),
  })
}

/** One snapshot per query needs one numbering of insert blocks: not a cluster's (query/read-snapshot.ts). */
function readSnapshotsFromConfig(config: Config): boolean {
  return !config.clickhouse.cluster
}

function tierPlannerFromConfig(config: Config): TierPlanner {
  const schema = schemaOptionsFromConfig(config)
  return rollupTierPlanner({
    minRollupRangeMs: config.query.rollupMinRangeMs,
    retention: {
      rawMs: schema.rawRetentionMs,
      oneMinuteMs: schema.oneMinuteRetentionMs ?? 30 * DAY_MS,
      oneHourMs: schema.oneHourRetentionMs ?? 365 * DAY_MS,
    },
  })
}
