/** What the ruler's parts exchange: evaluated samples, written series, alerts to send. */
import type { Labels } from '../promql/api.js'

/** One element of an instant query result (a scalar result becomes one sample without labels). */
export interface InstantSample {
  labels: Labels
  value: number
}

/** Runs a PromQL instant query at `time` (ms) on raw data; rejects on a query error. */
export type InstantQueryFn = (expr: string, time: number, signal?: AbortSignal) => Promise<InstantSample[]>

/** A sample a rule writes back: recording-rule results, ALERTS, ALERTS_FOR_STATE, stale markers. */
export interface OutputSample {
  labels: Labels
  timestampMs: number
  value: number
  stale?: boolean
}

/** Where rule results go so later rules and queries see them (the write path's Sink). */
export interface SampleWriter {
  write(samples: readonly OutputSample[]): Promise<void>
}

/** An alert as Alertmanager's v2 API takes it (POST /api/v2/alerts, one element of the array). */
export interface PostableAlert {
  labels: Record<string, string>
  annotations: Record<string, string>
  startsAt: string
  endsAt: string
  generatorURL: string
}

/** Stable key of a label set. */
export function labelsKey(labels: Labels): string {
  return JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]))
}
