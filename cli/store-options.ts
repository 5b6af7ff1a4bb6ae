/** The one place the configuration becomes store connection options, for every role. */
import type { Config } from '../config/config.js'
import type { StoreConnectionOptions } from '../store/connection.js'

export function storeOptions(config: Config): StoreConnectionOptions {
  const { url, database, username, password } = config.clickhouse
  return { url, dataDir: config.dataDir, database, username, password }
}
