/**
 * Wires the query service from its parts: the ClickHouse Querier over a read-only client,
 * the PromQL engine, the results cache (memory or Redis) and the Prometheus API routes.
 * `serve` (embedded) and the `query` role (ClickHouse server) both call this.
 */
import { readFileSync } from 'node:fs'
import { Redis } from 'ioredis'
import type { ClickHouseClient } from '@clickhouse/client'
import { Counter, type Registry } from 'prom-client'
import type { Config } from '../config/config.js'
import type { Route } from '../http/server.js'
import type { Logger } from '../observability/logger.js'
import type { PromQLEngine } from '../promql/api.js'
import { createEngine } from '../promql/engine.js'
import { preferredTier } from '../rollup/resolution.js'
import { MemoryCacheBackend, RedisCacheBackend } from './cache-backends.js'
import type { ClickHouseLimits } from './clickhouse-limits.js'
import { ClickHouseQuerier, type ClickHouseQuerierOptions } from './clickhouse-querier.js'
import { ClickHouseMetadataStore } from '../store/metadata-store.js'
import { TsdbStatusSource } from './tsdb-status.js'
import { prometheusApiRoutes, type BuildInfo } from './prometheus-api.js'
import { RangeQueryCache, type CacheBackend } from './results-cache.js'

export interface QueryService {
  routes: Route[]
  querier: ClickHouseQuerier
  close(): Promise<void>
}

export function buildInfo(): BuildInfo {
  // Source (query/) and build (dist/query/) sit at different depths below package.json.
  let pkg = { version: 'unknown' }
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const found = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version: string }
      if (found.name === 'metrichouse') {
        pkg = found
        break
      }
    } catch {
      // not at this depth
    }
  }
  return {
    version: pkg.version,
    revision: 'metrichouse',
    branch: '',
    buildUser: '',
    buildDate: '',
    goVersion: `node ${process.versions.node}`,
  }
}

export interface QueryServiceOptions {
  client: ClickHouseClient
  engine: PromQLEngine
  config: Config['query']
  registry: Registry
  logger: Logger
  querier?: Omit<ClickHouseQuerierOptions, 'maxSeries' | 'maxSamples'>
}

/** The engine configured as `query.*` says (timeouts are also enforced by the API). */
export function createConfiguredEngine(config: Config['query']): PromQLEngine {
  return createEngine({ lookbackDelta: config.lookbackDeltaMs, timeoutMs: config.timeoutMs, maxSamples: config.maxSamples })
}

/** What every ClickHouse statement of a query or a rule evaluation is bounded by. */
export function queryLimits(config: Config['query']): ClickHouseLimits {
  return { maxExecutionTimeMs: config.timeoutMs, maxMemoryBytes: config.maxMemoryBytes }
}

export function createQueryService(opts: QueryServiceOptions): QueryService {
  const { config } = opts
  const selects = new Counter({
    name: 'metrichouse_query_selects_total',
    help: 'Selectors read from ClickHouse, by the tier that answered (raw, 1m, 1h)',
    labelNames: ['tier'],
    registers: [opts.registry],
  })
  const querier = new ClickHouseQuerier(opts.client, {
    ...opts.querier,
    maxSeries: config.maxSeries,
    maxSamples: config.maxSamples,
    limits: queryLimits(config),
    onSelect: (tiers) => {
      for (const tier of new Set(tiers)) selects.inc({ tier })
    },
  })
  let redis: Redis | undefined
  let rangeQuery
  if (config.cache.enabled) {
    let backend: CacheBackend
    if (config.cache.redisUrl) {
      redis = new Redis(config.cache.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: false })
      redis.on('error', (err: Error) => opts.logger.warn('results cache: Redis error', { err: err.message }))
      backend = new RedisCacheBackend(redis, { ttlMs: config.cache.ttlMs, keyPrefix: 'metrichouse:query:' })
    } else {
      backend = new MemoryCacheBackend({ maxBytes: config.cache.maxBytes, ttlMs: config.cache.ttlMs })
    }
    const cache = new RangeQueryCache({
      backend,
      registry: opts.registry,
      maxFreshnessMs: config.cache.maxFreshnessMs,
      lookbackDeltaMs: config.lookbackDeltaMs,
      // The tier a step prefers is part of the key (Mimir/Thanos keep resolutions apart);
      // a query shorter than rollup_min_range reads raw (query/tier-source.ts).
      tierOf: (step, whole) => (opts.querier?.tiers && whole.end - whole.start >= config.rollupMinRangeMs ? preferredTier(step) : 'raw'),
      evaluatorFor: (whole) => {
        const view = querier.forQuery(whole)
        return (q, start, end, step, o) => opts.engine.rangeQuery(view, q, start, end, step, o)
      },
    })
    rangeQuery = cache.rangeQuery.bind(cache)
  }
  const routes = prometheusApiRoutes({
    engine: opts.engine,
    querier,
    rangeQuery,
    timeoutMs: config.timeoutMs,
    buildInfo: buildInfo(),
    metadata: new ClickHouseMetadataStore({ client: opts.client }),
    tsdbStatus: new TsdbStatusSource(opts.client),
    registry: opts.registry,
    logger: opts.logger,
  })
  return {
    routes,
    querier,
    close: async () => {
      redis?.disconnect()
    },
  }
}
