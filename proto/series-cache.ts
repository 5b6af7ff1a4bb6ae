/**
 * A bounded cache from a TimeSeries' raw label bytes (its encoded Label entries, tag and
 * length included, concatenated as they appear in the message) to a value computed once
 * per series, on a miss, from the decoded labels (e.g. series id + metric name).
 *
 * Shape, and why (measured 2026-11-26, node 20, 2000 node_exporter series of ~200 label
 * bytes each, loaded 2-core box, medians): a JS string costs 60-70 ns and a series has 20,
 * so on the steady path (the same series every scrape) no string is made at all. The key
 * is hashed in JS, 4 bytes per DataView read on two lanes (73-95 ns/series), not with
 * xxhash-wasm's h64Raw (160 ns: it copies the bytes into WASM memory and returns two
 * bigints) nor bytewise FNV (340 ns). A hit is confirmed by comparing every key byte with
 * the stored copy (word loop 104 ns; Buffer.compare on subarrays 450 ns, Buffer#compare on
 * ranges 127 ns), so a hash collision can only cost time, never pick another series' entry.
 * Storage is typed arrays plus one byte arena per generation (no object per key for the
 * GC to trace), open addressing with linear probing at load <= 0.5. Eviction is
 * generational: inserts go to the young generation; when it is full the old one is
 * dropped (cleared and reused) and young becomes old; a hit in old is copied to young.
 * So series seen in the last maxEntries/2 inserts always stay, with no per-hit bookkeeping.
 * Each entry also remembers which entry was looked up after it: remote write repeats the
 * series order scrape after scrape, so lookup() first compares the bytes with that
 * predicted successor and skips hashing and probing when it matches (A/B on the warm
 * 2000-series decode: 0.40 against 0.75 ms CPU per request; a wrong guess costs one
 * failed compare). Memory: ~24 bytes of index per entry, allocated up front (24 MB at
 * the 1M default), plus the key bytes (~200 B per node_exporter series).
 */
import type { Label } from './types.js'

/** Hashes bytes [start, end) of buf (view is a DataView over the same bytes) to 32 bits. */
export type KeyHash = (buf: Uint8Array, view: DataView, start: number, end: number) => number

export interface SeriesCacheOptions {
  /** Most entries kept (two generations of half this each). Default 1M. */
  maxEntries?: number
  /** For tests (e.g. a constant to force collisions); defaults to hashLabelBytes. */
  hash?: KeyHash
}

/** Two-lane multiplicative hash over 4-byte little-endian words, then the murmur3 finaliser. */
export function hashLabelBytes(buf: Uint8Array, view: DataView, start: number, end: number): number {
  let h1 = 0x9747b28c ^ (end - start)
  let h2 = 0x85ebca6b
  let i = start
  for (; i + 8 <= end; i += 8) {
    h1 = Math.imul(h1 ^ view.getInt32(i, true), 0x01000193)
    h2 = Math.imul(h2 ^ view.getInt32(i + 4, true), 0x9e3779b1)
  }
  for (; i < end; i++) h1 = Math.imul(h1 ^ buf[i], 0x01000193)
  let h = h1 ^ Math.imul(h2 ^ (h2 >>> 15), 0x85ebca6b)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return h ^ (h >>> 16)
}

class Generation<T> {
  readonly slots: Int32Array
  readonly mask: number
  readonly hashes: Int32Array
  readonly keyStart: Int32Array
  readonly keyLen: Int32Array
  /** The entry looked up right after this one last time (-1: none): the predicted successor. */
  readonly next: Int32Array
  values: T[] = []
  count = 0
  arena = new Uint8Array(1 << 16)
  arenaView = new DataView(this.arena.buffer)
  arenaUsed = 0

  constructor(readonly capacity: number) {
    let size = 2
    while (size < capacity * 2) size <<= 1
    this.slots = new Int32Array(size)
    this.mask = size - 1
    this.hashes = new Int32Array(capacity)
    this.keyStart = new Int32Array(capacity)
    this.keyLen = new Int32Array(capacity)
    this.next = new Int32Array(capacity).fill(-1)
  }

  /** Whether entry e's key is bytes [start, end) of buf. */
  equals(e: number, buf: Uint8Array, view: DataView, start: number, end: number): boolean {
    const len = end - start
    if (this.keyLen[e] !== len) return false
    const k = this.keyStart[e]
    const av = this.arenaView
    let i = 0
    for (; i + 4 <= len; i += 4) if (view.getInt32(start + i, true) !== av.getInt32(k + i, true)) return false
    const arena = this.arena
    for (; i < len; i++) if (buf[start + i] !== arena[k + i]) return false
    return true
  }

  /** The entry index of key [start, end) of buf, or -1. */
  find(buf: Uint8Array, view: DataView, start: number, end: number, h: number): number {
    for (let s = h & this.mask; ; s = (s + 1) & this.mask) {
      const e = this.slots[s] - 1
      if (e < 0) return -1
      if (this.hashes[e] === h && this.equals(e, buf, view, start, end)) return e
    }
  }

  /** Adds a key known to be absent; the caller has checked count < capacity. */
  add(buf: Uint8Array, start: number, end: number, h: number, value: T): number {
    const len = end - start
    if (this.arenaUsed + len > this.arena.length) {
      let size = this.arena.length * 2
      while (size < this.arenaUsed + len) size *= 2
      const next = new Uint8Array(size)
      next.set(this.arena.subarray(0, this.arenaUsed))
      this.arena = next
      this.arenaView = new DataView(next.buffer)
    }
    this.arena.set(buf.subarray(start, end), this.arenaUsed)
    const e = this.count++
    this.hashes[e] = h
    this.keyStart[e] = this.arenaUsed
    this.keyLen[e] = len
    this.values.push(value)
    this.arenaUsed += len
    let s = h & this.mask
    while (this.slots[s] !== 0) s = (s + 1) & this.mask
    this.slots[s] = e + 1
    return e
  }

  clear(): void {
    this.slots.fill(0)
    this.next.fill(-1)
    this.values = []
    this.count = 0
    this.arenaUsed = 0
  }
}

export class SeriesCache<T extends NonNullable<unknown>> {
  private young: Generation<T>
  private old: Generation<T>
  readonly hash: KeyHash
  /** Misses since construction (each one called compute). */
  misses = 0
  /** The young entry returned last (-1: none), whose successor is predicted next. */
  private last = -1

  /** compute runs once per series on a miss, with the labels in wire order. */
  constructor(
    readonly compute: (labels: Label[]) => T,
    options: SeriesCacheOptions = {},
  ) {
    const max = options.maxEntries ?? 1 << 20
    if (!(max >= 2)) throw new RangeError(`SeriesCache maxEntries must be >= 2, got ${max}`)
    this.young = new Generation<T>(Math.ceil(max / 2))
    this.old = new Generation<T>(Math.ceil(max / 2))
    this.hash = options.hash ?? hashLabelBytes
  }

  /**
   * The value stored for key bytes [start, end) of buf (view: a DataView over buf), or
   * undefined. Series come in the same order scrape after scrape, so the entry that
   * followed the previous one last time is tried first, by comparing bytes: on a
   * steady stream no hash is computed at all.
   */
  lookup(buf: Uint8Array, view: DataView, start: number, end: number): T | undefined {
    const y = this.young
    const last = this.last
    if (last >= 0) {
      const c = y.next[last]
      if (c >= 0 && c < y.count && y.equals(c, buf, view, start, end)) {
        this.last = c
        return y.values[c]
      }
    }
    const h = this.hash(buf, view, start, end)
    const e = y.find(buf, view, start, end, h)
    if (e >= 0) {
      this.follow(e)
      return y.values[e]
    }
    const o = this.old
    const oe = o.find(buf, view, start, end, h)
    if (oe < 0) return undefined
    // Still in use: promote, so the next rotation does not drop it.
    const value = o.values[oe]
    this.put(o.arena, o.keyStart[oe], o.keyStart[oe] + o.keyLen[oe], h, value)
    return value
  }

  /** Stores value for key bytes [start, end) of buf (copied); the key must be absent. */
  insert(buf: Uint8Array, view: DataView, start: number, end: number, value: T): T {
    this.misses++
    this.put(buf, start, end, this.hash(buf, view, start, end), value)
    return value
  }

  get size(): number {
    return this.young.count + this.old.count
  }

  /** Records young entry e as the successor of the last one, and as the last one. */
  private follow(e: number): void {
    if (this.last >= 0) this.young.next[this.last] = e
    this.last = e
  }

  private put(buf: Uint8Array, start: number, end: number, h: number, value: T): void {
    if (this.young.count >= this.young.capacity) {
      const dropped = this.old
      if (buf === dropped.arena) {
        // Promoting from the generation about to be cleared: keep the key bytes first.
        buf = buf.slice(start, end)
        end -= start
        start = 0
      }
      this.old = this.young
      dropped.clear()
      this.young = dropped
      this.last = -1
    }
    this.follow(this.young.add(buf, start, end, h, value))
  }
}
