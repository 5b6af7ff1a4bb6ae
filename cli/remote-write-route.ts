/** The remote-write endpoint as `serve` and `adapter` mount it: only the Sink differs. */
import type { Registry } from 'prom-client'
import { ReceiverMetrics } from '../adapter/metrics.js'
import { remoteWriteHandler } from '../adapter/remote-write-handler.js'
import type { MetadataSink } from '../adapter/metadata-recorder.js'
import type { Sink } from '../adapter/sink.js'
import type { Config } from '../config/config.js'
import { InFlightBudget } from '../http/in-flight-budget.js'
import type { Route } from '../http/server.js'
import type { Fingerprinter } from '../proto/fingerprint.js'
import type { SnappyCodec } from '../proto/snappy.js'

export function remoteWriteRoute(config: Config, registry: Registry, parts: { sink: Sink; snappy: SnappyCodec; fingerprinter: Fingerprinter; metadata?: MetadataSink }): Route {
  return {
    method: 'post',
    path: '/api/v1/write',
    handler: remoteWriteHandler({
      ...parts,
      metrics: new ReceiverMetrics(registry),
      limits: config.limits,
      budget: InFlightBudget.withMetrics(config.limits.maxInFlightBytes, registry),
      rawRetentionMs: config.retention.rawMs,
    }),
  }
}
