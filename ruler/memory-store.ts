/**
 * An in-memory store for the ruler: a Querier over samples held in memory, and a SampleWriter
 * that adds to them. `rules test` runs promtool-format unit tests on it, and the ruler's own
 * tests use it where ClickHouse is not the subject.
 */
import type { Querier } from '../promql/api.js'
import { overlayQuerier, RecentSamples } from './recent-samples.js'
import type { OutputSample, SampleWriter } from './types.js'

export class MemoryStore {
  private readonly data = new RecentSamples(Number.MAX_SAFE_INTEGER)
  readonly written: OutputSample[] = []
  readonly querier: Querier = overlayQuerier({ select: async () => [] }, this.data)
  readonly writer: SampleWriter = {
    write: async (samples) => {
      this.written.push(...samples)
      this.data.add(samples)
    },
  }

  add(samples: readonly OutputSample[]): void {
    this.data.add(samples)
  }

  /** One series with a sample every `step` ms from `from` to `to`. */
  series(name: string, labels: Record<string, string>, from: number, to: number, value: (t: number) => number, step = 15_000): void {
    const s: OutputSample[] = []
    for (let t = from; t <= to; t += step) s.push({ labels: { __name__: name, ...labels }, timestampMs: t, value: value(t) })
    this.data.add(s)
  }
}
