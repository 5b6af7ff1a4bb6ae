/**
 * Prometheus's labels.Hash (XXH64 of `name 0xff value 0xff ...` in name order), scaled to
 * [0, 1): the stable per-series position limit_ratio samples by.
 */
import xxhash from 'xxhash-wasm'
import type { Labels } from '../api.js'

let hasher: Promise<Awaited<ReturnType<typeof xxhash>>> | undefined
const encoder = new TextEncoder()
// float64(math.MaxUint64) rounds to 2^64 in Go too.
const MAX_UINT64 = 2 ** 64

export async function labelHashOffsets(sets: readonly Labels[]): Promise<number[]> {
  hasher ??= xxhash()
  const { h64Raw } = await hasher
  return sets.map((labels) => {
    let text = ''
    for (const name of Object.keys(labels).sort()) text += `${name}\xff${labels[name]}\xff`
    // 0xff must stay one byte (Go writes the raw separator byte), so encode around it.
    const parts = text.split('\xff').map((p) => encoder.encode(p))
    const len = parts.reduce((n, p) => n + p.length, 0) + parts.length - 1
    const bytes = new Uint8Array(len)
    let o = 0
    parts.forEach((p, i) => {
      bytes.set(p, o)
      o += p.length
      if (i < parts.length - 1) bytes[o++] = 0xff
    })
    return Number(h64Raw(bytes)) / MAX_UINT64
  })
}
