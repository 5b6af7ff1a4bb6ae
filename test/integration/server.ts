/**
 * `serve` in this test process, for the integration tests: a fresh data directory under the
 * OS temp dir, 127.0.0.1 on a free port, and helpers that speak to it over real HTTP
 * (remote write, /clickhouse/ SQL). chDB binds one data directory per process, so each test
 * file starts exactly one of these (vitest runs every file in its own fork).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serve, type RunningServe } from '../../cli/serve.js'
import { loadConfig } from '../../config/load.js'
import { silentLogger } from '../../observability/logger.js'
import { createSnappyCodec, type SnappyCodec } from '../../proto/snappy.js'

export const RW1_CONTENT_TYPE = 'application/x-protobuf'
export const RW2_CONTENT_TYPE = 'application/x-protobuf;proto=io.prometheus.write.v2.Request'

export interface TestServer {
  url: string
  writeUrl: string
  dataDir: string
  snappy: SnappyCodec
  /** Extra headers sent with every helper request (credentials). */
  headers: Record<string, string>
  /** POSTs a remote-write body (already compressed) with snappy encoding and the given Content-Type. */
  write(body: Uint8Array, contentType?: string, extraHeaders?: Record<string, string>): Promise<HttpAnswer>
  /** Runs SQL through /clickhouse/ and returns the TabSeparated text; throws on a non-200. */
  sql(query: string): Promise<string>
  /** The single number a `SELECT count()`-like query returns. */
  sqlNumber(query: string): Promise<number>
  /** Polls `query` until it returns `want` or the deadline passes; returns the last value. */
  waitForNumber(query: string, want: number, timeoutMs?: number): Promise<number>
  stop(): Promise<void>
}

export interface HttpAnswer {
  status: number
  text: string
  headers: Headers
}

/** Starts serve with these flags (names as on the command line, without dashes in front). */
export async function startTestServer(flags: Record<string, string> = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'metrichouse-integration-'))
  let running: RunningServe
  try {
    const config = loadConfig({ flags: { 'data-dir': dataDir, listen: '127.0.0.1:0', 'flush-interval': '100ms', ...flags }, env: {} })
    running = await serve(config, silentLogger)
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true })
    throw err
  }
  const url = `http://127.0.0.1:${running.address.port}`
  const snappy = await createSnappyCodec()
  const server: TestServer = {
    url,
    writeUrl: `${url}/api/v1/write`,
    dataDir,
    snappy,
    headers: {},
    async write(body, contentType = RW1_CONTENT_TYPE, extraHeaders = {}) {
      const response = await fetch(server.writeUrl, {
        method: 'POST',
        body: Buffer.from(body),
        headers: { 'Content-Type': contentType, 'Content-Encoding': 'snappy', ...server.headers, ...extraHeaders },
      })
      return { status: response.status, text: await response.text(), headers: response.headers }
    },
    async sql(query) {
      const response = await fetch(`${url}/clickhouse/?${new URLSearchParams({ query })}`, { headers: server.headers })
      const text = await response.text()
      if (response.status !== 200) throw new Error(`SQL answered ${response.status}: ${text.slice(0, 300)}`)
      return text
    },
    async sqlNumber(query) {
      const text = (await server.sql(query)).trim()
      const n = Number(text)
      if (text === '' || !Number.isFinite(n)) throw new Error(`expected one number from ${query}, got "${text.slice(0, 100)}"`)
      return n
    },
    async waitForNumber(query, want, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs
      let last = await server.sqlNumber(query)
      while (last !== want && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100))
        last = await server.sqlNumber(query)
      }
      return last
    },
    async stop() {
      try {
        await running.shutdown()
      } finally {
        await rm(dataDir, { recursive: true, force: true, maxRetries: 3 })
      }
    },
  }
  return server
}

/** GET /-/healthy: true when the process still answers 200. */
export async function isHealthy(url: string): Promise<boolean> {
  const response = await fetch(`${url}/-/healthy`)
  await response.text()
  return response.status === 200
}

/** Samples of metric `name` in /metrics text, keyed by their label text (`{reason="x"}`). */
export function metricValues(exposition: string, name: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(name)) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line)
    if (m && m[1] === name) out.set(m[2] ?? '', Number(m[3]))
  }
  return out
}
