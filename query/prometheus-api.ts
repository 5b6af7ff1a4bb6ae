/**
 * The Prometheus HTTP API (/api/v1/query, query_range, series, labels, label/<name>/values,
 * metadata, status/buildinfo), GET and POST form-encoded, with Prometheus's JSON shapes,
 * parameter rules, error types and status codes, so Grafana's stock Prometheus data
 * source works unchanged. This file is the HTTP edge of the query service: typed errors
 * from the engine and the querier become `bad_data`/`execution`/`timeout`/`canceled` here
 * and nowhere else.
 */
import type { Request, RequestHandler, Response } from 'express'
import { Counter, Histogram, type Registry } from 'prom-client'
import type { Route } from '../http/server.js'
import type { Logger } from '../observability/logger.js'
import {
  PromQLCanceledError,
  PromQLExecutionError,
  PromQLParseError,
  PromQLTimeoutError,
  type LabelMatcher,
  type LabelQuerier,
  type PromQLEngine,
  type Querier,
  type QueryResult,
} from '../promql/api.js'
import { errorJson, queryResultJson, successJson, type ApiErrorType } from './api-format.js'
import { BadDataError, MAX_TIME_MS, MIN_TIME_MS, parseDurationParam, parseTimeParam, requestParams } from './api-params.js'
import { parseSeriesSelector } from '../promql/parser.js'
import type { MetadataEntry, MetadataQuery } from '../store/metadata-store.js'
import type { TsdbStatusSource } from './tsdb-status.js'

export interface MetadataSource {
  metadata(q: MetadataQuery, signal?: AbortSignal): Promise<Map<string, MetadataEntry[]>>
}

/** Prometheus refuses range queries of more points per series than this. */
export const MAX_POINTS_PER_SERIES = 11_000

/** Most entries per list /api/v1/status/tsdb returns, whatever `limit` asks. */
const MAX_TSDB_STATUS_LIMIT = 10_000

export interface BuildInfo {
  version: string
  revision: string
  branch: string
  buildUser: string
  buildDate: string
  goVersion: string
}

/** What runs a range query: the engine directly, or the results cache in front of it. */
export type RangeQueryRunner = (query: string, start: number, end: number, step: number, opts: { signal: AbortSignal; lookbackDelta?: number }) => Promise<QueryResult>

export interface PrometheusApiOptions {
  engine: PromQLEngine
  querier: Querier & LabelQuerier
  /** Defaults to the engine; the results cache plugs in here. */
  rangeQuery?: RangeQueryRunner
  /** Server maximum and default for the `timeout` parameter. */
  timeoutMs: number
  /** /api/v1/status/tsdb's source; absent: the endpoint is not served. */
  tsdbStatus?: TsdbStatusSource
  /** /api/v1/metadata's source; absent: an empty answer. */
  metadata?: MetadataSource
  /** Most series /api/v1/series, /labels and /label/x/values return without a `limit`. */
  maxMetadataResults?: number
  buildInfo: BuildInfo
  registry: Registry
  logger: Logger
  /** Current time in ms (the default `time` of an instant query). */
  now?: () => number
}

class TimeoutAbort extends Error {}

interface ApiMetrics {
  requests: Counter<'endpoint' | 'code'>
  duration: Histogram<'endpoint'>
}

function createMetrics(registry: Registry): ApiMetrics {
  return {
    requests: new Counter({
      name: 'metrichouse_query_api_requests_total',
      help: 'Prometheus API requests answered, by endpoint and HTTP status code',
      labelNames: ['endpoint', 'code'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'metrichouse_query_api_request_duration_seconds',
      help: 'Time to answer a Prometheus API request, by endpoint',
      labelNames: ['endpoint'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
  }
}

const STATUS: Record<ApiErrorType, number> = {
  bad_data: 400,
  execution: 422,
  timeout: 503,
  canceled: 503,
  internal: 500,
  unavailable: 503,
  not_found: 404,
}

function classify(err: unknown): { type: ApiErrorType; message: string } {
  if (err instanceof BadDataError) return { type: 'bad_data', message: err.message }
  if (err instanceof PromQLParseError) return { type: 'bad_data', message: `invalid parameter "query": ${err.message}` }
  if (err instanceof PromQLTimeoutError || err instanceof TimeoutAbort) return { type: 'timeout', message: err.message }
  if (err instanceof PromQLCanceledError) return { type: 'canceled', message: err.message }
  if (err instanceof PromQLExecutionError) return { type: 'execution', message: err.message }
  return { type: 'internal', message: (err as Error)?.message ?? String(err) }
}

function one(params: URLSearchParams, name: string): string | undefined {
  const v = params.get(name)
  return v === null ? undefined : v
}

function requireQuery(params: URLSearchParams): string {
  const q = one(params, 'query')
  if (q === undefined || q === '') throw new BadDataError('invalid parameter "query": unknown position: parse error: no expression found in input')
  return q
}

function matcherSets(params: URLSearchParams): LabelMatcher[][] {
  return params.getAll('match[]').map((text) => {
    try {
      return parseSeriesSelector(text)
    } catch (err) {
      throw new BadDataError(`invalid parameter "match[]": ${(err as Error).message}`)
    }
  })
}

function optionalTime(params: URLSearchParams, name: string, fallback: number): number {
  const v = one(params, name)
  return v === undefined || v === '' ? fallback : parseTimeParam(v, name)
}

/** Prometheus' metadata parameters: any integer, absent = -1 (no limit). */
function integerParam(params: URLSearchParams, name: 'limit' | 'limit_per_metric'): number {
  const v = one(params, name)
  if (v === undefined || v === '') return -1
  if (!/^[+-]?[0-9]{1,15}$/.test(v)) throw new BadDataError(`${name} must be a number`)
  return Number(v)
}

function limitParam(params: URLSearchParams): number | undefined {
  const v = one(params, 'limit')
  if (v === undefined || v === '') return undefined
  if (!/^[0-9]+$/.test(v)) throw new BadDataError(`invalid parameter "limit": cannot parse "${v}" to a valid limit`)
  const n = Number(v)
  return n === 0 ? undefined : n
}

export function prometheusApiRoutes(opts: PrometheusApiOptions): Route[] {
  const metrics = createMetrics(opts.registry)
  const now = opts.now ?? Date.now
  const rangeQuery: RangeQueryRunner =
    opts.rangeQuery ?? ((query, start, end, step, o) => opts.engine.rangeQuery(opts.querier, query, start, end, step, o))
  const maxMeta = opts.maxMetadataResults

  /** Wraps an endpoint: parameters, timeout and client-disconnect signal, errors, metrics. */
  const endpoint = (name: string, run: (params: URLSearchParams, signal: AbortSignal, req: Request) => Promise<string>): RequestHandler => {
    return async (req: Request, res: Response) => {
      const stop = metrics.duration.startTimer({ endpoint: name })
      const controller = new AbortController()
      // The client went away before the answer: stop reading ClickHouse for it.
      const onClose = () => {
        if (!res.writableEnded) controller.abort(new PromQLCanceledError('query canceled: the client closed the connection'))
      }
      res.on('close', onClose)
      let timer: NodeJS.Timeout | undefined
      let code = 200
      let body: string
      try {
        const params = await requestParams(req)
        const requested = one(params, 'timeout')
        let timeoutMs = opts.timeoutMs
        if (requested !== undefined && requested !== '') {
          const t = parseDurationParam(requested, 'timeout')
          if (t > 0) timeoutMs = Math.min(t, opts.timeoutMs)
        }
        const timedOut = new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            const err = new TimeoutAbort(`query timed out in expression evaluation (timeout ${timeoutMs / 1000}s)`)
            controller.abort(err)
            reject(err)
          }, timeoutMs)
        })
        const answer = run(params, controller.signal, req)
        answer.catch(() => {})
        body = await Promise.race([answer, timedOut])
      } catch (err) {
        let { type, message } = classify(err)
        // An engine aborted by our timer reports cancellation: it was a timeout.
        if (controller.signal.reason instanceof TimeoutAbort && type === 'canceled') ({ type, message } = classify(controller.signal.reason))
        code = STATUS[type]
        if (type === 'internal') opts.logger.error('query API failed', { endpoint: name, err: (err as Error)?.stack ?? String(err) })
        body = errorJson(type, message)
      } finally {
        clearTimeout(timer)
        res.off('close', onClose)
      }
      metrics.requests.inc({ endpoint: name, code: String(code) })
      stop()
      if (res.destroyed) return
      res.status(code).type('application/json').send(body)
    }
  }

  const lookback = (params: URLSearchParams): number | undefined => {
    const v = one(params, 'lookback_delta')
    return v === undefined || v === '' ? undefined : parseDurationParam(v, 'lookback_delta')
  }

  const query = endpoint('query', async (params, signal) => {
    const q = requireQuery(params)
    const time = optionalTime(params, 'time', now())
    const result = await opts.engine.instantQuery(opts.querier, q, time, { signal, lookbackDelta: lookback(params) })
    return queryResultJson(result)
  })

  const queryRange = endpoint('query_range', async (params, signal) => {
    const q = requireQuery(params)
    const startText = one(params, 'start')
    const endText = one(params, 'end')
    const stepText = one(params, 'step')
    if (startText === undefined) throw new BadDataError('invalid parameter "start": cannot parse "" to a valid timestamp')
    if (endText === undefined) throw new BadDataError('invalid parameter "end": cannot parse "" to a valid timestamp')
    const start = parseTimeParam(startText, 'start')
    const end = parseTimeParam(endText, 'end')
    if (end < start) throw new BadDataError('invalid parameter "end": end timestamp must not be before start time')
    if (stepText === undefined) throw new BadDataError('invalid parameter "step": cannot parse "" to a valid duration')
    const step = Math.round(parseDurationParam(stepText, 'step'))
    if (step <= 0) throw new BadDataError('invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer')
    if ((end - start) / step > MAX_POINTS_PER_SERIES) {
      throw new BadDataError('exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)')
    }
    const result = await rangeQuery(q, start, end, step, { signal, lookbackDelta: lookback(params) })
    return queryResultJson(result)
  })

  const series = endpoint('series', async (params, signal) => {
    const sets = matcherSets(params)
    if (sets.length === 0) throw new BadDataError('no match[] parameter provided')
    const start = optionalTime(params, 'start', MIN_TIME_MS)
    const end = optionalTime(params, 'end', MAX_TIME_MS)
    const limit = limitParam(params) ?? maxMeta
    const rows = await opts.querier.series(sets, start, end, limit === undefined ? undefined : limit + 1, signal)
    return truncated(rows, limit)
  })

  const labels = endpoint('labels', async (params, signal) => {
    const start = optionalTime(params, 'start', MIN_TIME_MS)
    const end = optionalTime(params, 'end', MAX_TIME_MS)
    const limit = limitParam(params) ?? maxMeta
    const names = await opts.querier.labelNames(matcherSets(params), start, end, limit === undefined ? undefined : limit + 1, signal)
    return truncated(names, limit)
  })

  const labelValues = endpoint('label_values', async (params, signal, req) => {
    const name = decodeLabelName(String(req.params.name ?? ''))
    const start = optionalTime(params, 'start', MIN_TIME_MS)
    const end = optionalTime(params, 'end', MAX_TIME_MS)
    const limit = limitParam(params) ?? maxMeta
    const values = await opts.querier.labelValues(name, matcherSets(params), start, end, limit === undefined ? undefined : limit + 1, signal)
    return truncated(values, limit)
  })

  // Without a metadata store: an empty answer of the right shape, which Grafana handles (it
  // then guesses types from names).
  const metadata = endpoint('metadata', async (params, signal) => {
    const q = { limit: integerParam(params, 'limit'), limitPerMetric: integerParam(params, 'limit_per_metric'), metric: one(params, 'metric') || undefined }
    if (!opts.metadata) return successJson('{}')
    const found = await opts.metadata.metadata(q, signal)
    return successJson(JSON.stringify(Object.fromEntries(found)))
  })

  // Prometheus: `limit` (default 10) entries in each list.
  const tsdbStatus = endpoint('tsdb_status', async (params, signal) => {
    const v = one(params, 'limit')
    let limit = 10
    if (v !== undefined && v !== '') {
      if (!/^[0-9]{1,6}$/.test(v) || Number(v) === 0) throw new BadDataError(`limit must be a positive number`)
      limit = Math.min(Number(v), MAX_TSDB_STATUS_LIMIT)
    }
    return successJson(JSON.stringify(await opts.tsdbStatus!.status(limit, signal)))
  })

  const buildinfo = endpoint('buildinfo', async () => successJson(JSON.stringify(opts.buildInfo)))

  // Grafana asks for exemplars with every range query when exemplars are enabled: none here.
  const exemplars = endpoint('query_exemplars', async () => successJson('[]'))

  const routes: Route[] = []
  const both = (path: string, handler: RequestHandler) => {
    routes.push({ method: 'get', path, handler }, { method: 'post', path, handler })
  }
  both('/api/v1/query', query)
  both('/api/v1/query_range', queryRange)
  both('/api/v1/series', series)
  both('/api/v1/labels', labels)
  routes.push({ method: 'get', path: '/api/v1/label/:name/values', handler: labelValues })
  routes.push({ method: 'get', path: '/api/v1/metadata', handler: metadata })
  routes.push({ method: 'get', path: '/api/v1/status/buildinfo', handler: buildinfo })
  if (opts.tsdbStatus) routes.push({ method: 'get', path: '/api/v1/status/tsdb', handler: tsdbStatus })
  both('/api/v1/query_exemplars', exemplars)
  return routes
}

/** Data of a list answer; over `limit`, the first `limit` items and Prometheus's warning. */
function truncated(items: readonly unknown[], limit: number | undefined): string {
  if (limit !== undefined && items.length > limit) {
    return successJson(JSON.stringify(items.slice(0, limit)), ['results truncated due to limit'])
  }
  return successJson(JSON.stringify(items))
}

/** Label names in the path: plain, or `U__` escaped for UTF-8 names (Prometheus 3.x). */
function decodeLabelName(raw: string): string {
  let name = raw
  if (name.startsWith('U__')) {
    name = name.slice(3).replace(/_([0-9a-fA-F]+)_|__/g, (m, hex: string | undefined) => (hex ? String.fromCodePoint(parseInt(hex, 16)) : '_'))
  }
  if (name === '' || (!raw.startsWith('U__') && !/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name))) {
    throw new BadDataError(`invalid label name: "${raw}"`)
  }
  return name
}
