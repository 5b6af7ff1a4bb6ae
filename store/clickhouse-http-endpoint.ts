/**
 * ClickHouse's HTTP interface, read-write, over the embedded engine: the `store` role
 * serves it so that several processes (ingesters, query, tests) share the one engine that
 * owns the data directory, with `--clickhouse-url` and `@clickhouse/client` working as
 * against a ClickHouse server. For authenticated internal clients only (the HTTP edge's
 * auth runs first); production uses a real ClickHouse server or cluster instead.
 *
 * As ClickHouse does: SQL in `query` and/or the body; for `INSERT ... FORMAT f` in `query`
 * the body is the data; URL parameters other than the interface's own are settings;
 * `param_<name>` bound parameters; errors as `Code: N. DB::Exception: ...` text with
 * X-ClickHouse-Exception-Code.
 *
 * Settings and chDB: a chDB session applies settings with SET, session-wide. So
 *  - inserts of a text format, or of RowBinaryWithNamesAndTypes, go to the store's raw
 *    insert with the settings inside the statement (concurrent, nothing leaks; this is the
 *    ingester's path);
 *  - other statements run one at a time on a session of their own: the request's settings
 *    are SET before and reset to DEFAULT after, so none outlives its request;
 *  - `readonly=1|2` requests run on a second session locked with readonly=2 (settings may
 *    change, data may not).
 */
import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client'
import type { NextFunction, Request, Response } from 'express'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { BadRequestError } from '../errors/http-errors.js'
import { readBody } from '../http/read-body.js'
import { decodeQueryParams } from './query-params.js'
import type { FunctionPolicy } from './sql-function-policy.js'
import { clientStatementParser, loadFunctionPolicy } from './sql-guard-engine.js'
import { SqlRefusedError, guardStatement, storeClientPolicy } from './sql-guard.js'
import { BINARY_INSERT_FORMATS, TEXT_INSERT_FORMATS, type RawInsert } from './connection.js'

export interface ClickHouseHttpEndpointOptions {
  insertRaw: (insert: RawInsert) => Promise<void>
  /** A session used for nothing else (settings are SET on it per request). */
  writer: ClickHouseClient
  /** A session used for nothing else, locked read-only here. */
  reader: ClickHouseClient
  database: string
  /** Largest request body (insert data), bytes. */
  maxBodyBytes: number
}

/** Parameters of the HTTP interface that are not settings. */
const INTERFACE_PARAMS = new Set(['query', 'database', 'default_format', 'query_id', 'session_id', 'session_timeout', 'session_check', 'user', 'password', 'quota_key', 'compress', 'decompress', 'role'])
/** Settings of the HTTP transport itself, meaningless here (no progress headers, no compression). */
const TRANSPORT_SETTINGS = new Set(['wait_end_of_query', 'send_progress_in_http_headers', 'http_headers_progress_interval_ms', 'enable_http_compression', 'http_zlib_compression_level', 'buffer_size', 'cancel_http_readonly_queries_on_client_close'])
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/
const RAW_INSERT_FORMATS = new Set<string>([...TEXT_INSERT_FORMATS, ...BINARY_INSERT_FORMATS])
// INSERT INTO [db.]table [(c1, c2)] [SETTINGS k = v, ...] FORMAT f: the shape @clickhouse/client and the ingester send.
const INSERT_RE = /^\s*INSERT\s+INTO\s+(?:TABLE\s+)?(?:`?([A-Za-z_][A-Za-z0-9_]*)`?\s*\.\s*)?`?([A-Za-z_][A-Za-z0-9_]*)`?\s*(?:\(([^()]*)\))?\s*(?:SETTINGS\s+((?:[A-Za-z_][A-Za-z0-9_]*\s*=\s*(?:'(?:[^'\\]|\\.)*'|[0-9.]+)\s*,?\s*)+))?FORMAT\s+([A-Za-z]+)\s*;?\s*$/is
const SETTING_RE = /([A-Za-z_][A-Za-z0-9_]*)\s*=\s*('(?:[^'\\]|\\.)*'|[0-9.]+)/g

/** A ClickHouse error as its HTTP interface reports it. */
export class ClickHouseHttpError extends Error {
  override name = 'ClickHouseHttpError'
  constructor(
    message: string,
    readonly code: number,
    readonly httpStatus: number,
  ) {
    super(message)
  }
}

// ClickHouse's HTTP handler answers these codes with these statuses; the rest 500.
const STATUS_BY_CODE = new Map<number, number>([
  [6, 400], [27, 400], [36, 400], [42, 400], [43, 400], [53, 400], [62, 400], [117, 400], [396, 400], [456, 400], [457, 400],
  [46, 404], [47, 404], [60, 404], [81, 404], [115, 404],
  [164, 403], [446, 403], [497, 403], [159, 408], [358, 400],
])

export function toClickHouseHttpError(err: unknown): ClickHouseHttpError {
  if (err instanceof ClickHouseHttpError) return err
  const e = err as { clickhouseCode?: number; code?: string | number; message?: string; cause?: { message?: string } }
  const code = Number(e.clickhouseCode ?? e.code) || 1000
  let message = e.cause?.message ?? e.message ?? String(err)
  if (!message.startsWith('Code:')) message = `Code: ${code}. DB::Exception: ${message}`
  return new ClickHouseHttpError(message, code, STATUS_BY_CODE.get(code) ?? 500)
}

function single(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined
  if (typeof value === 'string') return value
  throw new ClickHouseHttpError(`Code: 36. DB::Exception: parameter "${name.slice(0, 40)}" given more than once. (BAD_ARGUMENTS)`, 36, 400)
}

function settingLiteral(value: string): string {
  return /^-?[0-9]+(\.[0-9]+)?$/.test(value) ? value : "'" + value.replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'"
}

function unquoteSetting(literal: string): string {
  if (!literal.startsWith("'")) return literal
  return literal.slice(1, -1).replace(/\\(.)/g, '$1')
}

/**
 * Where a ClickHouse server's defaults differ from the embedded engine's, the sessions are
 * set to the server's: clients (and their JSON parsing of UInt64) then see no difference.
 */
const SERVER_DEFAULTS: Record<string, string> = { output_format_json_quote_64bit_integers: '1' }

/** Runs tasks one at a time, in arrival order. */
class Serial {
  private tail: Promise<unknown> = Promise.resolve()
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task)
    this.tail = result.catch(() => {})
    return result
  }
}

export class ClickHouseHttpEndpoint {
  private readonly writerQueue = new Serial()
  private readonly readerQueue = new Serial()
  private readerLocked?: Promise<void>
  private writerReady?: Promise<void>
  private functions?: Promise<FunctionPolicy>

  constructor(private readonly opts: ClickHouseHttpEndpointOptions) {}

  handler() {
    return async (req: Request, res: Response, next: NextFunction) => {
      try {
        await this.handle(req, res)
      } catch (rawErr) {
        if (rawErr instanceof BadRequestError) return next(rawErr)
        const err = toClickHouseHttpError(rawErr)
        if (res.headersSent) {
          res.destroy()
          return
        }
        res.status(err.httpStatus).setHeader('X-ClickHouse-Exception-Code', String(err.code))
        res.type('text/plain').send(err.message.endsWith('\n') ? err.message : err.message + '\n')
      }
    }
  }

  private async handle(req: Request, res: Response): Promise<void> {
    const q = req.query as Record<string, unknown>
    const database = single(q.database, 'database')
    if (database !== undefined && database !== '' && database !== this.opts.database) {
      throw new ClickHouseHttpError(`Code: 81. DB::Exception: Database ${database.slice(0, 60)} does not exist here (this store serves ${this.opts.database}). (UNKNOWN_DATABASE)`, 81, 404)
    }
    const settings: Record<string, string> = {}
    const rawParams: Record<string, string> = {}
    for (const [k, v] of Object.entries(q)) {
      const value = single(v, k) ?? ''
      if (k.startsWith('param_')) rawParams[k.slice(6)] = value
      else if (!INTERFACE_PARAMS.has(k) && !TRANSPORT_SETTINGS.has(k)) {
        if (!NAME_RE.test(k)) throw new ClickHouseHttpError(`Code: 115. DB::Exception: Unknown setting ${k.slice(0, 40)}. (UNKNOWN_SETTING)`, 115, 404)
        settings[k] = value
      }
    }
    const readonly = settings.readonly !== undefined && settings.readonly !== '0'
    delete settings.readonly
    const format = single(q.default_format, 'default_format') ?? 'TabSeparated'
    if (!NAME_RE.test(format)) throw new BadRequestError(`invalid default_format "${format.slice(0, 40)}"`)

    const fromUrl = single(q.query, 'query') ?? ''
    const body = req.method === 'POST' ? await readBody(req, this.opts.maxBodyBytes) : Buffer.alloc(0)
    const insert = fromUrl !== '' && body.length > 0 ? INSERT_RE.exec(fromUrl) : null
    if (insert) {
      if (readonly) throw new ClickHouseHttpError('Code: 164. DB::Exception: Cannot execute query in readonly mode. (READONLY)', 164, 403)
      await this.insert(insert, settings, body)
      res.status(200).setHeader('X-ClickHouse-Summary', '{}')
      res.end()
      return
    }
    // Not a raw-insertable INSERT: the whole text is SQL (a statement with inline data too).
    const sql = [fromUrl, body.toString('utf8')].filter((s) => s.trim() !== '').join('\n')
    if (sql.trim() === '') throw new BadRequestError('no query: give SQL in the "query" parameter or the request body')
    const queryParams = decodeQueryParams(sql, rawParams)
    await this.guard(sql, queryParams)
    const output = readonly
      ? await this.runReadOnly(sql, format, settings, queryParams)
      : await this.writerQueue.run(async () => {
          await (this.writerReady ??= this.applyServerDefaults(this.opts.writer))
          return this.runWithSettings(this.opts.writer, sql, format, settings, queryParams)
        })
    res.status(200)
    res.setHeader('Content-Type', format.startsWith('JSON') ? 'application/json; charset=UTF-8' : 'text/plain; charset=UTF-8')
    res.setHeader('X-ClickHouse-Format', format)
    await pipeline(Readable.from([output]), res)
  }

  private async insert(match: RegExpExecArray, urlSettings: Record<string, string>, body: Buffer): Promise<void> {
    const [, db, table, columnList, inlineSettings, format] = match
    if (db !== undefined && db !== this.opts.database) throw new ClickHouseHttpError(`Code: 81. DB::Exception: Database ${db} does not exist here. (UNKNOWN_DATABASE)`, 81, 404)
    const settings = { ...urlSettings }
    for (const m of (inlineSettings ?? '').matchAll(SETTING_RE)) settings[m[1]] = unquoteSetting(m[2])
    const columns = columnList?.split(',').map((c) => c.trim().replace(/^`(.*)`$/, '$1')).filter((c) => c !== '')
    if (RAW_INSERT_FORMATS.has(format) && (columns ?? []).every((c) => NAME_RE.test(c))) {
      await this.opts.insertRaw({ table, columns: columns && columns.length > 0 ? columns : undefined, settings, format: format as RawInsert['format'], body })
      return
    }
    // Other formats: the statement and its data as one text, settings inside the statement.
    throw new ClickHouseHttpError(`Code: 73. DB::Exception: format ${format.slice(0, 40)} is not accepted for inserts here; use ${[...RAW_INSERT_FORMATS].join(', ')}. (UNKNOWN_FORMAT)`, 73, 400)
  }

  /**
   * The statement must pass the store clients' policy (sql-guard.ts): the engine's own parse,
   * on the read-only session, before anything runs. Raw inserts skip this: their text is the
   * INSERT pattern above and their body is data.
   */
  private async guard(sql: string, queryParams: Record<string, string>): Promise<void> {
    await this.lockReader()
    this.functions ??= loadFunctionPolicy(this.opts.reader)
    this.functions.catch(() => (this.functions = undefined))
    const policy = storeClientPolicy(await this.functions)
    try {
      await this.readerQueue.run(() => guardStatement(clientStatementParser(this.opts.reader), sql, queryParams, policy))
    } catch (err) {
      if (!(err instanceof SqlRefusedError)) throw err
      throw new ClickHouseHttpError(`Code: ${err.code}. DB::Exception: ${err.message}. (${err.codeName})`, err.code, STATUS_BY_CODE.get(err.code) ?? 500)
    }
  }

  private lockReader(): Promise<void> {
    this.readerLocked ??= this.applyServerDefaults(this.opts.reader).then(() => this.opts.reader.command({ query: 'SET readonly = 2' })).then(() => undefined)
    return this.readerLocked
  }

  private async runReadOnly(sql: string, format: string, settings: Record<string, string>, queryParams: Record<string, string>): Promise<Buffer> {
    await this.lockReader()
    return this.readerQueue.run(() => this.runWithSettings(this.opts.reader, sql, format, settings, queryParams))
  }

  private async applyServerDefaults(client: ClickHouseClient): Promise<void> {
    for (const [name, value] of Object.entries(SERVER_DEFAULTS)) await client.command({ query: `SET ${name} = ${settingLiteral(value)}` })
  }

  /** SETs the request's settings, runs the statement, reads its whole output, resets them. */
  private async runWithSettings(client: ClickHouseClient, sql: string, format: string, settings: Record<string, string>, queryParams: Record<string, string>): Promise<Buffer> {
    const applied: string[] = []
    try {
      for (const [name, value] of Object.entries(settings)) {
        await client.command({ query: `SET ${name} = ${settingLiteral(value)}` })
        applied.push(name)
      }
      // default_format is the one setting chDB's connection takes per query (as its output
      // format option) rather than as a SET.
      const result = await client.exec({
        query: sql,
        query_params: Object.keys(queryParams).length > 0 ? queryParams : undefined,
        clickhouse_settings: { default_format: format as ClickHouseSettings['default_format'] },
      })
      const chunks: Buffer[] = []
      for await (const chunk of result.stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string))
      return Buffer.concat(chunks)
    } finally {
      for (const name of applied) {
        const baseline = SERVER_DEFAULTS[name]
        await client.command({ query: `SET ${name} = ${baseline === undefined ? 'DEFAULT' : settingLiteral(baseline)}` }).catch(() => {})
      }
    }
  }
}
