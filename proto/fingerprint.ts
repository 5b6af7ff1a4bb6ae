/**
 * Series fingerprint: xxHash64 (seed 0) over, for each label in name order,
 * name bytes, 0xff, value bytes, 0xff.
 *
 * That is Prometheus's labels.StableHash (model/labels/sharding*.go), which upstream
 * promises never to change, and labels.Hash in its slicelabels and dedupelabels builds.
 * Note: labels.Hash in Prometheus's default (stringlabels) build hashes its internal
 * length-prefixed encoding instead, so it differs from this; StableHash is the one to
 * match (checked against prometheus/prometheus d15adb9 on 2026-11-26).
 *
 * Shape, and why: it runs once per series per request. Labels are written into one
 * reusable scratch buffer (ASCII char by char, TextEncoder only for non-ASCII) and
 * hashed with one h64Raw call into xxhash-wasm; no per-call allocation but the bigint.
 * Measured 2026-11-26: h64Raw on 250 bytes 232 ns, a whole 10-label series 1.1 us
 * (0.9 us of it copying characters), i.e. ~1.6M series/s: the next thing to speed up.
 */
import xxhash from 'xxhash-wasm'
import type { Label } from './types.js'

type H64Raw = (input: Uint8Array, seed?: bigint) => bigint

/**
 * Orders two strings as Go does (bytewise UTF-8), which differs from JavaScript's
 * UTF-16 order only when a surrogate pair meets a code unit in U+E000..U+FFFF.
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i)
    let y = b.charCodeAt(i)
    if (x === y) continue
    // Lift surrogates above the rest of the BMP so they sort as their code points do.
    if (x >= 0xd800 && y >= 0xd800) {
      if (x <= 0xdfff) x += 0x10000
      if (y <= 0xdfff) y += 0x10000
    }
    return x - y
  }
  return a.length - b.length
}

function isSorted(labels: readonly Label[]): boolean {
  for (let i = 1; i < labels.length; i++) {
    if (compareUtf8(labels[i - 1].name, labels[i].name) > 0) return false
  }
  return true
}

export class Fingerprinter {
  private scratch = new Uint8Array(1024)
  private readonly utf8 = new TextEncoder()

  private constructor(private readonly h64Raw: H64Raw) {}

  static async create(): Promise<Fingerprinter> {
    const api = await xxhash()
    return new Fingerprinter(api.h64Raw)
  }

  /** The series' 64-bit fingerprint, as an unsigned bigint. Labels need not be sorted. */
  fingerprint(labels: readonly Label[]): bigint {
    const sorted = isSorted(labels) ? labels : [...labels].sort((x, y) => compareUtf8(x.name, y.name))
    let pos = 0
    for (let i = 0; i < sorted.length; i++) {
      pos = this.put(sorted[i].name, pos)
      this.scratch[pos++] = 0xff
      pos = this.put(sorted[i].value, pos)
      this.scratch[pos++] = 0xff
    }
    return this.h64Raw(this.scratch.subarray(0, pos), 0n)
  }

  /** xxHash64 of raw bytes: the identity of a request body, for recognising retries. */
  hashBytes(data: Uint8Array): bigint {
    return this.h64Raw(data, 0n)
  }

  /** Writes s as UTF-8 at pos, leaving room for one separator; returns the new end. */
  private put(s: string, pos: number): number {
    const n = s.length
    if (pos + n * 3 + 1 > this.scratch.length) {
      const next = new Uint8Array(Math.max(this.scratch.length * 2, pos + n * 3 + 1))
      next.set(this.scratch.subarray(0, pos))
      this.scratch = next
    }
    const buf = this.scratch
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i)
      if (c >= 0x80) return pos + this.utf8.encodeInto(s, buf.subarray(pos)).written
      buf[pos + i] = c
    }
    return pos + n
  }
}
