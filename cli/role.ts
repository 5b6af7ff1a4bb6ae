/**
 * The boot every long-running role shares: a registry with the default process metrics, the
 * HTTP server listening first (so /-/healthy answers during a long migrate or WAL replay and a
 * liveness probe does not kill the process), /-/ready 503 until the role is ready, and one
 * shutdown that closes the HTTP server, then every part in the reverse order of its start.
 * A role is a `start` function that opens its parts, registers how to stop each, and returns
 * its routes and readiness:
 *
 *   export const adapter = role('adapter', async ({ config, registry, onShutdown }) => {
 *     const sink = ...; onShutdown(() => sink.close())
 *     return { routes: [remoteWriteRoute(...)], log: { brokers: config.kafka.brokers } }
 *   })
 */
import { Registry, collectDefaultMetrics } from 'prom-client'
import type { Config } from '../config/config.js'
import { startHttpServer, type Route, type RunningHttpServer } from '../http/server.js'
import type { Logger } from '../observability/logger.js'
import { uiRoutes } from '../ui/routes.js'
import { StartupError } from './startup-error.js'
import { VERSION } from './version.js'

export interface RoleContext {
  config: Config
  logger: Logger
  registry: Registry
  /** Runs at shutdown (and when the start fails), after the HTTP server closed; last registered first. */
  onShutdown(step: () => Promise<unknown> | unknown): void
  /** Serves routes before the role is ready (they answer while /-/ready is still 503). */
  mount(routes: Route[]): void
}

export interface RoleReady {
  routes?: Route[]
  /** Checked on every /-/ready once started; ready as soon as start returned when absent. */
  isReady?: () => boolean
  /** Fields of the "is ready" log line. */
  log?: Record<string, unknown>
}

export interface RunningRole {
  address: { host: string; port: number }
  /** Graceful, idempotent: not ready, HTTP closed, then the parts in reverse order. */
  shutdown(): Promise<void>
}

export type RoleStarter = (config: Config, logger: Logger) => Promise<RunningRole>

export function role(name: string, start: (ctx: RoleContext) => Promise<RoleReady>): RoleStarter {
  return async (config, logger) => {
    const registry = new Registry()
    collectDefaultMetrics({ register: registry, prefix: 'metrichouse_' })
    let check: (() => boolean) | undefined
    const http = await listen(config, logger, registry, () => check?.() ?? false)
    const paths = new Set(['/metrics', '/-/healthy', '/-/ready'])
    const mount = (routes: Route[]) => {
      for (const r of routes) paths.add(r.path)
      http.mount(routes)
    }
    // The UI answers from the first moment: its status page shows a role that is still starting.
    mount(uiRoutes({ role: name, version: VERSION, config, endpoints: () => [...paths] }))
    const steps: Array<() => Promise<unknown> | unknown> = []
    let stopping: Promise<void> | undefined
    let started = false
    const shutdown = () =>
      (stopping ??= (async () => {
        check = undefined
        await http.close()
        for (const step of steps.reverse()) await step()
        if (started) logger.info(`metrichouse ${name} stopped`)
      })())
    try {
      const ready = await start({ config, logger, registry, onShutdown: (step) => steps.push(step), mount })
      mount(ready.routes ?? [])
      check = ready.isReady ?? (() => true)
      started = true
      logger.info(`metrichouse ${name} is ready`, { listen: `${http.address.address}:${http.address.port}`, ...ready.log })
    } catch (err) {
      await shutdown().catch((closeErr: unknown) => logger.warn('cleanup after a failed start failed', { err: closeErr }))
      throw err
    }
    return { address: { host: http.address.address, port: http.address.port }, shutdown }
  }
}

async function listen(config: Config, logger: Logger, registry: Registry, isReady: () => boolean): Promise<RunningHttpServer> {
  const { host, port } = config.listen
  try {
    return await startHttpServer({ listen: config.listen, tls: config.tls, auth: config.auth, connections: config.limits, logger, registry, routes: [], isReady })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const where = `${host || '*'}:${port}`
    if (code === 'EADDRINUSE') throw new StartupError(`cannot listen on ${where}: the address is in use by another process (another metrichouse?); stop it or choose another address with --listen`)
    if (code === 'EACCES') throw new StartupError(`cannot listen on ${where}: permission denied (ports below 1024 need privileges); choose another port with --listen`)
    if (code === 'EADDRNOTAVAIL') throw new StartupError(`cannot listen on ${where}: no such address on this machine; fix --listen`)
    throw err
  }
}
