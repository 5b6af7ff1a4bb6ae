/** The receivers (remote write, text import) as `serve` and `adapter` mount them: only the Sink differs. */
import { Redis } from 'ioredis'
import type { Registry } from 'prom-client'
import type { Logger } from '../observability/logger.js'
import { ReceiverMetrics } from '../adapter/metrics.js'
import { remoteWriteHandler } from '../adapter/remote-write-handler.js'
import { textImportHandler } from '../adapter/text-import-handler.js'
import { HaTracker, MemoryElectionStore, RedisElectionStore } from '../adapter/ha-tracker.js'
import type { MetadataSink } from '../adapter/metadata-recorder.js'
import type { Sink } from '../adapter/sink.js'
import type { Config } from '../config/config.js'
import { InFlightBudget } from '../http/in-flight-budget.js'
import type { Route } from '../http/server.js'
import type { Fingerprinter } from '../proto/fingerprint.js'
import type { SnappyCodec } from '../proto/snappy.js'

export function receiverRoutes(config: Config, registry: Registry, parts: { sink: Sink; snappy: SnappyCodec; fingerprinter: Fingerprinter; metadata?: MetadataSink; ha?: HaTracker }): Route[] {
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
    {
      method: 'post',
      path: '/api/v1/write',
      handler: remoteWriteHandler({
        ...common,
        snappy: parts.snappy,
        ha: parts.ha && { tracker: parts.ha, labels: { clusterLabel: config.haTracker.clusterLabel, replicaLabel: config.haTracker.replicaLabel } },
      }),
    },
    { method: 'post', path: '/api/v1/import/prometheus', handler: textImportHandler(common) },
  ]
}

/**
 * The HA tracker `ha_tracker.*` asks for, or undefined when it is off. Elections in Redis when
 * `ha_tracker.redis_url` is set (shared by every adapter, kept across restarts), else in memory.
 */
export function haTrackerFromConfig(config: Config, registry: Registry, logger: Logger): { tracker: HaTracker; close(): Promise<void> } | undefined {
  const ha = config.haTracker
  if (!ha.enabled) return undefined
  const redis = ha.redisUrl ? new Redis(ha.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false }) : undefined
  redis?.on('error', (err: Error) => logger.warn('HA tracker: Redis error', { err: err.message }))
  const store = redis ? new RedisElectionStore(redis) : new MemoryElectionStore()
  return {
    tracker: new HaTracker({ store, failoverTimeoutMs: ha.failoverTimeoutMs, registry }),
    close: async () => {
      redis?.disconnect()
    },
  }
}
