/**
 * One recording rule: the query's result, renamed to the rule's name and given the rule's
 * labels, is written back as series at the evaluation time.
 */
import type { InstantSample, OutputSample } from './types.js'
import { labelsKey } from './types.js'

export interface RecordingRuleSpec {
  name: string
  expr: string
  labels: Record<string, string>
}

export class RecordingRule {
  readonly kind = 'recording'
  lastError: string | undefined
  health: 'unknown' | 'ok' | 'err' = 'unknown'
  lastEvaluationMs = 0
  evaluationDurationMs = 0

  constructor(readonly spec: RecordingRuleSpec) {}

  get name(): string {
    return this.spec.name
  }

  /** Throws when the result would hold one series twice, or more series than `limit`. */
  eval(ts: number, samples: readonly InstantSample[], limit = 0): OutputSample[] {
    const out: OutputSample[] = []
    const seen = new Set<string>()
    for (const s of samples) {
      const labels: Record<string, string> = { ...s.labels, ...this.spec.labels, __name__: this.spec.name }
      const key = labelsKey(labels)
      if (seen.has(key)) throw new Error('vector contains metrics with the same labelset after applying rule labels')
      seen.add(key)
      out.push({ labels, timestampMs: ts, value: s.value })
    }
    if (limit > 0 && out.length > limit) throw new Error(`exceeded limit of ${limit} with ${out.length} series`)
    return out
  }
}
