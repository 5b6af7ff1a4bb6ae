/**
 * The built-in UI, served by every role at `/`: static ES modules (no build step), uPlot from
 * its npm package, and one JSON document of what the page cannot learn from the public API
 * (the role, the version, the configuration with secrets redacted). The pages read everything
 * else from the endpoints any client uses: /metrics, /-/ready, the Prometheus API, /clickhouse/.
 * Behind the same authentication as every endpoint but the health checks (http/server.ts).
 */
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import express from 'express'
import type { Route } from '../http/server.js'
import { redactConfig } from './redact.js'

const here = dirname(fileURLToPath(import.meta.url))
// ui/static beside this file when run from the sources; dist/ui/ -> ui/static when built.
const STATIC_DIR = [join(here, 'static'), join(here, '..', '..', 'ui', 'static')].find((d) => existsSync(d)) ?? join(here, 'static')

/** uPlot's dist/ folder; undefined when the package is missing (the page then shows no chart). */
function uplotDir(): string | undefined {
  try {
    return dirname(createRequire(import.meta.url).resolve('uplot'))
  } catch {
    return undefined
  }
}

export interface UiInfo {
  role: string
  version: string
  config: unknown
  /** The paths this role serves now: the pages ask only what is there (no 404s in the console). */
  endpoints: () => string[]
}

export function uiRoutes(info: UiInfo): Route[] {
  const fixed = { role: info.role, version: info.version, startedAt: new Date().toISOString(), config: redactConfig(info.config) }
  const vendor = uplotDir()
  const files = express.static(STATIC_DIR, { index: false, fallthrough: true, maxAge: 0 })
  return [
    { method: 'get', path: '/', handler: (_req, res) => res.sendFile(join(STATIC_DIR, 'index.html')) },
    { method: 'get', path: '/ui/info.json', handler: (_req, res) => void res.json({ ...fixed, endpoints: info.endpoints() }) },
    // Only the two files the page loads: nothing else of node_modules is reachable.
    ...['uPlot.esm.js', 'uPlot.min.css'].map((file): Route => ({ method: 'get', path: `/ui/vendor/${file}`, handler: (_req, res, next) => (vendor ? res.sendFile(join(vendor, file), { maxAge: '1h' }) : next()) })),
    { method: 'get', path: '/ui/{*file}', handler: (req, res, next) => {
      req.url = req.path.slice('/ui'.length)
      files(req, res, next)
    } },
  ]
}
