/**
 * `metrichouse store`: the one process that owns the embedded ClickHouse engine, serving
 * ClickHouse's HTTP interface read-write at /clickhouse/ to authenticated internal clients
 * (ingesters, tests, small deployments), so that `--clickhouse-url http://host:port/clickhouse`
 * works as against a ClickHouse server. Production points at a real ClickHouse instead.
 */
import { ConfigError } from '../config/load.js'
import { authEnabled } from '../http/auth.js'
import { ClickHouseHttpEndpoint } from '../store/clickhouse-http-endpoint.js'
import { openEmbeddedSession, openStore } from '../store/connection.js'
import { publicSchema, schemaOptionsFromConfig } from '../rollup/public-schema.js'
import { migrate } from '../store/schema.js'
import { lockDataDir } from './data-dir-lock.js'
import { role } from './role.js'

const MAX_INSERT_BODY_BYTES = 512 << 20

function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === '::1' || host === 'localhost'
}

export const store = role('store', async ({ config, onShutdown }) => {
  if (config.clickhouse.url) throw new ConfigError('metrichouse store serves the embedded engine; with clickhouse.url set, point the clients at that server instead')
  if (!authEnabled(config.auth) && !(config.store.allowUnauthenticated && isLoopback(config.listen.host))) {
    throw new ConfigError('metrichouse store gives read-write SQL access: set auth credentials (auth.bearer_token or auth.basic_username), or store.allow_unauthenticated on a loopback listen address')
  }
  onShutdown(lockDataDir(config.dataDir))
  const clients = await openStore({ dataDir: config.dataDir, database: config.clickhouse.database })
  onShutdown(() => clients.close())
  await migrate(clients.readWrite, publicSchema(schemaOptionsFromConfig(config)))
  const writer = await openEmbeddedSession(config.dataDir, config.clickhouse.database)
  onShutdown(() => writer.close())
  const reader = await openEmbeddedSession(config.dataDir, config.clickhouse.database)
  onShutdown(() => reader.close())
  const endpoint = new ClickHouseHttpEndpoint({ insertRaw: clients.insertRaw, writer, reader, database: config.clickhouse.database, maxBodyBytes: MAX_INSERT_BODY_BYTES })
  const handler = endpoint.handler()
  const ping = (_req: unknown, res: { type(t: string): { send(b: string): void } }) => res.type('text/plain').send('Ok.\n')
  return {
    routes: [
      { method: 'get', path: '/clickhouse/ping', handler: ping },
      { method: 'get', path: '/clickhouse', handler },
      { method: 'post', path: '/clickhouse', handler },
    ],
    log: { dataDir: config.dataDir },
  }
})
