/**
 * Wires a ruler from the configuration and the parts its host provides (`serve`: the WAL
 * sink and the embedded ClickHouse querier; the `ruler` role: Kafka and a ClickHouse server):
 * rule manager, notifier, optional alert-event topic, HTTP routes, SIGHUP reload.
 */
import type { Registry } from 'prom-client'
import type { Sink } from '../adapter/sink.js'
import type { RulerConfig } from '../config/config.js'
import type { Route } from '../http/server.js'
import type { Logger } from '../observability/logger.js'
import type { PromQLEngine, Querier } from '../promql/api.js'
import type { Fingerprinter } from '../proto/fingerprint.js'
import type { AlertEventSink } from './group.js'
import { rulerRoutes } from './http-api.js'
import { RuleManager } from './manager.js'
import { RulerMetrics } from './metrics.js'
import { Notifier } from './notifier.js'
import { SinkSampleWriter } from './sink-writer.js'

/** The rule files could not be loaded at start: the host refuses to start. */
export class RuleFilesError extends Error {
  override readonly name = 'RuleFilesError'
  constructor(readonly detail: string) {
    super(`the rule files have errors, not starting: ${detail}`)
  }
}

export interface RunningRuler {
  manager: RuleManager
  routes: Route[]
  stop(): Promise<void>
}

export interface StartRulerOptions {
  config: RulerConfig
  engine: PromQLEngine
  querier: Querier
  sink: Sink
  fingerprinter: Fingerprinter
  registry: Registry
  logger: Logger
  events?: AlertEventSink
  /** Reload on SIGHUP (the process owner decides; tests say no). */
  handleSighup?: boolean
}

export async function startRuler(opts: StartRulerOptions): Promise<RunningRuler> {
  const { config, logger } = opts
  const metrics = new RulerMetrics(opts.registry)
  const notifier =
    config.alertmanagerUrls.length > 0
      ? new Notifier({
          alertmanagers: config.alertmanagerUrls,
          externalLabels: config.externalLabels,
          timeoutMs: config.notificationTimeoutMs,
          queueCapacity: config.notificationQueueCapacity,
          metrics,
          logger,
        })
      : undefined
  const manager = new RuleManager({
    ruleFiles: config.ruleFiles,
    engine: opts.engine,
    querier: opts.querier,
    writer: new SinkSampleWriter(opts.sink, opts.fingerprinter),
    notifier,
    events: opts.events,
    metrics,
    logger,
    evaluationIntervalMs: config.evaluationIntervalMs,
    resendDelayMs: config.resendDelayMs,
    outageToleranceMs: config.outageToleranceMs,
    externalLabels: config.externalLabels,
    externalURL: config.externalUrl,
    shard: config.shard,
  })
  // Prometheus refuses to start on a broken rule file; so does the ruler (a reload later keeps
  // the last good rules instead, ruler/manager.ts).
  const first = await manager.reload()
  if (!first.ok) {
    await notifier?.stop()
    throw new RuleFilesError(first.error ?? 'unknown error')
  }
  manager.start()
  const gauges = setInterval(() => manager.updateAlertGauge(), 5_000)
  gauges.unref()
  const onHup = () => {
    logger.info('SIGHUP: reloading rule files')
    void manager.reload()
  }
  if (opts.handleSighup) process.on('SIGHUP', onHup)
  logger.info('ruler started', { files: config.ruleFiles, alertmanagers: config.alertmanagerUrls, shard: config.shard })
  return {
    manager,
    routes: rulerRoutes(manager),
    stop: async () => {
      clearInterval(gauges)
      if (opts.handleSighup) process.off('SIGHUP', onHup)
      await manager.stop()
      await notifier?.stop()
    },
  }
}
