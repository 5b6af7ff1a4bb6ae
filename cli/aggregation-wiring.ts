/**
 * Stream aggregation from the configuration, for the roles that land batches (serve, ingester):
 * the rules are loaded and checked here, so a rule file metrichouse cannot honour stops the
 * process at start-up with the rule and field named.
 */
import type { Registry } from 'prom-client'
import { BatchAggregation } from '../aggregation/batch-aggregation.js'
import { AggregationMetrics } from '../aggregation/metrics.js'
import { AggregationPartitionKey } from '../aggregation/partition-key.js'
import { loadAggregationRules } from '../aggregation/rules.js'
import { ClickHouseAggregationStateStore } from '../aggregation/state-store.js'
import type { Config } from '../config/config.js'
import type { Logger } from '../observability/logger.js'
import type { Fingerprinter } from '../proto/fingerprint.js'
import type { StoreClients } from '../store/connection.js'

export async function aggregationFromConfig(
  config: Config['aggregation'],
  store: StoreClients,
  fingerprinter: Fingerprinter,
  registry: Registry,
  logger: Logger,
): Promise<BatchAggregation | undefined> {
  if (!config.rulesFile) return undefined
  const rules = await loadAggregationRules(config.rulesFile)
  const stateStore = new ClickHouseAggregationStateStore(store.readWrite, store.insertRaw)
  await stateStore.migrate()
  logger.info('stream aggregation enabled', { rulesFile: config.rulesFile, rules: rules.length, lagMs: config.lagMs, keepInput: config.keepInput, dropInput: config.dropInput })
  return new BatchAggregation({
    rules,
    lagMs: config.lagMs,
    keepInput: config.keepInput,
    dropInput: config.dropInput,
    store: stateStore,
    fingerprint: (labels) => fingerprinter.fingerprint(labels),
    metrics: new AggregationMetrics(registry),
    logger,
  })
}

/** The adapter's partition key when aggregation rules are set: each group on one partition. */
export async function aggregationPartitionKey(config: Config['aggregation'], fingerprinter: Fingerprinter): Promise<AggregationPartitionKey | undefined> {
  if (!config.rulesFile) return undefined
  return new AggregationPartitionKey(await loadAggregationRules(config.rulesFile), (labels) => fingerprinter.fingerprint(labels))
}
