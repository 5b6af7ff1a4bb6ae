/**
 * Authentication at the HTTP edge of a real `serve` with both a bearer token and basic
 * credentials configured (one server: chDB allows one data directory per process): every
 * endpoint but the health checks needs one of them, and only a right one lets a write in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from './server.js'
import { encodeRw1 } from './wire.js'

const TOKEN = 's3cret-token'
const USER = 'prometheus'
const PASSWORD = 'p4ss:word'
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

let server: TestServer
let nextTimestamp = Date.now() - 5 * 60_000
/** Samples written with accepted credentials: exactly what the store must hold. */
let authorisedSamples = 0

type Endpoint = 'write' | 'sql' | 'metrics' | 'ui'

/** Sends one request to `endpoint` with this Authorization header (or none). */
async function call(endpoint: Endpoint, authorization: string | undefined): Promise<Response> {
  const headers: Record<string, string> = authorization === undefined ? {} : { Authorization: authorization }
  switch (endpoint) {
    case 'write': {
      const body = server.snappy.compress(
        encodeRw1([{ labels: [['__name__', 'auth_metric']], samples: [{ timestampMs: nextTimestamp++, value: 1 }] }]),
      )
      return fetch(server.writeUrl, {
        method: 'POST',
        body: Buffer.from(body),
        headers: { ...headers, 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' },
      })
    }
    case 'sql':
      return fetch(`${server.url}/clickhouse/?query=${encodeURIComponent('SELECT 1')}`, { headers })
    case 'metrics':
      return fetch(`${server.url}/metrics`, { headers })
    case 'ui':
      return fetch(`${server.url}/ui/info.json`, { headers })
  }
}

const REFUSED: { credential: string; authorization: string | undefined }[] = [
  { credential: 'no credentials', authorization: undefined },
  { credential: 'a wrong bearer token', authorization: `Bearer ${TOKEN}x` },
  { credential: 'an empty bearer token', authorization: 'Bearer ' },
  { credential: 'a bearer token of a no-break space', authorization: 'Bearer \u00a0' },
  { credential: 'basic with the user and an empty password', authorization: basic(USER, '') },
  { credential: 'the token under the wrong scheme', authorization: `Token ${TOKEN}` },
  { credential: 'the token with no scheme', authorization: TOKEN },
  { credential: 'a wrong basic password', authorization: basic(USER, 'p4ss') },
  { credential: 'a wrong basic user', authorization: basic('admin', PASSWORD) },
  { credential: 'basic credentials that are not base64 user:password', authorization: 'Basic %%%' },
  { credential: 'the bearer token sent as a basic password', authorization: basic(USER, TOKEN) },
]

const ACCEPTED: { credential: string; authorization: string }[] = [
  { credential: 'the bearer token', authorization: `Bearer ${TOKEN}` },
  { credential: 'the bearer token, scheme in lower case', authorization: `bearer ${TOKEN}` },
  { credential: 'basic user and password', authorization: basic(USER, PASSWORD) },
]

const ENDPOINTS: { endpoint: Endpoint; ok: number }[] = [
  { endpoint: 'write', ok: 204 },
  { endpoint: 'sql', ok: 200 },
  { endpoint: 'metrics', ok: 200 },
  { endpoint: 'ui', ok: 200 },
]

describe('authentication', () => {
  beforeAll(async () => {
    server = await startTestServer({
      'auth-bearer-token': TOKEN,
      'auth-basic-username': USER,
      'auth-basic-password': PASSWORD,
    })
  })

  afterAll(async () => {
    await server?.stop()
  })

  const refusals = REFUSED.flatMap((r) => ENDPOINTS.map((e) => ({ ...r, ...e })))
  it.each(refusals)('answers 401 with WWW-Authenticate to $credential on $endpoint', async ({ endpoint, authorization }) => {
    const response = await call(endpoint, authorization)
    const text = await response.text()
    expect(response.status).toBe(401)
    expect(text).toContain('missing or invalid credentials')
    const challenge = response.headers.get('www-authenticate') ?? ''
    expect(challenge).toContain('Bearer realm="metrichouse"')
    expect(challenge).toContain('Basic realm="metrichouse"')
  })

  const acceptances = ACCEPTED.flatMap((a) => ENDPOINTS.map((e) => ({ ...a, ...e })))
  it.each(acceptances)('answers $ok to $credential on $endpoint', async ({ endpoint, authorization, ok }) => {
    const response = await call(endpoint, authorization)
    const text = await response.text()
    expect({ status: response.status, text: text.slice(0, 200) }).toMatchObject({ status: ok })
    if (endpoint === 'write') authorisedSamples++
    if (endpoint === 'sql') expect(text).toBe('1\n')
    if (endpoint === 'metrics') expect(text).toContain('metrichouse_adapter_requests_total')
    // The UI shows the configuration, never its secrets.
    if (endpoint === 'ui') expect(text).toContain('<redacted>')
    if (endpoint === 'ui') for (const secret of [TOKEN, PASSWORD]) expect(text).not.toContain(secret)
  })

  it.each(['/-/healthy', '/-/ready'])('answers 200 on %s without credentials', async (path) => {
    const response = await fetch(`${server.url}${path}`)
    await response.text()
    expect(response.status).toBe(200)
  })

  it('stores the samples of the authorised writes and nothing of the refused ones', async () => {
    server.headers = { Authorization: `Bearer ${TOKEN}` }
    expect(authorisedSamples).toBe(ACCEPTED.length)
    expect(await server.waitForNumber(`SELECT count() FROM samples WHERE metric_name = 'auth_metric'`, authorisedSamples)).toBe(authorisedSamples)
    // Refused writes went first; anything they had let in would be in the WAL before these.
    await new Promise((r) => setTimeout(r, 500))
    expect(await server.sqlNumber(`SELECT count() FROM samples WHERE metric_name = 'auth_metric'`)).toBe(authorisedSamples)
  })
})
