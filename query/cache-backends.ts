/**
 * Storage for the results cache: an in-process LRU bounded in bytes (the default), or
 * Redis (ioredis), shared by every query replica that points at it. Entries expire after
 * `ttlMs` in both, so a day whose data was rewritten (late samples beyond the freshness
 * window, a backfill) is recomputed eventually.
 */
import type { Redis } from 'ioredis'
import { LRUCache } from 'lru-cache'
import type { CacheBackend } from './results-cache.js'

export class MemoryCacheBackend implements CacheBackend {
  readonly name = 'memory'
  private readonly lru: LRUCache<string, string>

  constructor(opts: { maxBytes: number; ttlMs: number }) {
    this.lru = new LRUCache<string, string>({
      maxSize: opts.maxBytes,
      // JS strings: two bytes a character, plus the key.
      sizeCalculation: (value, key) => 2 * (value.length + key.length) || 1,
      ttl: opts.ttlMs,
    })
  }

  async getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    return keys.map((k) => this.lru.get(k))
  }

  async setMany(entries: readonly { key: string; value: string }[]): Promise<void> {
    for (const e of entries) this.lru.set(e.key, e.value)
  }
}

export class RedisCacheBackend implements CacheBackend {
  readonly name = 'redis'

  constructor(
    private readonly redis: Redis,
    private readonly opts: { ttlMs: number; keyPrefix: string },
  ) {}

  async getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    if (keys.length === 0) return []
    const values = await this.redis.mget(...keys.map((k) => this.opts.keyPrefix + k))
    return values.map((v) => v ?? undefined)
  }

  async setMany(entries: readonly { key: string; value: string }[]): Promise<void> {
    if (entries.length === 0) return
    const batch = this.redis.multi()
    for (const e of entries) batch.set(this.opts.keyPrefix + e.key, e.value, 'PX', this.opts.ttlMs)
    await batch.exec()
  }
}
