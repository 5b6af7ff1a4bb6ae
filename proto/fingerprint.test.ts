import { describe, expect, it } from 'vitest'
import { compareUtf8, Fingerprinter } from './fingerprint.js'
import type { Label } from './types.js'

// xxHash64 written from its specification with BigInt: slow, obviously correct, and
// independent of xxhash-wasm.
const M = (1n << 64n) - 1n
const P1 = 0x9e3779b185ebca87n
const P2 = 0xc2b2ae3d27d4eb4fn
const P3 = 0x165667b19e3779f9n
const P4 = 0x85ebca77c2b2ae63n
const P5 = 0x27d4eb2f165667c5n
const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (64n - r))) & M
const round = (acc: bigint, lane: bigint): bigint => (rotl((acc + lane * P2) & M, 31n) * P1) & M
const merge = (acc: bigint, v: bigint): bigint => (((acc ^ round(0n, v)) * P1 + P4) & M)
function u64(b: Uint8Array, i: number): bigint {
  let x = 0n
  for (let k = 7; k >= 0; k--) x = (x << 8n) | BigInt(b[i + k])
  return x
}
function referenceXxh64(b: Uint8Array): bigint {
  let i = 0
  let h: bigint
  if (b.length >= 32) {
    let v1 = (P1 + P2) & M
    let v2 = P2
    let v3 = 0n
    let v4 = (0n - P1) & M
    for (; i + 32 <= b.length; i += 32) {
      v1 = round(v1, u64(b, i))
      v2 = round(v2, u64(b, i + 8))
      v3 = round(v3, u64(b, i + 16))
      v4 = round(v4, u64(b, i + 24))
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & M
    h = merge(merge(merge(merge(h, v1), v2), v3), v4)
  } else {
    h = P5
  }
  h = (h + BigInt(b.length)) & M
  for (; i + 8 <= b.length; i += 8) h = ((rotl(h ^ round(0n, u64(b, i)), 27n) * P1) + P4) & M
  if (i + 4 <= b.length) {
    const w = BigInt(b[i] | (b[i + 1] << 8) | (b[i + 2] << 16)) + (BigInt(b[i + 3]) << 24n)
    h = ((rotl(h ^ ((w * P1) & M), 23n) * P2) + P3) & M
    i += 4
  }
  for (; i < b.length; i++) h = (rotl(h ^ ((BigInt(b[i]) * P5) & M), 11n) * P1) & M
  h ^= h >> 33n
  h = (h * P2) & M
  h ^= h >> 29n
  h = (h * P3) & M
  return h ^ (h >> 32n)
}

/** The byte layout of Prometheus's labels.StableHash, built the slow way. */
function stableHashInput(labels: Label[]): Uint8Array {
  const parts: number[] = []
  for (const l of [...labels].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)))) {
    parts.push(...Buffer.from(l.name, 'utf8'), 0xff, ...Buffer.from(l.value, 'utf8'), 0xff)
  }
  return new Uint8Array(parts)
}

const L = (...pairs: string[]): Label[] => {
  const out: Label[] = []
  for (let i = 0; i < pairs.length; i += 2) out.push({ name: pairs[i], value: pairs[i + 1] })
  return out
}

describe('Fingerprinter', () => {
  // Expected values from ClickHouse: SELECT hex(xxHash64(unhex('<name>ff<value>ff...'))),
  // run through chDB 3.4.0 on 2026-11-26.
  it.each([
    ['no labels', L(), 0xef46db3751d8e999n],
    ['up', L('__name__', 'up'), 0x23d4c2cb13387598n],
    ['up{instance,job}', L('__name__', 'up', 'instance', 'localhost:9090', 'job', 'prometheus'), 0xf28c8afcd224e55fn],
    ['node_cpu, given unsorted', L('mode', 'idle', '__name__', 'node_cpu_seconds_total', 'instance', 'srv-1:9100', 'cpu', '0'), 0x16ee10c3ac5984b8n],
    ['non-ASCII and empty values', L('a', 'ü€😀', 'b', ''), 0xf978d0059689be2en],
    ['values longer than 32 bytes', L('x', 'y'.repeat(40), 'z', 'q'.repeat(300)), 0x3a508bfa32cf1062n],
  ])('matches ClickHouse xxHash64 for %s', async (_name, labels, want) => {
    const fp = await Fingerprinter.create()
    expect(fp.fingerprint(labels)).toBe(want)
    expect(referenceXxh64(stableHashInput(labels))).toBe(want)
  })

  it('matches the BigInt reference on random label sets, reusing one scratch buffer', async () => {
    const fp = await Fingerprinter.create()
    let seed = 99
    const rand = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n
    const alphabet = ['a', 'b', '_', '9', 'é', '日', '😀', '\uffff', ':']
    const str = (): string => Array.from({ length: rand(rand(10) === 0 ? 2000 : 12) }, () => alphabet[rand(alphabet.length)]).join('')
    for (let n = 0; n < 300; n++) {
      const labels = Array.from({ length: rand(12) }, () => ({ name: str(), value: str() }))
      expect(fp.fingerprint(labels)).toBe(referenceXxh64(stableHashInput(labels)))
    }
  })

  it('does not depend on label order or on earlier calls', async () => {
    const fp = await Fingerprinter.create()
    const a = L('__name__', 'x', 'job', 'j', 'zone', 'z')
    const first = fp.fingerprint(a)
    fp.fingerprint(L('long', 'v'.repeat(5000)))
    expect(fp.fingerprint([a[2], a[0], a[1]])).toBe(first)
    expect(fp.fingerprint(L('__name__', 'x', 'job', 'j', 'zone', 'y'))).not.toBe(first)
  })

  it.each([
    ['a', 'b', -1],
    ['b', 'a', 1],
    ['a', 'ab', -1],
    ['same', 'same', 0],
    // U+FFFF is 0xEF 0xBF 0xBF in UTF-8, U+1F600 is 0xF0...: Go puts the emoji after,
    // although its UTF-16 surrogate (0xD83D) is below 0xFFFF.
    ['\uffff', '😀', -1],
    ['😀', '\ue000', 1],
  ])('orders %j before/after %j as Go does', (a, b, sign) => {
    expect(Math.sign(compareUtf8(a, b))).toBe(sign)
    expect(Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)))).toBe(sign)
  })
})
