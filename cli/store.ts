/**
 * `metrichouse store`: the one process that owns the embedded ClickHouse engine, serving
 * ClickHouse's HTTP interface read-write at /clickhouse/ to authenticated internal clients
 * (ingesters, tests, small deployments), so that `--clickhouse-url http://host:port/clickhouse`
 * works as against a ClickHouse server. Production points at a real ClickHouse instead.
 */
import { Registry, collectDefaultMetrics } from 'prom-client'
import type { Config } from '../config/config.js'
import { authEnabled } from '../http/auth.js'
import { startHttpServer } from '../http/server.js'
import type { Logger } from '../observability/logger.js'
import { ClickHouseHttpEndpoint } from '../store/clickhouse-http-endpoint.js'
import { openEmbeddedSession, openStore } from '../store/connection.js'
import { migrate, schemaOptionsFromConfig } from '../store/schema.js'

const MAX_INSERT_BODY_BYTES = 512 << 20

function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === '::1' || host === 'localhost'
}

export async function store(config: Config, logger: Logger) {
  if (config.clickhouse.url) throw new Error('metrichouse store serves the embedded engine; with clickhouse.url set, point the clients at that server instead')
  if (!authEnabled(config.auth) && !(config.store.allowUnauthenticated && isLoopback(config.listen.host))) {
    throw new Error('metrichouse store gives read-write SQL access: set auth credentials (auth.bearer_token or auth.basic_username), or store.allow_unauthenticated on a loopback listen address')
  }
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'metrichouse_' })
  const clients = await openStore({ dataDir: config.dataDir, database: config.clickhouse.database })
  await migrate(clients.readWrite, schemaOptionsFromConfig(config))
  const writer = await openEmbeddedSession(config.dataDir, config.clickhouse.database)
  const reader = await openEmbeddedSession(config.dataDir, config.clickhouse.database)
  const endpoint = new ClickHouseHttpEndpoint({ insertRaw: clients.insertRaw, writer, reader, database: config.clickhouse.database, maxBodyBytes: MAX_INSERT_BODY_BYTES })
  const handler = endpoint.handler()
  const ping = (_req: unknown, res: { type(t: string): { send(b: string): void } }) => res.type('text/plain').send('Ok.\n')
  const http = await startHttpServer({
    listen: config.listen,
    tls: config.tls,
    auth: config.auth, connections: config.limits,
    logger,
    registry,
    routes: [
      { method: 'get', path: '/clickhouse/ping', handler: ping },
      { method: 'get', path: '/clickhouse', handler },
      { method: 'post', path: '/clickhouse', handler },
    ],
    isReady: () => true,
  })
  logger.info('metrichouse store is ready', { listen: `${http.address.address}:${http.address.port}`, dataDir: config.dataDir })
  let shuttingDown: Promise<void> | undefined
  return {
    address: { host: http.address.address, port: http.address.port },
    shutdown: () =>
      (shuttingDown ??= (async () => {
        await http.close()
        await writer.close()
        await reader.close()
        await clients.close()
        logger.info('metrichouse store stopped')
      })()),
  }
}
