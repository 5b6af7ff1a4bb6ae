/** With tls.cert_file and tls.key_file, serve speaks HTTPS, and remote write works over it. */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import https from 'node:https'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { serve, type RunningServe } from '../../cli/serve.js'
import { loadConfig } from '../../config/load.js'
import { silentLogger } from '../../observability/logger.js'
import { encodeWriteRequestV1 } from '../../proto/encode-v1.js'
import { createSnappyCodec } from '../../proto/snappy.js'

let dir: string
let running: RunningServe
let ca: Buffer

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'mh-tls-'))
  const cert = path.join(dir, 'cert.pem')
  const key = path.join(dir, 'key.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' })
  ca = readFileSync(cert)
  running = await serve(loadConfig({ flags: { 'data-dir': path.join(dir, 'data'), listen: '127.0.0.1:0', 'tls-cert-file': cert, 'tls-key-file': key, 'auth-bearer-token': 'tls-token' } }), silentLogger)
}, 60_000)

afterAll(async () => {
  await running?.shutdown()
  rmSync(dir, { recursive: true, force: true })
})

function request(pathname: string, init: { method?: string; body?: Uint8Array; headers?: Record<string, string> } = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port: running.address.port, path: pathname, method: init.method ?? 'GET', headers: init.headers, ca }, (res) => {
      let text = ''
      res.on('data', (c) => (text += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
    })
    req.on('error', reject)
    req.end(init.body)
  })
}

describe('TLS', () => {
  it('accepts remote write over HTTPS with a bearer token and stores it', async () => {
    const snappy = await createSnappyCodec()
    const body = snappy.compress(encodeWriteRequestV1([{ labels: [{ name: '__name__', value: 'tls_up' }], samples: [{ timestampMs: Date.now(), value: 1 }] }]))
    const headers = { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', Authorization: 'Bearer tls-token' }
    expect((await request('/api/v1/write', { method: 'POST', body, headers })).status).toBe(204)
    const deadline = Date.now() + 10_000
    let count = ''
    while (Date.now() < deadline && count !== '1') {
      count = (await request(`/clickhouse/?query=${encodeURIComponent("SELECT count() FROM samples WHERE metric_name = 'tls_up'")}`, { headers: { Authorization: 'Bearer tls-token' } })).text.trim()
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(count).toBe('1')
  })

  it('refuses plain HTTP on the TLS port', async () => {
    await expect(fetch(`http://127.0.0.1:${running.address.port}/-/healthy`, { signal: AbortSignal.timeout(5000) })).rejects.toThrow()
  })
})
