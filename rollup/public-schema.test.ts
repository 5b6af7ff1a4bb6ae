/**
 * The DDL text for deployments this machine cannot run (a cluster, a cold volume); the
 * single-node DDL runs for real in test/integration/rollup-tiers.test.ts.
 */
import { describe, expect, it } from 'vitest'
import { publicSchema, type PublicSchemaOptions } from './public-schema.js'

const schemaStatements = (opts: PublicSchemaOptions): string[] => publicSchema(opts).statements

const DAY = 86_400_000
const single = schemaStatements({ rawRetentionMs: 7 * DAY })
const cluster = schemaStatements({ rawRetentionMs: 7 * DAY, cluster: 'metrics' })
const cold = schemaStatements({ rawRetentionMs: 7 * DAY, storagePolicy: 'hot_cold', coldVolume: 'cold', coldAfterMs: 2 * DAY })

function statementFor(statements: string[], prefix: string): string {
  const found = statements.find((s) => s.startsWith(prefix))
  if (!found) throw new Error(`no statement starts with ${prefix}`)
  return found
}

describe('schema DDL on a single node', () => {
  it('creates every tier with its retention, dedup window and whole-partition drops', () => {
    const cases: [string, string][] = [
      ['CREATE TABLE IF NOT EXISTS samples\n', 'TTL toDateTime(timestamp) + toIntervalSecond(604800)\n'],
      ['CREATE TABLE IF NOT EXISTS samples_1m\n', 'TTL greatest(timestamp + toIntervalSecond(2592000), toDateTime(computed_at) + toIntervalSecond(86400))\n'],
      ['CREATE TABLE IF NOT EXISTS samples_1h\n', 'TTL timestamp + toIntervalSecond(31536000)\n'],
    ]
    for (const [prefix, ttl] of cases) {
      const s = statementFor(single, prefix)
      expect(s).toContain(ttl)
      expect(s).toContain('non_replicated_deduplication_window = 1000')
      expect(s).toContain('ttl_only_drop_parts = 1')
      expect(s).not.toContain('ON CLUSTER')
    }
  })

  it('gives every table a materialized view writes to a deduplication window', () => {
    for (const target of ['rollup_progress', 'samples_backfill', 'samples_1m', 'samples_1h']) {
      expect(statementFor(single, `CREATE TABLE IF NOT EXISTS ${target}\n`)).toContain('non_replicated_deduplication_window')
    }
  })
})

describe('schema DDL on a cluster', () => {
  it('runs every statement ON CLUSTER', () => {
    for (const s of cluster) expect(s).toMatch(/^(CREATE (TABLE|MATERIALIZED VIEW) IF NOT EXISTS|ALTER TABLE) \w+ ON CLUSTER `metrics`/)
  })

  it('makes each data table Replicated under a _local name, with a Distributed table by series over it', () => {
    const tables: [string, string][] = [
      ['series', "ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/{database}/series_local', '{replica}')"],
      ['samples', "ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/samples_local', '{replica}')"],
      ['samples_1m', "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/samples_1m_local', '{replica}', computed_at)"],
      ['samples_1h', "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/samples_1h_local', '{replica}', computed_at)"],
    ]
    for (const [table, engine] of tables) {
      const local = statementFor(cluster, `CREATE TABLE IF NOT EXISTS ${table}_local ON CLUSTER`)
      expect(local).toContain(`ENGINE = ${engine}`)
      expect(local).toContain('replicated_deduplication_window = 1000')
      expect(statementFor(cluster, `CREATE TABLE IF NOT EXISTS ${table} ON CLUSTER`)).toBe(
        `CREATE TABLE IF NOT EXISTS ${table} ON CLUSTER \`metrics\` AS ${table}_local\nENGINE = Distributed('metrics', currentDatabase(), ${table}_local, series_id)`,
      )
    }
  })

  it('points the views at the local tables, so each shard rolls up its own series', () => {
    const refresh = statementFor(cluster, 'CREATE MATERIALIZED VIEW IF NOT EXISTS samples_1m_refresh')
    expect(refresh).toContain('APPEND TO samples_1m_local')
    expect(refresh).toContain('FROM samples_local')
    expect(refresh).toContain('FROM samples_backfill_local')
    expect(refresh).not.toMatch(/FROM samples\b(?!_)/)
    expect(statementFor(cluster, 'CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_progress_raw_mv')).toContain('TO rollup_progress_local')
  })
})

describe('cold volume', () => {
  it('moves parts of every tier to the cold volume before deleting them', () => {
    const cases: [string, string][] = [
      ['samples', "TTL toDateTime(timestamp) + toIntervalSecond(604800), toDateTime(timestamp) + toIntervalSecond(172800) TO VOLUME 'cold'"],
      ['samples_1m', "TTL greatest(timestamp + toIntervalSecond(2592000), toDateTime(computed_at) + toIntervalSecond(86400)), timestamp + toIntervalSecond(172800) TO VOLUME 'cold'"],
      ['samples_1h', "TTL timestamp + toIntervalSecond(31536000), timestamp + toIntervalSecond(172800) TO VOLUME 'cold'"],
    ]
    for (const [table, ttl] of cases) {
      const s = statementFor(cold, `CREATE TABLE IF NOT EXISTS ${table}\n`)
      expect(s).toContain(ttl)
      expect(s).toContain("storage_policy = 'hot_cold'")
    }
  })

  it('adds no move when the cold age is beyond the retention', () => {
    const s = statementFor(schemaStatements({ rawRetentionMs: 1 * DAY, coldVolume: 'cold', coldAfterMs: 2 * DAY }), 'CREATE TABLE IF NOT EXISTS samples\n')
    expect(s).not.toContain('TO VOLUME')
  })
})
