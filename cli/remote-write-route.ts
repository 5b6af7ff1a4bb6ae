/** The receivers (remote write, text import) as `serve` and `adapter` mount them: only the Sink differs. */
import type { Registry } from 'prom-client'
import { ReceiverMetrics } from '../adapter/metrics.js'
import { remoteWriteHandler } from '../adapter/remote-write-handler.js'
import { textImportHandler } from '../adapter/text-import-handler.js'
import type { MetadataSink } from '../adapter/metadata-recorder.js'
import type { Sink } from '../adapter/sink.js'
import type { Config } from '../config/config.js'
import { InFlightBudget } from '../http/in-flight-budget.js'
import type { Route } from '../http/server.js'
import type { Fingerprinter } from '../proto/fingerprint.js'
import type { SnappyCodec } from '../proto/snappy.js'

export function receiverRoutes(config: Config, registry: Registry, parts: { sink: Sink; snappy: SnappyCodec; fingerprinter: Fingerprinter; metadata?: MetadataSink }): Route[] {
  const common = {
    sink: parts.sink,
    fingerprinter: parts.fingerprinter,
    metadata: parts.metadata,
    metrics: new ReceiverMetrics(registry),
    limits: config.limits,
    // One budget for every receiver: it bounds the process, not an endpoint.
    budget: InFlightBudget.withMetrics(config.limits.maxInFlightBytes, registry),
    rawRetentionMs: config.retention.rawMs,
  }
  return [
    { method: 'post', path: '/api/v1/write', handler: remoteWriteHandler({ ...common, snappy: parts.snappy }) },
    { method: 'post', path: '/api/v1/import/prometheus', handler: textImportHandler(common) },
  ]
}
