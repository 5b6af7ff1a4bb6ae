/**
 * Read-only ad-hoc SQL against the store, for /clickhouse/. The client it is given must be
 * dedicated to it: on the embedded engine it is locked once with `SET readonly = 1` and
 * the execution limits (chDB turns per-query settings into session-wide SETs, so they
 * cannot be sent per query without leaking); on a server they go with every query.
 */
import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client'
import type { Readable } from 'node:stream'
import type { FunctionPolicy } from '../store/sql-function-policy.js'
import { GRID_AGGREGATES_SETTING } from './pushdown/settings.js'
import { clientStatementParser, loadFunctionPolicy } from '../store/sql-guard-engine.js'
import { SqlRefusedError, adHocReadPolicy, guardStatement } from '../store/sql-guard.js'

export interface SqlGatewayOptions {
  client: ClickHouseClient
  embedded: boolean
  /** The database served; no other is readable (system and information_schema included). */
  database: string
  maxExecutionTimeMs: number
  maxResultRows: number
}

/** A ClickHouse error as its HTTP interface reports it. */
export class ClickHouseQueryError extends Error {
  override name = 'ClickHouseQueryError'
  constructor(
    message: string,
    readonly code: number,
    readonly httpStatus: number,
  ) {
    super(message)
  }
}

// ClickHouse's HTTP handler answers these error codes with these statuses; the rest 500.
const STATUS_BY_CODE = new Map<number, number>([
  [62, 400], // SYNTAX_ERROR
  [6, 400], // CANNOT_PARSE_TEXT
  [27, 400], // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  [36, 400], // BAD_ARGUMENTS
  [42, 400], // NUMBER_OF_ARGUMENTS_DOESNT_MATCH
  [43, 400], // ILLEGAL_TYPE_OF_ARGUMENT
  [46, 404], // UNKNOWN_FUNCTION
  [47, 404], // UNKNOWN_IDENTIFIER
  [53, 400], // TYPE_MISMATCH
  [60, 404], // UNKNOWN_TABLE
  [81, 404], // UNKNOWN_DATABASE
  [115, 404], // UNKNOWN_SETTING
  [164, 403], // READONLY
  [358, 400], // INTO_OUTFILE_NOT_ALLOWED (ClickHouse says 500; here it is always the caller's statement)
  [159, 408], // TIMEOUT_EXCEEDED
  [396, 400], // TOO_MANY_ROWS_OR_BYTES
  [457, 400], // BAD_QUERY_PARAMETER
  [456, 400], // UNKNOWN_QUERY_PARAMETER
  [446, 403], // FUNCTION_NOT_ALLOWED
  [497, 403], // ACCESS_DENIED
])

function toClickHouseError(err: unknown): ClickHouseQueryError {
  const e = err as { code?: string | number; message?: string; cause?: { message?: string } }
  const code = Number(e.code ?? 0) || 1000
  let message = e.cause?.message ?? e.message ?? String(err)
  if (!message.startsWith('Code:')) message = `Code: ${code}. DB::Exception: ${message}`
  return new ClickHouseQueryError(message, code, STATUS_BY_CODE.get(code) ?? 500)
}

export class SqlGateway {
  private ready?: Promise<void>
  private functions?: Promise<FunctionPolicy>

  constructor(private readonly opts: SqlGatewayOptions) {}

  private limitSettings(): ClickHouseSettings {
    return {
      readonly: '1',
      max_execution_time: Math.max(1, Math.ceil(this.opts.maxExecutionTimeMs / 1000)),
      max_result_rows: String(this.opts.maxResultRows),
      result_overflow_mode: 'throw',
      // As a ClickHouse server answers JSON formats: UInt64 ids would lose digits as numbers.
      output_format_json_quote_64bit_integers: 1,
      // What `rules compile` prints for a compiled subtree carries this setting; read-only
      // mode accepts a SETTINGS clause that repeats the session's value, so the statement
      // pasted here runs as the ruler runs it.
      ...GRID_AGGREGATES_SETTING,
    }
  }

  private init(): Promise<void> {
    if (!this.opts.embedded) return Promise.resolve()
    this.ready ??= (async () => {
      const s = this.limitSettings()
      // readonly last: after it no setting can change on this connection.
      for (const [k, v] of Object.entries(s).filter(([k]) => k !== 'readonly')) {
        await this.opts.client.command({ query: `SET ${k} = ${typeof v === 'string' && !/^[0-9]+$/.test(v) ? `'${v}'` : v}` })
      }
      await this.opts.client.command({ query: 'SET readonly = 1' })
    })()
    return this.ready
  }

  /** The function allowlist, from the engine's own catalogue (read once). */
  private functionPolicy(): Promise<FunctionPolicy> {
    this.functions ??= loadFunctionPolicy(this.opts.client)
    this.functions.catch(() => (this.functions = undefined))
    return this.functions
  }

  /** Refuses what the guard refuses (store/sql-guard.ts); returns the statement to run. */
  private async check(sql: string, queryParams: Record<string, string>, signal?: AbortSignal): Promise<string> {
    try {
      const policy = adHocReadPolicy(this.opts.database, await this.functionPolicy())
      const parser = clientStatementParser(this.opts.client, () => (this.opts.embedded ? {} : this.limitSettings()))
      return await guardStatement(parser, sql, queryParams, policy, signal)
    } catch (err) {
      if (!(err instanceof SqlRefusedError)) throw toClickHouseError(err)
      throw new ClickHouseQueryError(`Code: ${err.code}. DB::Exception: ${err.message}. (${err.codeName})`, err.code, STATUS_BY_CODE.get(err.code) ?? 500)
    }
  }

  /** Runs one reading statement; the result is the raw output in `format` (unless the SQL names one). */
  async run(sql: string, params: { format: string; queryParams: Record<string, string>; signal?: AbortSignal }): Promise<Readable> {
    await this.init()
    const checked = await this.check(sql, params.queryParams, params.signal)
    try {
      const settings: ClickHouseSettings = { default_format: params.format as ClickHouseSettings['default_format'] }
      const result = await this.opts.client.exec({
        query: checked,
        query_params: Object.keys(params.queryParams).length > 0 ? params.queryParams : undefined,
        clickhouse_settings: this.opts.embedded ? settings : { ...this.limitSettings(), ...settings },
        abort_signal: params.signal,
      })
      return result.stream
    } catch (err) {
      throw toClickHouseError(err)
    }
  }
}
