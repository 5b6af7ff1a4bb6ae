/** The one place the configuration becomes store connection options, for every role. */
import type { ClickHouseClient } from '@clickhouse/client'
import type { Config } from '../config/config.js'
import { openEmbeddedSession, type StoreClients, type StoreConnectionOptions } from '../store/connection.js'

export function storeOptions(config: Config): StoreConnectionOptions {
  const { url, database, username, password } = config.clickhouse
  return { url, dataDir: config.dataDir, database, username, password }
}

/**
 * A reading lane: a client that one kind of reader (dashboards, the ruler) has to itself.
 * Embedded, statements on one chDB session run one at a time and on different sessions
 * concurrently (measured 2026-12-04 on chDB 3.4.0: SELECT 1 waited 7.5 s behind an 8 s
 * statement on its session, 12 ms on another), so each lane is a session of its own, locked
 * with readonly = 2 (no writes; its statements may still carry their limits, which
 * readonly = 1 would refuse). Against a server, requests already run concurrently: the
 * shared client.
 */
export async function openReaderLane(config: Config, store: StoreClients): Promise<{ client: ClickHouseClient; close(): Promise<void> }> {
  if (!store.embedded) return { client: store.readOnly, close: async () => {} }
  const client = await openEmbeddedSession(config.dataDir, config.clickhouse.database)
  await client.command({ query: 'SET readonly = 2' })
  return { client, close: () => client.close() }
}
