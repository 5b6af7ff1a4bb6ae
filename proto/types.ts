/**
 * The decoded form of a remote-write request, shared by the 1.0 and 2.0 decoders and
 * everything downstream (validation, the Sink, the ingester). Both wire versions are
 * normalised into this shape so that nothing after the decoder knows which one arrived.
 */

export interface Label {
  name: string
  value: string
}

/**
 * One float sample. `value` is the IEEE-754 double as decoded; JavaScript does not
 * promise to keep a NaN's payload, so for every NaN the decoder also keeps the raw
 * 64 bits in `nanBits` (the Prometheus stale marker is 0x7ff0000000000002, its normal
 * NaN 0x7ff8000000000001). Storage writes `nanBits` when present, so markers stay bit-exact.
 */
export interface Sample {
  timestampMs: number
  value: number
  nanBits?: bigint
  /**
   * Remote-write 2.0 only: the sample's start ("created") timestamp in ms, 0 when unset.
   * Newer 2.0 senders put it here (Sample field 3) instead of on the series.
   */
  startTimestampMs?: number
}

export type MetricType =
  | 'unknown'
  | 'counter'
  | 'gauge'
  | 'histogram'
  | 'gaugehistogram'
  | 'summary'
  | 'info'
  | 'stateset'

export interface MetricMetadata {
  metricFamilyName: string
  type: MetricType
  help: string
  unit: string
}

export interface DecodedSeries {
  labels: Label[]
  samples: Sample[]
  /** Native histogram samples in this series (not stored yet: counted and rejected). */
  histogramCount: number
  exemplarCount: number
  /** Remote-write 2.0 only: per-series metadata. */
  metadata?: { type: MetricType; help: string; unit: string }
  /** Remote-write 2.0 only: created timestamp in ms, 0 when unset. */
  createdTimestampMs?: number
}

export interface DecodedWriteRequest {
  version: '1.0' | '2.0'
  series: DecodedSeries[]
  /** Remote-write 1.0 carries metadata apart from the series. */
  metadata: MetricMetadata[]
}
