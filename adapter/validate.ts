/**
 * Series validation: what Prometheus's own appender and Mimir's distributor refuse, with
 * limits from the config. Invalid series or samples are dropped and reported; the valid
 * rest of the request is still stored (the handler answers 400 naming the rejects).
 */
import type { ValidationLimits } from '../config/config.js'
import type { Fingerprinter } from '../proto/fingerprint.js'
import { compareUtf8 } from '../proto/fingerprint.js'
import type { SeriesRef } from '../proto/series-ref.js'
import type { DecodedSeries, Label, Sample } from '../proto/types.js'
import type { AcceptedSeries } from './sink.js'

export type RejectReason =
  | 'missing_metric_name'
  | 'invalid_metric_name'
  | 'invalid_label_name'
  | 'duplicate_label_names'
  | 'max_label_names_per_series'
  | 'label_name_too_long'
  | 'label_value_too_long'
  | 'too_far_in_future'
  | 'too_old'
  | 'native_histogram'

export interface Rejection {
  /** Index of the series in the request. */
  seriesIndex: number
  reason: RejectReason
  message: string
  /** Samples (float or histogram) this rejection dropped. */
  samples: number
}

export interface ValidationResult {
  accepted: AcceptedSeries[]
  acceptedSamples: number
  rejections: Rejection[]
  /** True when the accepted series are the request's series unchanged (same order, labels, samples). */
  unchanged: boolean
}

export interface ValidationContext {
  limits: ValidationLimits
  /** Oldest timestamp kept: samples before it would be dropped by the raw TTL at insert. */
  minTimestampMs: number
  nowMs: number
}

const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/
// DateTime64(3) stores 1900-01-01 .. 2299-12-31; Prometheus data never predates 1970.
const MIN_STORABLE_MS = 0

function cut(text: string, max = 64): string {
  return text.length <= max ? text : text.slice(0, max) + '...'
}

export function formatLabels(labels: readonly Label[]): string {
  return cut('{' + labels.map((l) => `${l.name}=${JSON.stringify(cut(l.value, 40))}`).join(', ') + '}', 160)
}

function checkLabels(labels: Label[], limits: ValidationLimits): { reason: RejectReason; message: string } | undefined {
  if (labels.length > limits.maxLabelsPerSeries)
    return { reason: 'max_label_names_per_series', message: `${labels.length} labels, more than the limit of ${limits.maxLabelsPerSeries}` }
  let metricName: string | undefined
  for (let i = 0; i < labels.length; i++) {
    const { name, value } = labels[i]
    if (name.length > limits.maxLabelNameLength)
      return { reason: 'label_name_too_long', message: `label name "${cut(name)}" is ${name.length} characters, over the limit of ${limits.maxLabelNameLength}` }
    if (value.length > limits.maxLabelValueLength)
      return { reason: 'label_value_too_long', message: `label "${cut(name)}" has a value of ${value.length} characters, over the limit of ${limits.maxLabelValueLength}` }
    if (name === '__name__') {
      metricName = value
      if (!METRIC_NAME_RE.test(value)) return { reason: 'invalid_metric_name', message: `invalid metric name "${cut(value)}"` }
    } else if (!LABEL_NAME_RE.test(name)) {
      return { reason: 'invalid_label_name', message: `invalid label name "${cut(name)}"` }
    }
    if (i > 0 && labels[i - 1].name === name) return { reason: 'duplicate_label_names', message: `label "${cut(name)}" repeated` }
  }
  if (metricName === undefined) return { reason: 'missing_metric_name', message: 'no __name__ label' }
  return undefined
}

function isSortedUnique(labels: readonly Label[]): boolean {
  for (let i = 1; i < labels.length; i++) if (compareUtf8(labels[i - 1].name, labels[i].name) >= 0) return false
  return true
}

/**
 * What a label set is worth: accepted (with its id and sorted labels) or rejected. A pure
 * function of the labels and the limits, so the receiver caches it per raw label bytes and
 * judges each series once per process, not once per request.
 */
export type SeriesVerdict = (
  | { ok: true; ref: SeriesRef; normalised: boolean }
  | { ok: false; reason: RejectReason; message: string; normalised: boolean }
) & {
  /** With HA labels configured: the series' cluster and replica, when it carries both. */
  ha?: HaIdentity
}

/** The labels that name an HA pair's cluster and replica (adapter/ha-tracker.ts). */
export interface HaLabels {
  clusterLabel: string
  replicaLabel: string
}

export interface HaIdentity {
  cluster: string
  replica: string
}

export function judgeLabels(sent: Label[], limits: ValidationLimits, fingerprinter: Fingerprinter, haLabels?: HaLabels): SeriesVerdict {
  let labels = sent
  let normalised = false
  let ha: HaIdentity | undefined
  if (haLabels) {
    const replica = labels.find((l) => l.name === haLabels.replicaLabel)?.value
    const cluster = labels.find((l) => l.name === haLabels.clusterLabel)?.value
    if (replica && cluster) {
      // Both replicas' series must be one series: the replica label is never stored.
      labels = labels.filter((l) => l.name !== haLabels.replicaLabel)
      normalised = true
      ha = { cluster, replica }
    }
  }
  const verdict = judgeNormalised(labels, normalised, limits, fingerprinter)
  if (ha) verdict.ha = ha
  return verdict
}

function judgeNormalised(labels: Label[], normalised: boolean, limits: ValidationLimits, fingerprinter: Fingerprinter): SeriesVerdict {
  // Prometheus treats a label with an empty value as absent; drop it so ids agree.
  if (labels.some((l) => l.value === '')) {
    labels = labels.filter((l) => l.value !== '')
    normalised = true
  }
  if (!isSortedUnique(labels)) {
    labels = [...labels].sort((a, b) => compareUtf8(a.name, b.name))
    normalised = true
  }
  const problem = checkLabels(labels, limits)
  if (problem) return { ok: false, reason: problem.reason, message: `${formatLabels(labels)}: ${problem.message}`, normalised }
  const metricName = labels.find((l) => l.name === '__name__')!.value
  return { ok: true, ref: { id: fingerprinter.fingerprint(labels), metricName, labels }, normalised }
}

export interface JudgedSeries {
  verdict: SeriesVerdict
  samples: Sample[]
  histogramCount: number
}

/** The uncached path: judge every series of a decoded request. */
export function judgeAll(series: readonly DecodedSeries[], limits: ValidationLimits, fingerprinter: Fingerprinter, haLabels?: HaLabels): JudgedSeries[] {
  return series.map((s) => ({ verdict: judgeLabels(s.labels, limits, fingerprinter, haLabels), samples: s.samples, histogramCount: s.histogramCount }))
}

export function validateSeries(series: readonly JudgedSeries[], ctx: ValidationContext): ValidationResult {
  const accepted: AcceptedSeries[] = []
  const rejections: Rejection[] = []
  let acceptedSamples = 0
  let unchanged = true
  const maxTs = ctx.nowMs + ctx.limits.creationGracePeriodMs
  const minTs = Math.max(ctx.minTimestampMs, MIN_STORABLE_MS)
  for (let i = 0; i < series.length; i++) {
    const s = series[i]
    const verdict = s.verdict
    if (s.histogramCount > 0) {
      rejections.push({ seriesIndex: i, reason: 'native_histogram', message: `${s.histogramCount} native histogram samples are not supported yet`, samples: s.histogramCount })
      unchanged = false
    }
    if (s.samples.length === 0) {
      unchanged = false
      continue
    }
    if (verdict.normalised) unchanged = false
    if (!verdict.ok) {
      rejections.push({ seriesIndex: i, reason: verdict.reason, message: verdict.message, samples: s.samples.length })
      unchanged = false
      continue
    }
    let samples: Sample[] = s.samples
    let future = 0
    let old = 0
    for (const sample of samples) {
      if (sample.timestampMs > maxTs) future++
      else if (sample.timestampMs < minTs) old++
    }
    if (future > 0 || old > 0) {
      samples = samples.filter((x) => x.timestampMs <= maxTs && x.timestampMs >= minTs)
      unchanged = false
      const name = formatLabels(verdict.ref.labels)
      if (future > 0)
        rejections.push({ seriesIndex: i, reason: 'too_far_in_future', message: `${name}: ${future} samples more than ${ctx.limits.creationGracePeriodMs / 1000}s in the future`, samples: future })
      if (old > 0) rejections.push({ seriesIndex: i, reason: 'too_old', message: `${name}: ${old} samples older than the raw retention`, samples: old })
      if (samples.length === 0) continue
    }
    accepted.push({ ref: verdict.ref, samples })
    acceptedSamples += samples.length
  }
  return { accepted, acceptedSamples, rejections, unchanged }
}
