/**
 * Stream aggregation on the landing path: the BatchStage the BatchLander runs on every
 * batch (ingester/batch-lander.ts), in serve's WAL flusher and in the Kafka ingesters.
 *
 * Exactly once: each stream (the WAL, a Kafka partition) has one StreamAggregator whose
 * state is saved to ClickHouse after every landed batch, keyed by the position after it.
 * A batch is always aggregated from the state saved at its first position, so:
 * - the outputs go into the batch's own insert, under its dedup token: a replayed batch
 *   recomputes the same outputs and ClickHouse drops the repeat with the raw samples;
 * - a failure before the state is saved leaves the saved state as it was; the retry
 *   starts from it again (in memory: from the bytes last saved);
 * - a partition that moved (crash, rebalance) is continued from the state saved at its
 *   committed offset, by whichever ingester owns it now.
 */
import { deserialize, serialize } from 'node:v8'
import type { BatchPosition, BatchStage } from '../ingester/batch-lander.js'
import type { Logger } from '../observability/logger.js'
import type { Label } from '../proto/types.js'
import type { SeriesSamples } from '../store/rowbinary-encoder.js'
import type { AggregationMetrics } from './metrics.js'
import type { AggregationRule } from './rules.js'
import type { AggregationStateStore } from './state-store.js'
import { StreamAggregator, emptyState, rulesKey, type StreamState } from './stream-aggregator.js'

export interface BatchAggregationOptions {
  rules: readonly AggregationRule[]
  /** How long after an interval's end its late samples are still taken (sample time). */
  lagMs: number
  /** Store matched input samples too (vmagent's -streamAggr.keepInput). */
  keepInput: boolean
  /** Drop input samples no rule matched (vmagent's -streamAggr.dropInput). */
  dropInput: boolean
  store: AggregationStateStore
  fingerprint: (labels: readonly Label[]) => bigint
  metrics: AggregationMetrics
  logger: Logger
}

interface StreamEntry {
  aggregator: StreamAggregator
  /** Position the in-memory state is at; undefined while a batch is applied but not landed. */
  position: string | undefined
  /** The state as last saved, and its position: where a failed batch starts again. */
  saved: Buffer
  savedAt: string
}

export class BatchAggregation implements BatchStage {
  private readonly streams = new Map<string, StreamEntry>()
  private readonly key: string

  constructor(private readonly opts: BatchAggregationOptions) {
    this.key = rulesKey(opts.rules, opts.lagMs)
  }

  async prepare(series: readonly SeriesSamples[], position: BatchPosition): Promise<{ series: readonly SeriesSamples[]; landed(): Promise<void> }> {
    const entry = await this.streamAt(position)
    entry.position = undefined
    const result = entry.aggregator.observe(series)
    const { metrics } = this.opts
    metrics.aggregated.inc(result.aggregated)
    if (result.dropped.late) metrics.dropped.inc({ reason: 'late' }, result.dropped.late)
    if (result.dropped.duplicate) metrics.dropped.inc({ reason: 'duplicate' }, result.dropped.duplicate)
    if (result.dropped.outOfOrder) metrics.dropped.inc({ reason: 'out_of_order' }, result.dropped.outOfOrder)
    const out: SeriesSamples[] = []
    for (let i = 0; i < series.length; i++) {
      const keep = result.matched[i] ? this.opts.keepInput : !this.opts.dropInput
      if (keep) out.push(series[i])
    }
    let outputSamples = 0
    for (const o of result.outputs) {
      out.push(o)
      outputSamples += o.samples.length
    }
    return {
      series: out,
      landed: async () => {
        const started = performance.now()
        const bytes = serialize(entry.aggregator.snapshot())
        await this.opts.store.save(position.stream, position.to, bytes)
        entry.saved = bytes
        entry.savedAt = position.to
        entry.position = position.to
        metrics.outputs.inc(outputSamples)
        metrics.stateBytes.set(bytes.length)
        metrics.stateSaveDuration.observe((performance.now() - started) / 1000)
      },
    }
  }

  /** The stream's aggregator with its state at `position.from`. */
  private async streamAt(position: BatchPosition): Promise<StreamEntry> {
    const entry = this.streams.get(position.stream)
    if (entry && entry.position === position.from) return entry
    const saved = entry?.savedAt === position.from ? entry.saved : await this.opts.store.load(position.stream, position.from)
    let state: StreamState | undefined
    if (saved) {
      const restored = deserialize(saved) as StreamState
      if (restored.rulesKey === this.key) state = restored
      else this.reset(position, 'rules_changed')
    } else if (await this.opts.store.has(position.stream)) {
      this.reset(position, 'missing')
    }
    state ??= emptyState(this.opts.rules, this.opts.lagMs)
    const fresh: StreamEntry = {
      aggregator: new StreamAggregator(this.opts.rules, { lagMs: this.opts.lagMs, fingerprint: this.opts.fingerprint }, state),
      position: position.from,
      saved: saved ?? serialize(state),
      savedAt: position.from,
    }
    this.streams.set(position.stream, fresh)
    return fresh
  }

  private reset(position: BatchPosition, reason: 'rules_changed' | 'missing'): void {
    this.opts.metrics.stateResets.inc({ reason })
    this.opts.logger.warn('stream aggregation starts from an empty state', { stream: position.stream, position: position.from, reason })
  }
}
