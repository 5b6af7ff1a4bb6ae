/**
 * `metrichouse query`: the scale-out query service. Stateless and replicable: the Prometheus
 * HTTP API (docs/query.md) over a ClickHouse server (--clickhouse-url), with the results
 * cache in memory or, shared by replicas, in Redis (--query-cache-redis-url). It reads
 * only: the schema is created by `metrichouse migrate` (or the ingester).
 */
import { ConfigError } from '../config/load.js'
import { openStore } from '../store/connection.js'
import { storeOptions } from './store-options.js'
import { queryServiceFromConfig } from './query-wiring.js'
import { role } from './role.js'

export const query = role('query', async ({ config, logger, registry, onShutdown }) => {
  if (!config.clickhouse.url) {
    throw new ConfigError('metrichouse query reads a ClickHouse server: set clickhouse.url (--clickhouse-url); the embedded engine belongs to `serve` or `store`')
  }
  const store = await openStore(storeOptions(config))
  onShutdown(() => store.close())
  const service = queryServiceFromConfig(config, store.readOnly, registry, logger)
  onShutdown(() => service.close())
  let reachable = false
  const probe = async () => {
    reachable = (await store.readOnly.ping()).success
  }
  await probe()
  if (!reachable) logger.warn('ClickHouse is not reachable yet; not ready until it is', { clickhouse: config.clickhouse.url })
  const timer = setInterval(() => void probe().catch(() => (reachable = false)), 5_000)
  timer.unref()
  onShutdown(() => clearInterval(timer))
  return {
    routes: service.routes,
    isReady: () => reachable,
    log: { clickhouse: config.clickhouse.url, cache: config.query.cache.enabled ? (config.query.cache.redisUrl ? 'redis' : 'memory') : 'off' },
  }
})
