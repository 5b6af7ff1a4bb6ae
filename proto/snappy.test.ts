import { describe, expect, it } from 'vitest'
import { BadRequestError } from '../errors/http-errors.js'
import { createSnappyCodec, snappyUncompressedLength, uncompressSnappyJs, type SnappyCodec } from './snappy.js'

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'))
const LIMIT = 1 << 20

const codecs: [string, () => Promise<SnappyCodec>][] = [
  ['native', () => createSnappyCodec({ prefer: 'native' })],
  ['js', () => createSnappyCodec({ prefer: 'js' })],
]

function sampleInputs(): Uint8Array[] {
  const text = new TextEncoder().encode('node_cpu_seconds_total{cpu="0",mode="idle"} '.repeat(5000))
  let seed = 7
  const random = new Uint8Array(70_000).map(() => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) & 0xff)
  return [new Uint8Array(0), new Uint8Array([42]), new Uint8Array(100_000), text, random]
}

describe.each(codecs)('snappy codec %s', (_name, make) => {
  it('loads the implementation asked for', async () => {
    const codec = await make()
    expect(['native', 'js']).toContain(codec.implementation)
    if (_name === 'js') expect(codec.implementation).toBe('js')
  })

  it('round-trips empty, tiny, repetitive and random data', async () => {
    const codec = await make()
    for (const input of sampleInputs()) {
      const packed = codec.compress(input)
      expect(snappyUncompressedLength(packed)).toBe(input.length)
      expect(Buffer.from(codec.uncompress(packed, LIMIT)).equals(Buffer.from(input))).toBe(true)
      // The two implementations read each other's output.
      expect(Buffer.from(uncompressSnappyJs(packed, LIMIT)).equals(Buffer.from(input))).toBe(true)
    }
  })

  it.each([
    ['a header claiming 4 GB', 'ffffffff0f 00 61'],
    ['a header claiming just over the limit', '81808040 00'],
  ])('rejects %s before allocating', async (_case, bytes) => {
    const codec = await make()
    expect(() => codec.uncompress(hex(bytes), LIMIT)).toThrow(/more than the limit/)
  })

  it.each([
    ['an empty body', ''],
    ['a preamble longer than 32 bits', 'ffffffffff01'],
    ['a truncated preamble', '80'],
    ['a literal past the end of the input', '05 10 61 62'],
    ['output shorter than declared', '05 00 61'],
    ['output longer than declared', '01 04 61 62'],
    ['a copy before the start of the output', '08 00 61 0a 05'],
    ['a copy with offset 0', '08 00 61 0a 00'],
    ['a truncated 2-byte copy', '08 00 61 06 01'],
    ['a truncated 4-byte copy', '08 00 61 07 01 00'],
    ['a truncated long literal length', '40 f0 01'],
  ])('rejects %s as BadRequestError', async (_case, bytes) => {
    const codec = await make()
    expect(() => codec.uncompress(hex(bytes), LIMIT)).toThrow(BadRequestError)
  })

  it('throws only BadRequestError on truncated and corrupted blocks', async () => {
    const codec = await make()
    const packed = codec.compress(sampleInputs()[3]).subarray(0, 600)
    for (let cut = 0; cut < packed.length; cut++) {
      try {
        codec.uncompress(packed.subarray(0, cut), LIMIT)
      } catch (err) {
        expect(err).toBeInstanceOf(BadRequestError)
      }
      const bad = packed.slice()
      bad[cut] ^= 0x5a
      try {
        codec.uncompress(bad, LIMIT)
      } catch (err) {
        expect(err).toBeInstanceOf(BadRequestError)
      }
    }
  })
})
