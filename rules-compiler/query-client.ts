/**
 * The few Prometheus HTTP API calls `rules lint --url` makes against a metrichouse query
 * endpoint (or any Prometheus-compatible one): series, metadata, range queries. Bounded: every
 * request has a deadline and a response-size cap, and sends the configured credentials.
 */
export interface QueryClientOptions {
  url: string
  bearerToken?: string
  basicAuth?: { username: string; password: string }
  timeoutMs?: number
}

export class QueryEndpointError extends Error {
  override readonly name = 'QueryEndpointError'
}

/** Responses larger than this are refused: a lint run never needs more. */
const MAX_RESPONSE_BYTES = 64 << 20

export interface RangeSeries {
  metric: Record<string, string>
  values: [number, string][]
}

export class QueryClient {
  private readonly base: string
  private readonly headers: Record<string, string> = { accept: 'application/json' }

  constructor(private readonly opts: QueryClientOptions) {
    this.base = opts.url.replace(/\/+$/, '')
    if (opts.bearerToken !== undefined) this.headers.authorization = `Bearer ${opts.bearerToken}`
    else if (opts.basicAuth) this.headers.authorization = `Basic ${Buffer.from(`${opts.basicAuth.username}:${opts.basicAuth.password}`).toString('base64')}`
  }

  /** Label sets of the series a selector matches in [startMs, endMs], at most `limit`. */
  async series(selector: string, startMs: number, endMs: number, limit: number): Promise<Record<string, string>[]> {
    return this.get<Record<string, string>[]>('/api/v1/series', { 'match[]': selector, start: String(startMs / 1000), end: String(endMs / 1000), limit: String(limit) })
  }

  /** Metric family -> type, from stored metadata; empty when the endpoint has none. */
  async metricTypes(): Promise<Map<string, string>> {
    try {
      const data = await this.get<Record<string, { type: string }[]>>('/api/v1/metadata', {})
      return new Map(Object.entries(data).flatMap(([name, entries]) => (entries[0]?.type ? [[name, entries[0].type]] : [])))
    } catch (err) {
      if (err instanceof QueryEndpointError && /\b404\b/.test(err.message)) return new Map()
      throw err
    }
  }

  async queryRange(expr: string, startMs: number, endMs: number, stepMs: number): Promise<RangeSeries[]> {
    const data = await this.get<{ resultType: string; result: RangeSeries[] }>('/api/v1/query_range', { query: expr, start: String(startMs / 1000), end: String(endMs / 1000), step: String(stepMs / 1000) })
    return data.result
  }

  private async get<T>(path: string, params: Record<string, string>): Promise<T> {
    const url = `${this.base}${path}?${new URLSearchParams(params).toString()}`
    let res: Response
    try {
      res = await fetch(url, { headers: this.headers, signal: AbortSignal.timeout(this.opts.timeoutMs ?? 60_000) })
    } catch (err) {
      throw new QueryEndpointError(`${this.base}${path}: ${(err as Error).message}`)
    }
    const text = await res.text()
    if (text.length > MAX_RESPONSE_BYTES) throw new QueryEndpointError(`${path}: response over ${MAX_RESPONSE_BYTES} bytes`)
    let body: { status?: string; data?: unknown; error?: string }
    try {
      body = JSON.parse(text) as typeof body
    } catch {
      throw new QueryEndpointError(`${path}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`)
    }
    if (!res.ok || body.status !== 'success') throw new QueryEndpointError(`${path}: HTTP ${res.status}: ${body.error ?? text.slice(0, 200)}`)
    return body.data as T
  }
}
