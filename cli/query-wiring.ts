/** The query service as every role that serves the Prometheus API builds it from the configuration. */
import type { ClickHouseClient } from '@clickhouse/client'
import type { Registry } from 'prom-client'
import type { Config } from '../config/config.js'
import type { Logger } from '../observability/logger.js'
import { createConfiguredEngine, createQueryService, type QueryService } from '../query/query-service.js'
import { rollupTierPlanner } from '../query/tier-source.js'
import { schemaOptionsFromConfig } from '../rollup/public-schema.js'

const DAY_MS = 86_400_000

/** `client` must be read-only: embedded, the locked session; against a server, readonly=1 on every request. */
export function queryServiceFromConfig(config: Config, client: ClickHouseClient, registry: Registry, logger: Logger): QueryService {
  const schema = schemaOptionsFromConfig(config)
  return createQueryService({
    client,
    engine: createConfiguredEngine(config.query),
    config: config.query,
    registry,
    logger,
    querier: {
      tiers: rollupTierPlanner({
        minRollupRangeMs: config.query.rollupMinRangeMs,
        retention: {
          rawMs: schema.rawRetentionMs,
          oneMinuteMs: schema.oneMinuteRetentionMs ?? 30 * DAY_MS,
          oneHourMs: schema.oneHourRetentionMs ?? 365 * DAY_MS,
        },
      }),
    },
  })
}
