/** The promqltest runner's default storage: a MemoryQuerier behind the TestStorage calls. */
import type { Querier } from '../api.js'
import { MemoryQuerier } from '../memory-querier.js'
import type { TestStorage } from './runner.js'

export function memoryStorage(): TestStorage {
  const q = new MemoryQuerier()
  return {
    async load(series) {
      for (const s of series) q.add(s.labels, s.samples)
    },
    async clear() {
      q.clear()
    },
    querier(): Querier {
      return q
    },
  }
}
