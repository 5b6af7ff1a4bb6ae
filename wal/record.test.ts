import { describe, expect, it } from 'vitest'
import { RECORD_HEADER_BYTES, checkRecordHeader, encodeRecordHeader, recordCrcMatches } from './record.js'

function frame(payload: Uint8Array): Buffer {
  return Buffer.concat([encodeRecordHeader(payload), payload])
}

describe('record framing', () => {
  const payloads = [new Uint8Array(0), Buffer.from('x'), Buffer.alloc(70_000, 0xab)]
  for (const payload of payloads) {
    it(`round-trips a ${payload.byteLength}-byte payload`, () => {
      const buf = frame(payload)
      const header = checkRecordHeader(buf, 0, buf.length)
      expect(header).toMatchObject({ kind: 'ok', length: payload.byteLength })
      if (header.kind !== 'ok') return
      expect(recordCrcMatches(buf.subarray(0, RECORD_HEADER_BYTES), buf.subarray(RECORD_HEADER_BYTES), header.crc)).toBe(true)
    })
  }

  const good = frame(Buffer.from('hello world'))
  const cases: { name: string; bytes: Buffer; available?: number; kind: string }[] = [
    { name: 'header cut short', bytes: good.subarray(0, 5), kind: 'incomplete' },
    { name: 'payload cut short', bytes: good.subarray(0, good.length - 1), kind: 'incomplete' },
    { name: 'zero-filled space', bytes: Buffer.alloc(32), kind: 'corrupt' },
    { name: 'unknown type', bytes: Buffer.from(good).fill(7, 8, 9), kind: 'corrupt' },
  ]
  for (const c of cases) {
    it(`reports ${c.kind} for ${c.name}`, () => {
      expect(checkRecordHeader(c.bytes, 0, c.available ?? c.bytes.length).kind).toBe(c.kind)
    })
  }

  it('detects a flipped payload bit and a changed length through the CRC', () => {
    for (const at of [4, RECORD_HEADER_BYTES, good.length - 1]) {
      const bad = Buffer.from(good)
      bad[at] ^= at === 4 ? 0 : 1
      if (at === 4) bad.writeUInt32LE(good.readUInt32LE(4) - 1, 4)
      const header = checkRecordHeader(bad, 0, bad.length)
      if (header.kind !== 'ok') continue
      const payload = bad.subarray(RECORD_HEADER_BYTES, RECORD_HEADER_BYTES + header.length)
      expect(recordCrcMatches(bad.subarray(0, RECORD_HEADER_BYTES), payload, header.crc)).toBe(false)
    }
  })
})
