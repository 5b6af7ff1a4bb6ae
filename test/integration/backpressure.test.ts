/**
 * Backpressure at a real `serve`: a write-ahead log at its size limit answers 503 with
 * Retry-After (senders retry) and takes writes again once the flusher has caught up; a
 * request that could never fit in the log is 413 (retrying cannot help); more writes in
 * flight than allowed get 429 with Retry-After. Whatever was answered 204 is stored, once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isHealthy, startTestServer, type HttpAnswer, type TestServer } from './server.js'
import { encodeRw1, type TestSeries } from './wire.js'

const WAL_MAX_BYTES = 2048
// Long enough that the log fills before the flusher's first look after start; the test
// then waits for that look to see the log drain.
const FLUSH_INTERVAL = '4s'

let server: TestServer
let nextTimestamp = Date.now() - 30 * 60_000
/** Samples of every request answered 204: exactly what must end up stored. */
let acknowledged = 0

let noiseState = 0x2545f491
/** Printable text that snappy cannot shrink much (xorshift32), so a body is as big as intended. */
function noise(length: number): string {
  let out = ''
  for (let k = 0; k < length; k++) {
    noiseState ^= noiseState << 13
    noiseState ^= noiseState >>> 17
    noiseState ^= noiseState << 5
    out += String.fromCharCode(33 + ((noiseState >>> 0) % 90))
  }
  return out
}

/** One request of `seriesCount` one-sample series, each with a distinct timestamp. */
function request(seriesCount: number, padding = 0): { body: Uint8Array; samples: number } {
  const series: TestSeries[] = Array.from({ length: seriesCount }, (_, i) => ({
    labels: [
      ['__name__', 'backpressure_metric'],
      ['i', String(i)],
      ['pad', noise(padding)],
    ],
    samples: [{ timestampMs: nextTimestamp++, value: i }],
  }))
  return { body: server.snappy.compress(encodeRw1(series)), samples: seriesCount }
}

async function send(r: { body: Uint8Array; samples: number }): Promise<HttpAnswer> {
  const answer = await server.write(r.body)
  if (answer.status === 204) acknowledged += r.samples
  return answer
}

describe('backpressure', () => {
  beforeAll(async () => {
    server = await startTestServer({
      'wal-max-bytes': String(WAL_MAX_BYTES),
      'flush-interval': FLUSH_INTERVAL,
      'limits-max-concurrent-writes': '1',
    })
  })

  afterAll(async () => {
    await server?.stop()
  })

  it('answers 429 with Retry-After while another write is in flight, and 204 once it is done', async () => {
    // The only slot is held from a complete body until the WAL acknowledged it (an fsync):
    // of a burst of concurrent writes, some find it taken. (A body still arriving holds no
    // slot: test/integration/slow-clients.test.ts.)
    const deadline = Date.now() + 20_000
    let refused: HttpAnswer | undefined
    while (refused === undefined && Date.now() < deadline) {
      const answers = await Promise.all(Array.from({ length: 16 }, () => send(request(1))))
      refused = answers.find((a) => a.status === 429)
      for (const a of answers) expect([204, 429]).toContain(a.status)
    }
    expect(refused?.status).toBe(429)
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(refused!.text).toContain('write requests in flight')
    expect((await send(request(1))).status).toBe(204)
  })

  it('answers 413 to a request larger than the whole WAL, which no retry could ever fit', async () => {
    const big = request(40, 60)
    expect(big.body.length).toBeGreaterThan(WAL_MAX_BYTES)
    const answer = await send(big)
    expect(answer.status).toBe(413)
    expect(answer.text).toContain('can never fit')
    expect(answer.headers.get('retry-after')).toBeNull()
    expect(await isHealthy(server.url)).toBe(true)
  })

  it('answers 503 with Retry-After once the WAL is full, and 204 again after the flusher caught up', async () => {
    const small = () => request(1)
    expect(small().body.length).toBeLessThan(WAL_MAX_BYTES / 10)
    let full: HttpAnswer | undefined
    for (let i = 0; i < 100 && full === undefined; i++) {
      const answer = await send(small())
      if (answer.status !== 204) full = answer
    }
    expect(full).toMatchObject({ status: 503, text: expect.stringContaining('full') })
    expect(Number(full!.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(await isHealthy(server.url)).toBe(true)

    const deadline = Date.now() + 20_000
    let later: HttpAnswer
    do {
      await new Promise((r) => setTimeout(r, 250))
      later = await send(small())
    } while (later.status === 503 && Date.now() < deadline)
    expect(later.status).toBe(204)
  })

  it('stores every acknowledged sample exactly once, and none of the refused', async () => {
    const query = `SELECT count() FROM samples WHERE metric_name = 'backpressure_metric'`
    expect(await server.waitForNumber(query, acknowledged, 20_000)).toBe(acknowledged)
    expect(await server.sqlNumber(`SELECT count() - uniqExact(series_id, timestamp) FROM samples`)).toBe(0)
  })
})
