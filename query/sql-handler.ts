/**
 * /clickhouse/: ClickHouse's HTTP query interface (read-only) over the store, so curl,
 * @clickhouse/client and Grafana's ClickHouse data source work against the embedded
 * default. As ClickHouse does: SQL in `query`, in the body, or both (joined by a newline);
 * `default_format` (TabSeparated by default); `param_<name>` bound parameters; errors as
 * plain text `Code: N. DB::Exception: ...` with X-ClickHouse-Exception-Code.
 */
import { pipeline } from 'node:stream/promises'
import type { NextFunction, Request, Response } from 'express'
import { BadRequestError } from '../errors/http-errors.js'
import { readBody } from '../http/read-body.js'
import { decodeQueryParams } from '../store/query-params.js'
import { ClickHouseQueryError, type SqlGateway } from './sql-gateway.js'

const MAX_SQL_BYTES = 1 << 20
const FORMAT_RE = /^[A-Za-z0-9]+$/

const CONTENT_TYPES: Record<string, string> = {
  TabSeparated: 'text/tab-separated-values; charset=UTF-8',
  TSV: 'text/tab-separated-values; charset=UTF-8',
  CSV: 'text/csv; charset=UTF-8; header=absent',
  CSVWithNames: 'text/csv; charset=UTF-8; header=present',
}

function contentTypeOf(format: string): string {
  if (format.startsWith('JSON')) return 'application/json; charset=UTF-8'
  if (format.startsWith('TabSeparated') || format.startsWith('TSV')) return CONTENT_TYPES.TabSeparated
  return CONTENT_TYPES[format] ?? 'text/plain; charset=UTF-8'
}

function singleParam(value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (typeof value === 'string') return value
  throw new BadRequestError('query parameters must be given once each')
}

export function sqlHandler(gateway: SqlGateway) {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const q = req.query as Record<string, unknown>
      const fromUrl = singleParam(q.query) ?? ''
      const body = req.method === 'POST' ? (await readBody(req, MAX_SQL_BYTES)).toString('utf8') : ''
      const sql = [fromUrl, body].filter((s) => s.trim() !== '').join('\n')
      if (sql.trim() === '') throw new BadRequestError('no query: give SQL in the "query" parameter or the request body')
      const format = singleParam(q.default_format) ?? 'TabSeparated'
      if (!FORMAT_RE.test(format)) throw new BadRequestError(`invalid default_format "${format.slice(0, 40)}"`)
      const rawParams: Record<string, string> = {}
      for (const [k, v] of Object.entries(q)) if (k.startsWith('param_')) rawParams[k.slice(6)] = singleParam(v) ?? ''
      const queryParams = decodeQueryParams(sql, rawParams)
      const abort = new AbortController()
      res.on('close', () => abort.abort())
      const stream = await gateway.run(sql, { format, queryParams, signal: abort.signal })
      res.status(200)
      res.setHeader('Content-Type', contentTypeOf(format))
      res.setHeader('X-ClickHouse-Format', format)
      await pipeline(stream, res)
    } catch (err) {
      if (err instanceof ClickHouseQueryError) {
        if (res.headersSent) {
          res.destroy()
          return
        }
        res.status(err.httpStatus).setHeader('X-ClickHouse-Exception-Code', String(err.code))
        res.type('text/plain').send(err.message.endsWith('\n') ? err.message : err.message + '\n')
        return
      }
      next(err)
    }
  }
}
