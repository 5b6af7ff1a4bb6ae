/** Self-metrics of stream aggregation (docs/aggregation.md). */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

export class AggregationMetrics {
  readonly aggregated: Counter
  readonly dropped: Counter<'reason'>
  readonly outputs: Counter
  readonly stateBytes: Gauge
  readonly stateResets: Counter<'reason'>
  readonly stateSaveDuration: Histogram

  constructor(registry: Registry) {
    const registers = [registry]
    this.aggregated = new Counter({ name: 'metrichouse_aggregation_samples_aggregated_total', help: 'Input samples taken into an aggregation (once per matching rule)', registers })
    this.dropped = new Counter({
      name: 'metrichouse_aggregation_samples_dropped_total',
      help: 'Matched samples left out of aggregation: late (their interval had closed), duplicate or out_of_order (not newer than the series\' last sample)',
      labelNames: ['reason'],
      registers,
    })
    this.outputs = new Counter({ name: 'metrichouse_aggregation_output_samples_total', help: 'Aggregated samples written (one per output series per closed interval)', registers })
    this.stateBytes = new Gauge({ name: 'metrichouse_aggregation_state_bytes', help: 'Size of the last aggregation state saved (serialised, before compression)', registers })
    this.stateResets = new Counter({
      name: 'metrichouse_aggregation_state_resets_total',
      help: 'Streams whose aggregation started from an empty state although earlier state existed (rules_changed, missing)',
      labelNames: ['reason'],
      registers,
    })
    this.stateSaveDuration = new Histogram({
      name: 'metrichouse_aggregation_state_save_duration_seconds',
      help: 'Time to serialise and save a stream\'s aggregation state after a batch',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    })
  }
}
