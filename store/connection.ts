/**
 * The only place that knows whether ClickHouse is embedded (chDB, one process owns the
 * data directory) or a server reached over HTTP. Everything else talks to the
 * `@clickhouse/client` surface it returns.
 */
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { createClient, type ClickHouseClient } from '@clickhouse/client'
import { createChdbConnection } from 'chdb/connection'

export interface StoreConnectionOptions {
  /** A ClickHouse server (http://host:8123); absent: the embedded engine under dataDir. */
  url?: string
  dataDir: string
  database: string
  username?: string
  password?: string
}

export interface StoreClients {
  /** Schema changes, inserts and internal queries. */
  readWrite: ClickHouseClient
  /**
   * Ad-hoc SQL from users. Embedded: a second chDB connection on the same directory,
   * locked with `SET readonly = 1` once, because chDB applies per-query settings as
   * session-wide SET statements that would leak into the writer. Server: the same
   * client, with readonly=1 sent on every query as an HTTP parameter.
   */
  readOnly: ClickHouseClient
  embedded: boolean
  close(): Promise<void>
}

type ClientConnection = NonNullable<Parameters<typeof createClient>[0]>['connection']

/**
 * chdb ships its Connection typed against @clickhouse/client-common, which
 * @clickhouse/client re-declares; the shapes agree, the nominal types do not.
 */
function chdbConnection(enginePath: string): ClientConnection {
  return createChdbConnection({ path: enginePath }) as unknown as ClientConnection
}

export function embeddedEnginePath(dataDir: string): string {
  return path.join(dataDir, 'clickhouse')
}

export async function openStore(opts: StoreConnectionOptions): Promise<StoreClients> {
  if (opts.url) {
    const make = () =>
      createClient({
        url: opts.url,
        database: opts.database,
        username: opts.username,
        password: opts.password,
        request_timeout: 120_000,
        clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
      })
    const readWrite = make()
    const readOnly = make()
    return {
      readWrite,
      readOnly,
      embedded: false,
      close: async () => {
        await Promise.all([readWrite.close(), readOnly.close()])
      },
    }
  }
  const enginePath = embeddedEnginePath(opts.dataDir)
  mkdirSync(enginePath, { recursive: true })
  const readWrite = createClient({ connection: chdbConnection(enginePath) })
  const readOnly = createClient({ connection: chdbConnection(enginePath) })
  if (opts.database !== 'default') {
    await readWrite.command({ query: `CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(opts.database)}` })
    await readWrite.command({ query: `USE ${quoteIdentifier(opts.database)}` })
    await readOnly.command({ query: `USE ${quoteIdentifier(opts.database)}` })
  }
  return {
    readWrite,
    readOnly,
    embedded: true,
    close: async () => {
      await readOnly.close()
      await readWrite.close()
    },
  }
}

/** Backquoted identifier; the config schema already restricts names to [A-Za-z0-9_]. */
export function quoteIdentifier(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`invalid identifier "${name.slice(0, 40)}"`)
  return '`' + name + '`'
}

/** A ClickHouse single-quoted string literal (backslash and quote escaped). */
export function quoteString(value: string): string {
  return "'" + value.replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'"
}
