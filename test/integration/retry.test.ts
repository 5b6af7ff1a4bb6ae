/**
 * A sender retries a request whose answer it never got with the very same bytes; the
 * samples must be stored once. (Prometheus and vmagent resend the same body.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeRw1, encodeRw2 } from './wire.js'
import { RW2_CONTENT_TYPE, startTestServer, type TestServer } from './server.js'

let server: TestServer
const NOW = Date.now() - 60_000

beforeAll(async () => {
  server = await startTestServer()
}, 60_000)
afterAll(async () => {
  await server?.stop()
})

describe('retried requests', () => {
  it('stores a remote-write 1.0 request sent three times (twice at once) once, answering 204 each time', async () => {
    const body = server.snappy.compress(
      encodeRw1(Array.from({ length: 20 }, (_, i) => ({ labels: [['__name__', 'retry_v1'], ['i', String(i)]] as [string, string][], samples: [{ timestampMs: NOW, value: i }] }))),
    )
    expect((await server.write(body)).status).toBe(204)
    const again = await Promise.all([server.write(body), server.write(body)])
    expect(again.map((a) => a.status)).toEqual([204, 204])
    await new Promise((r) => setTimeout(r, 500))
    expect(await server.waitForNumber(`SELECT count() FROM samples WHERE metric_name = 'retry_v1'`, 20)).toBe(20)
  })

  it('stores a remote-write 2.0 request sent twice once, and reports the samples written both times', async () => {
    const body = server.snappy.compress(encodeRw2([{ labels: [['__name__', 'retry_v2']], samples: [{ timestampMs: NOW, value: 1 }, { timestampMs: NOW + 1, value: 2 }] }]))
    const first = await server.write(body, RW2_CONTENT_TYPE)
    const second = await server.write(body, RW2_CONTENT_TYPE)
    expect([first.status, second.status]).toEqual([204, 204])
    expect(second.headers.get('X-Prometheus-Remote-Write-Samples-Written')).toBe('2')
    await new Promise((r) => setTimeout(r, 500))
    expect(await server.waitForNumber(`SELECT count() FROM samples WHERE metric_name = 'retry_v2'`, 2)).toBe(2)
  })

  it('stores two different requests with the same samples once each (only identical bodies are retries)', async () => {
    const a = server.snappy.compress(encodeRw1([{ labels: [['__name__', 'retry_distinct'], ['a', '1']], samples: [{ timestampMs: NOW, value: 1 }] }]))
    const b = server.snappy.compress(encodeRw1([{ labels: [['__name__', 'retry_distinct'], ['a', '2']], samples: [{ timestampMs: NOW, value: 1 }] }]))
    expect((await server.write(a)).status).toBe(204)
    expect((await server.write(b)).status).toBe(204)
    expect(await server.waitForNumber(`SELECT count() FROM samples WHERE metric_name = 'retry_distinct'`, 2)).toBe(2)
  })
})
