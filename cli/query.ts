/**
 * `metrichouse query`: the scale-out query service. Stateless and replicable: the Prometheus
 * HTTP API (docs/query.md) over a ClickHouse server (--clickhouse-url), with the results
 * cache in memory or, shared by replicas, in Redis (--query-cache-redis-url). It reads
 * only: the schema is created by `metrichouse migrate` (or the ingester).
 */
import { Registry, collectDefaultMetrics } from 'prom-client'
import type { Config } from '../config/config.js'
import { ConfigError } from '../config/load.js'
import { startHttpServer } from '../http/server.js'
import type { Logger } from '../observability/logger.js'
import { openStore } from '../store/connection.js'
import { storeOptions } from './store-options.js'
import { queryServiceFromConfig } from './query-wiring.js'

export async function query(config: Config, logger: Logger) {
  if (!config.clickhouse.url) {
    throw new ConfigError('metrichouse query reads a ClickHouse server: set clickhouse.url (--clickhouse-url); the embedded engine belongs to `serve` or `store`')
  }
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'metrichouse_' })
  const store = await openStore(storeOptions(config))
  const service = queryServiceFromConfig(config, store.readOnly, registry, logger)
  let reachable = false
  const probe = async () => {
    reachable = (await store.readOnly.ping()).success
  }
  await probe()
  if (!reachable) logger.warn('ClickHouse is not reachable yet; not ready until it is', { clickhouse: config.clickhouse.url })
  const timer = setInterval(() => void probe().catch(() => (reachable = false)), 5_000)
  timer.unref()
  const http = await startHttpServer({ listen: config.listen, tls: config.tls, auth: config.auth, connections: config.limits, logger, registry, routes: service.routes, isReady: () => reachable })
  logger.info('metrichouse query is ready', { listen: `${http.address.address}:${http.address.port}`, clickhouse: config.clickhouse.url, cache: config.query.cache.enabled ? (config.query.cache.redisUrl ? 'redis' : 'memory') : 'off' })

  let shuttingDown: Promise<void> | undefined
  return {
    address: { host: http.address.address, port: http.address.port },
    shutdown: () =>
      (shuttingDown ??= (async () => {
        clearInterval(timer)
        await http.close()
        await service.close()
        await store.close()
        logger.info('metrichouse query stopped')
      })()),
  }
}
