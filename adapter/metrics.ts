/** Self-metrics of the remote-write receiver (registry injected, never the global one). */
import { Counter, Histogram, type Registry } from 'prom-client'

export class ReceiverMetrics {
  readonly requests: Counter<'protocol' | 'code'>
  readonly receivedBytes: Counter<'protocol'>
  readonly samplesReceived: Counter<'protocol'>
  readonly samplesAccepted: Counter<'protocol'>
  readonly seriesAccepted: Counter<'protocol'>
  readonly samplesRejected: Counter<'reason'>
  readonly requestsRejected: Counter<'reason'>
  readonly exemplarsDropped: Counter
  readonly duration: Histogram<'protocol'>

  constructor(registry: Registry) {
    const registers = [registry]
    this.requests = new Counter({ name: 'metrichouse_adapter_requests_total', help: 'Remote-write requests by protocol version and status code', labelNames: ['protocol', 'code'], registers })
    this.receivedBytes = new Counter({ name: 'metrichouse_adapter_received_bytes_total', help: 'Compressed request bytes received', labelNames: ['protocol'], registers })
    this.samplesReceived = new Counter({ name: 'metrichouse_adapter_samples_received_total', help: 'Float samples decoded from requests', labelNames: ['protocol'], registers })
    this.samplesAccepted = new Counter({ name: 'metrichouse_adapter_samples_accepted_total', help: 'Samples made durable (written to the sink)', labelNames: ['protocol'], registers })
    this.seriesAccepted = new Counter({ name: 'metrichouse_adapter_series_accepted_total', help: 'Series entries made durable (one per series per request)', labelNames: ['protocol'], registers })
    this.samplesRejected = new Counter({ name: 'metrichouse_adapter_samples_rejected_total', help: 'Samples refused by validation, by reason', labelNames: ['reason'], registers })
    this.requestsRejected = new Counter({
      name: 'metrichouse_adapter_requests_rejected_total',
      help: 'Whole requests refused before any sample was stored, by reason',
      labelNames: ['reason'],
      registers,
    })
    this.exemplarsDropped = new Counter({ name: 'metrichouse_adapter_exemplars_dropped_total', help: 'Exemplars received and not stored (not supported yet)', registers })
    this.duration = new Histogram({
      name: 'metrichouse_adapter_request_duration_seconds',
      help: 'Remote-write request time, decode to durable',
      labelNames: ['protocol'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    })
  }
}
