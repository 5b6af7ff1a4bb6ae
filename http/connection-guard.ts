/**
 * Keeps clients from taking the process's file descriptors: a cap on open connections
 * (authenticated or not: the cap acts before a byte is read) below the descriptor limit,
 * with headroom for the WAL and ClickHouse; connections that send no request are closed.
 *
 * Measured before this existed: about 20,000 idle TCP connections took every descriptor;
 * the WAL then failed a segment roll with EMFILE and ClickHouse could not open parts.
 * Node's own headersTimeout does not apply to a connection that never sends a byte
 * (checked on Node 20: such a connection stays open indefinitely), hence the first-request timer.
 */
import { readFileSync } from 'node:fs'
import type { Server } from 'node:http'
import https from 'node:https'
import type { Socket } from 'node:net'
import { Counter, Gauge, type Registry } from 'prom-client'

export interface ConnectionLimits {
  /** Open connections beyond which new ones are closed at once; 0: derived from the descriptor limit. */
  maxConnections: number
  /** A connection that has not sent a complete request head within this is closed. */
  firstRequestTimeoutMs: number
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = { maxConnections: 0, firstRequestTimeoutMs: 10_000 }

/** Descriptors kept free for the WAL, ClickHouse's part files and outgoing connections. */
export function descriptorHeadroom(descriptorLimit: number): number {
  return Math.max(512, Math.floor(descriptorLimit / 4))
}

/** The process's soft limit on open files (Linux); 1024 where it cannot be read. */
export function descriptorLimit(procLimits = '/proc/self/limits'): number {
  try {
    const line = readFileSync(procLimits, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'))
    const soft = line?.split(/\s{2,}/)[1]
    if (soft === 'unlimited') return Number.MAX_SAFE_INTEGER
    const n = Number(soft)
    return Number.isSafeInteger(n) && n > 0 ? n : 1024
  } catch {
    return 1024
  }
}

/** The connection cap: the configured one, never above the descriptor limit minus headroom (at least 16). */
export function connectionCap(configured: number, limit: number): number {
  const ceiling = Math.max(16, limit - descriptorHeadroom(limit))
  return configured > 0 ? Math.min(configured, ceiling) : ceiling
}

export function guardConnections(server: Server, limits: ConnectionLimits, registry: Registry): { cap: number } {
  const cap = connectionCap(limits.maxConnections, descriptorLimit())
  server.maxConnections = cap
  const registers = [registry]
  const open = new Gauge({ name: 'metrichouse_http_connections', help: 'Open client connections.', registers })
  const dropped = new Counter({
    name: 'metrichouse_http_connections_refused_total',
    help: 'Connections closed at once because metrichouse_http_connections was at the cap.',
    registers,
  })
  const idle = new Counter({
    name: 'metrichouse_http_idle_connections_closed_total',
    help: 'Connections closed because they sent no request within the first-request timeout.',
    registers,
  })
  new Gauge({ name: 'metrichouse_http_max_connections', help: 'The connection cap in force.', registers }).set(cap)
  server.on('connection', (socket: Socket) => {
    open.inc()
    socket.once('close', () => open.dec())
  })
  // Over TLS, requests arrive on the TLS socket; the handshake is bounded by handshakeTimeout.
  const tls = server instanceof https.Server
  const waiting = new Map<Socket, NodeJS.Timeout>()
  server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    const timer = setTimeout(() => {
      waiting.delete(socket)
      idle.inc()
      socket.destroy()
    }, limits.firstRequestTimeoutMs)
    timer.unref()
    waiting.set(socket, timer)
    socket.once('close', () => {
      clearTimeout(waiting.get(socket))
      waiting.delete(socket)
    })
  })
  server.on('request', (req: { socket: Socket }) => {
    const timer = waiting.get(req.socket)
    if (timer !== undefined) {
      clearTimeout(timer)
      waiting.delete(req.socket)
    }
  })
  server.on('drop', () => dropped.inc())
  return { cap }
}
