/**
 * The HTTP edge: one express app on one port for every role's routes, with auth, the
 * error-to-status mapping, health and readiness, and /metrics. Routes come in as
 * handlers; this file knows no component.
 */
import { readFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import express, { type RequestHandler } from 'express'
import type { Registry } from 'prom-client'
import type { AuthConfig } from '../config/config.js'
import type { Logger } from '../observability/logger.js'
import { requireAuth } from './auth.js'
import { DEFAULT_CONNECTION_LIMITS, guardConnections, type ConnectionLimits } from './connection-guard.js'
import { errorMiddleware } from './error-middleware.js'

export interface Route {
  method: 'get' | 'post' | 'all'
  path: string
  handler: RequestHandler
}

export interface HttpServerOptions {
  listen: { host: string; port: number }
  tls?: { certFile: string; keyFile: string }
  auth: AuthConfig
  logger: Logger
  registry: Registry
  /** Served from the start; more can be mounted later (RunningHttpServer.mount). */
  routes: Route[]
  /** Connection cap and read timeouts (default: DEFAULT_CONNECTION_LIMITS). */
  connections?: ConnectionLimits
  /** /-/ready answers 200 only while this returns true. */
  isReady: () => boolean
}

export interface RunningHttpServer {
  address: AddressInfo
  /** Adds routes to a running server: a role listens (health) before it has migrated and replayed. */
  mount(routes: Route[]): void
  close(): Promise<void>
}

export function createApp(opts: Omit<HttpServerOptions, 'listen' | 'tls'>): express.Express & { mount(routes: Route[]): void } {
  const app = express()
  app.disable('x-powered-by')
  app.set('query parser', 'simple')
  // Health checks stay open: load balancers and orchestrators carry no credentials.
  app.get('/-/healthy', (_req, res) => {
    res.type('text/plain').send('metrichouse is healthy.\n')
  })
  app.get('/-/ready', (_req, res) => {
    if (opts.isReady()) res.type('text/plain').send('metrichouse is ready.\n')
    else res.status(503).type('text/plain').send('metrichouse is starting.\n')
  })
  app.use(requireAuth(opts.auth))
  app.get('/metrics', async (_req, res, next) => {
    try {
      res.type(opts.registry.contentType).send(await opts.registry.metrics())
    } catch (err) {
      next(err)
    }
  })
  // A router mounted once: routes added to it later are served in place, before the 404.
  const roleRoutes = express.Router()
  const mount = (routes: Route[]) => {
    for (const r of routes) roleRoutes[r.method](r.path, r.handler)
  }
  mount(opts.routes)
  app.use(roleRoutes)
  app.use((req, res) => {
    if (!opts.isReady()) {
      res.status(503).set('Retry-After', '5').type('text/plain').send('metrichouse is starting.\n')
      return
    }
    res.status(404).type('text/plain').send(`no route for ${req.method} ${req.path.slice(0, 100)}\n`)
  })
  app.use(errorMiddleware(opts.logger))
  return Object.assign(app, { mount })
}

export async function startHttpServer(opts: HttpServerOptions): Promise<RunningHttpServer> {
  const app = createApp(opts)
  const limits = opts.connections ?? DEFAULT_CONNECTION_LIMITS
  // headersTimeout is checked this often (Node's default is every 30 s).
  const serverOptions = { connectionsCheckingInterval: 1000 }
  const server = opts.tls
    ? https.createServer({ ...serverOptions, cert: readFileSync(opts.tls.certFile), key: readFileSync(opts.tls.keyFile), handshakeTimeout: limits.firstRequestTimeoutMs }, app)
    : http.createServer(serverOptions, app)
  // Bounded time for a slow or stalled client to send its headers and body.
  server.headersTimeout = 30_000
  server.requestTimeout = 120_000
  server.keepAliveTimeout = 65_000
  guardConnections(server, limits, opts.registry)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.listen.port, opts.listen.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return {
    address: server.address() as AddressInfo,
    mount: app.mount,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeIdleConnections()
        setTimeout(() => server.closeAllConnections(), 5_000).unref()
      }),
  }
}
