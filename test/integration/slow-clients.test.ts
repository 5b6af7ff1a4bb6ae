/**
 * Slow and idle clients at a real `serve`: a body that trickles in holds neither a write
 * slot nor its connection past the body deadline (408, connection closed); connections
 * that send nothing are closed; connections over the cap are refused at once. Legitimate
 * writes keep getting 204 throughout, and the server's own metrics count what it refused.
 */
import http from 'node:http'
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RW1_CONTENT_TYPE, isHealthy, metricValues, startTestServer, type TestServer } from './server.js'
import { encodeRw1 } from './wire.js'

const MAX_CONCURRENT_WRITES = 4
const SLOW_WRITERS = 3 * MAX_CONCURRENT_WRITES
const MAX_CONNECTIONS = 40

let server: TestServer
let timestamp = Date.now() - 20 * 60_000

function body(): Uint8Array {
  return server.snappy.compress(encodeRw1([{ labels: [['__name__', 'slow_client_metric']], samples: [{ timestampMs: timestamp++, value: 1 }] }]))
}

interface SlowWriter {
  /** Resolves with the status the server answered, or 0 when it closed the connection without one. */
  answer: Promise<number>
  socketClosed: Promise<void>
  abort(): void
}

/** A write that sends the first byte of its body and then nothing. */
function slowWriter(): SlowWriter {
  const payload = body()
  const req = http.request(server.writeUrl, {
    method: 'POST',
    agent: false,
    headers: { 'Content-Type': RW1_CONTENT_TYPE, 'Content-Encoding': 'snappy', 'Content-Length': String(payload.length) },
  })
  const answer = new Promise<number>((resolve) => {
    req.on('response', (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', () => resolve(0))
  })
  const socketClosed = new Promise<void>((resolve) => req.on('socket', (s) => s.on('close', () => resolve())))
  req.write(payload.subarray(0, 1))
  return { answer, socketClosed, abort: () => req.destroy() }
}

async function metric(name: string): Promise<Map<string, number>> {
  return metricValues(await (await fetch(`${server.url}/metrics`)).text(), name)
}

describe('slow and idle clients', () => {
  beforeAll(async () => {
    server = await startTestServer({
      'limits-max-concurrent-writes': String(MAX_CONCURRENT_WRITES),
      'limits-body-read-timeout': '3s',
      'limits-first-request-timeout': '1s',
      'limits-max-connections': String(MAX_CONNECTIONS),
    })
  })

  afterAll(async () => {
    await server?.stop()
  })

  it('answers 204 to a write while more slow bodies than write slots are arriving', async () => {
    const slow = Array.from({ length: SLOW_WRITERS }, slowWriter)
    try {
      // Give the server time to have every slow request's head in its handler.
      await new Promise((r) => setTimeout(r, 300))
      for (let i = 0; i < 3; i++) expect((await server.write(body())).status).toBe(204)
    } finally {
      for (const s of slow) s.abort()
    }
  })

  it('answers 408 to a body that does not arrive within the deadline, closes its connection, and counts it', async () => {
    const slow = slowWriter()
    expect(await slow.answer).toBe(408)
    await slow.socketClosed
    expect((await metric('metrichouse_adapter_requests_rejected_total')).get('{reason="body_timeout"}')).toBeGreaterThanOrEqual(1)
    expect((await server.write(body())).status).toBe(204)
  })

  it('closes connections that send no request, refuses those over the cap, and serves again after', async () => {
    const sockets: net.Socket[] = []
    const closed: Promise<void>[] = []
    for (let i = 0; i < MAX_CONNECTIONS + 10; i++) {
      const socket = net.connect(Number(new URL(server.url).port), '127.0.0.1')
      socket.on('error', () => {})
      closed.push(new Promise((resolve) => socket.on('close', () => resolve())))
      sockets.push(socket)
    }
    // Every idle connection is closed: those over the cap at once, the others after 1 s.
    await Promise.all(closed)
    expect((await metric('metrichouse_http_connections_refused_total')).get('')).toBeGreaterThanOrEqual(10)
    expect((await metric('metrichouse_http_idle_connections_closed_total')).get('')).toBeGreaterThanOrEqual(MAX_CONNECTIONS - 5)
    expect(await isHealthy(server.url)).toBe(true)
    expect((await server.write(body())).status).toBe(204)
  })

  it('stores every write it acknowledged', async () => {
    const query = `SELECT count() FROM samples WHERE metric_name = 'slow_client_metric'`
    expect(await server.waitForNumber(query, 5, 20_000)).toBe(5)
  })
})
