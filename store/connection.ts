/**
 * The only place that knows whether ClickHouse is embedded (chDB, one process owns the
 * data directory) or a server reached over HTTP. Everything else talks to the
 * `@clickhouse/client` surface it returns.
 */
import { mkdirSync, rmSync } from 'node:fs'
import { unlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { Readable } from 'node:stream'
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

/** Formats chDB's raw insert takes from memory (text only). */
export const TEXT_INSERT_FORMATS = ['JSONEachRow', 'JSONCompactEachRow', 'TSV', 'TabSeparated', 'TSVWithNames', 'TabSeparatedWithNames', 'CSV', 'CSVWithNames'] as const
/** Binary formats whose data names its own columns and types (readable by the `file` table function). */
export const BINARY_INSERT_FORMATS = ['RowBinaryWithNamesAndTypes'] as const
export type InsertFormat = (typeof TEXT_INSERT_FORMATS)[number] | (typeof BINARY_INSERT_FORMATS)[number]

/** One INSERT of pre-encoded rows; settings go into the statement, never the session. */
export interface RawInsert {
  table: string
  columns?: readonly string[]
  settings: Record<string, string>
  format: InsertFormat
  body: Buffer
}

export interface StoreClients {
  /**
   * Inserts pre-encoded rows. Embedded, text formats: chDB's zero-copy raw insert (measured
   * 2026-11-26: 0.6-0.9M rows/s against 0.2M through @clickhouse/client's exec, which turns
   * the body into a JS string and concatenates it with the SQL). Embedded, binary formats:
   * chDB's raw insert takes text only (its inline data stops short of binary bytes), so the
   * rows go to a file in the data directory that `INSERT ... SELECT FROM file()` reads,
   * about 8x less CPU than TabSeparated (bench/README.md, "Insert routes"). Server: an HTTP
   * insert with the rows as the body.
   */
  insertRaw(insert: RawInsert): Promise<void>
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

interface ChdbRaw {
  chdb: {
    rawInsert(p: { table: string; columns?: readonly string[]; settings: Record<string, string>; format: string; values: Buffer }): Promise<unknown>
    queryAsync(sql: string): Promise<unknown>
  }
}

function isBinaryFormat(format: InsertFormat): format is (typeof BINARY_INSERT_FORMATS)[number] {
  return (BINARY_INSERT_FORMATS as readonly string[]).includes(format)
}

/** `INSERT INTO t [(c, ...)] [SETTINGS k = 'v', ...]`, names checked, values quoted. */
function insertPrefix(insert: RawInsert): string {
  const columns = insert.columns && insert.columns.length > 0 ? ` (${insert.columns.map(quoteIdentifier).join(', ')})` : ''
  const settings = Object.entries(insert.settings).map(([k, v]) => `${quoteSettingName(k)} = ${quoteString(v)}`)
  return `INSERT INTO ${quoteIdentifier(insert.table)}${columns}${settings.length ? ` SETTINGS ${settings.join(', ')}` : ''}`
}

/**
 * Binary inserts into the embedded engine: each batch is written to a file of its own in
 * `dir` (the data directory's, so no other process's files are ever named) and read by the
 * `file` table function; the file is removed once the insert returns.
 */
class FileInsertStaging {
  private next = 0

  constructor(private readonly dir: string) {
    // Files of a process that died mid-insert are garbage: their batches are re-sent.
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(dir, { recursive: true })
  }

  async insert(chdb: ChdbRaw['chdb'], insert: RawInsert): Promise<void> {
    const file = path.join(this.dir, `${process.pid}-${this.next++}.bin`)
    await writeFile(file, insert.body)
    try {
      await chdb.queryAsync(`${insertPrefix(insert)} SELECT * FROM file(${quoteString(file)}, ${quoteString(insert.format)})`)
    } finally {
      await unlink(file).catch(() => {})
    }
  }
}
type ClientConnection = NonNullable<Parameters<typeof createClient>[0]>['connection']

/**
 * chdb ships its Connection typed against @clickhouse/client-common, which
 * @clickhouse/client re-declares; the shapes agree, the nominal types do not.
 */
function chdbConnection(enginePath: string): ClientConnection {
  return createChdbConnection({ path: enginePath }) as unknown as ClientConnection
}

/**
 * One more session on the embedded engine of this process (the store role needs sessions
 * whose settings it controls); it must be opened after openStore created the directory.
 */
export async function openEmbeddedSession(dataDir: string, database: string): Promise<ClickHouseClient> {
  const client = createClient({ connection: chdbConnection(embeddedEnginePath(dataDir)) })
  if (database !== 'default') await client.command({ query: `USE ${quoteIdentifier(database)}` })
  return client
}

export function embeddedEnginePath(dataDir: string): string {
  return path.join(dataDir, 'clickhouse')
}

export async function openStore(opts: StoreConnectionOptions): Promise<StoreClients> {
  if (opts.url) {
    // A path in the URL (http://store:9201/clickhouse, the `store` role) is the client's
    // `pathname`: @clickhouse/client would otherwise drop it.
    const parsed = new URL(opts.url)
    const pathname = parsed.pathname.replace(/\/+$/, '')
    const make = () =>
      createClient({
        url: parsed.origin,
        pathname: pathname === '' ? undefined : pathname,
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
      insertRaw: async (insert) => {
        const query = `${insertPrefix(insert)} FORMAT ${insert.format}`
        const result = await readWrite.exec({ query, values: Readable.from([insert.body], { objectMode: false }) })
        // The response must be consumed or the HTTP connection stays checked out.
        for await (const _chunk of result.stream) {
          /* drain */
        }
      },
      embedded: false,
      close: async () => {
        await Promise.all([readWrite.close(), readOnly.close()])
      },
    }
  }
  const enginePath = embeddedEnginePath(opts.dataDir)
  mkdirSync(enginePath, { recursive: true })
  const writer = chdbConnection(enginePath)
  const readWrite = createClient({ connection: writer })
  const readOnly = createClient({ connection: chdbConnection(enginePath) })
  const staging = new FileInsertStaging(path.join(opts.dataDir, 'insert-staging'))
  const chdb = (writer as unknown as ChdbRaw).chdb
  if (opts.database !== 'default') {
    await readWrite.command({ query: `CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(opts.database)}` })
    await readWrite.command({ query: `USE ${quoteIdentifier(opts.database)}` })
    await readOnly.command({ query: `USE ${quoteIdentifier(opts.database)}` })
  }
  return {
    readWrite,
    readOnly,
    insertRaw: async (insert) => {
      if (isBinaryFormat(insert.format)) return staging.insert(chdb, insert)
      await chdb.rawInsert({
        table: insert.table,
        columns: insert.columns,
        settings: insert.settings,
        format: insert.format,
        values: insert.body,
      })
    },
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

function quoteSettingName(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`invalid setting name "${name.slice(0, 40)}"`)
  return name
}

/** A ClickHouse single-quoted string literal (backslash and quote escaped). */
export function quoteString(value: string): string {
  return "'" + value.replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'"
}
