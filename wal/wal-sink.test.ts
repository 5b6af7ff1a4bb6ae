import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { AcceptedBatch } from '../adapter/sink.js'
import { silentLogger } from '../observability/logger.js'
import { decodeWriteRequestV1 } from '../proto/decode-v1.js'
import { createSnappyCodec, type SnappyCodec } from '../proto/snappy.js'
import { decodeWalPayload } from './wal-payload.js'
import { WalSink } from './wal-sink.js'
import { WriteAheadLog } from './write-ahead-log.js'

let snappy: SnappyCodec
const dirs: string[] = []

beforeAll(async () => {
  snappy = await createSnappyCodec()
})
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function batch(value: number, requestId?: bigint): AcceptedBatch {
  const labels = [{ name: '__name__', value: 'up' }]
  return { series: [{ ref: { id: 1n, metricName: 'up', labels }, samples: [{ timestampMs: 1000 + value, value, nanBits: undefined }] }], metadata: [], sampleCount: 1, requestId }
}

async function openWal(dir?: string) {
  const d = dir ?? mkdtempSync(path.join(tmpdir(), 'mh-walsink-'))
  if (!dir) dirs.push(d)
  return { dir: d, wal: await WriteAheadLog.open({ dir: d, logger: silentLogger }) }
}

async function records(wal: WriteAheadLog) {
  const read = await wal.read(wal.start(), { maxRecords: 1000, maxBytes: 1 << 24 })
  return read.records.map((r) => decodeWalPayload(r.data))
}

describe('WalSink', () => {
  it('writes one record per request, holding its id and its series', async () => {
    const { wal } = await openWal()
    await new WalSink(wal, snappy).write(batch(7, 42n))
    const [rec] = await records(wal)
    expect(rec.requestId).toBe(42n)
    expect(decodeWriteRequestV1(snappy.uncompress(rec.writeRequestSnappy, 1 << 20)).series[0].samples[0].value).toBe(7)
    await wal.close()
  })

  it('acknowledges a retried request without a second record, also when both arrive at once', async () => {
    const { wal } = await openWal()
    const sink = new WalSink(wal, snappy)
    await sink.write(batch(1, 5n))
    await sink.write(batch(1, 5n))
    await Promise.all([sink.write(batch(2, 6n)), sink.write(batch(2, 6n)), sink.write(batch(2, 6n))])
    await sink.write(batch(3)) // no id: always written
    await sink.write(batch(3))
    expect((await records(wal)).map((r) => r.requestId)).toEqual([5n, 6n, 0n, 0n])
    await wal.close()
  })

  it('recognises, after a restart, a retry of a request already in the log', async () => {
    const first = await openWal()
    await new WalSink(first.wal, snappy).write(batch(1, 99n))
    await first.wal.close()
    const { wal } = await openWal(first.dir)
    const sink = new WalSink(wal, snappy)
    expect(await sink.loadRequestIds()).toBe(1)
    await sink.write(batch(1, 99n))
    expect(await records(wal)).toHaveLength(1)
    await wal.close()
  })

  it('forgets a request whose append failed, so its retry is appended', async () => {
    const { wal } = await openWal()
    const sink = new WalSink(wal, snappy)
    await wal.close()
    await expect(sink.write(batch(1, 7n))).rejects.toThrow()
    await new Promise((r) => setTimeout(r, 0))
    expect(sink.recentRequests.get(7n)).toBeUndefined()
  })
})
