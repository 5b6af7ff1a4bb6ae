/**
 * The public schema (docs/schema.md) as `metrichouse migrate` applies it: the store's tables
 * (store/schema.ts) followed by the rollup tiers (rollup/schema.ts). Composed here, the
 * lowest folder that knows both, so that `store/` never imports `rollup/`.
 */
import type { Config } from '../config/config.js'
import { localName } from '../store/ddl.js'
import { storeSchema, type SchemaOptions, type SchemaPlan } from '../store/schema.js'
import { DEFAULT_ROLLUP_TUNING, rollupStatements, tierTtl, viewVersions, type RollupTuning } from './schema.js'

const DAY_MS = 86_400_000

export interface PublicSchemaOptions extends SchemaOptions {
  /** 1-minute rollups; default 30 days. */
  oneMinuteRetentionMs?: number
  /** 1-hour rollups; default 365 days. */
  oneHourRetentionMs?: number
  rollup?: Partial<RollupTuning>
  /** false: raw samples and series only (the benchmark's baseline). Default true. */
  rollups?: boolean
}

/** The schema options the configuration asks for. */
export function schemaOptionsFromConfig(config: Config): PublicSchemaOptions {
  return {
    rawRetentionMs: config.retention.rawMs,
    oneMinuteRetentionMs: config.retention.oneMinuteMs,
    oneHourRetentionMs: config.retention.oneHourMs,
    cluster: config.clickhouse.cluster,
    storagePolicy: config.clickhouse.storagePolicy,
    coldVolume: config.clickhouse.coldVolume,
    coldAfterMs: config.retention.coldAfterMs,
  }
}

export function publicSchema(opts: PublicSchemaOptions): SchemaPlan {
  const plan = storeSchema(opts)
  if (opts.rollups === false) return plan
  const { target } = plan
  const retentions = {
    rawRetentionMs: opts.rawRetentionMs,
    oneMinuteRetentionMs: opts.oneMinuteRetentionMs ?? 30 * DAY_MS,
    oneHourRetentionMs: opts.oneHourRetentionMs ?? 365 * DAY_MS,
  }
  const rollups = rollupStatements(target, retentions, { ...DEFAULT_ROLLUP_TUNING, ...opts.rollup })
  return {
    target,
    statements: [...plan.statements, ...rollups],
    viewVersions: new Map([...plan.viewVersions, ...viewVersions(rollups)]),
    ttls: [
      ...plan.ttls,
      { table: localName(target, 'samples_1m'), ttl: tierTtl(target, '1m', retentions) },
      { table: localName(target, 'samples_1h'), ttl: tierTtl(target, '1h', retentions) },
    ],
  }
}
