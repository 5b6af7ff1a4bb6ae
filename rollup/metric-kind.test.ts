/**
 * Counter detection from metadata, on the embedded engine: the TypeScript rule and the SQL the
 * refresh views run agree name by name, and the 1m tier stores the kind metadata gives.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { MetricMetadata } from '../proto/types.js'
import { openStore, type StoreClients } from '../store/connection.js'
import { ClickHouseMetadataStore } from '../store/metadata-store.js'
import { migrate } from '../store/schema.js'
import { publicSchema } from './public-schema.js'
import type { SeriesKind } from './buckets.js'
import { seriesKind, seriesKindSql } from './metric-kind.js'
import { refreshRollupsNow } from './refresh.js'

const HOUR = 3_600_000
let dir: string
let store: StoreClients
let metadata: ClickHouseMetadataStore

const meta = (metricFamilyName: string, type: MetricMetadata['type']): MetricMetadata => ({ metricFamilyName, type, help: '', unit: '' })

const METADATA: MetricMetadata[] = [
  meta('http_requests_total', 'counter'), // Prometheus text format: the family keeps _total
  meta('jobs', 'counter'), // OpenMetrics: the family drops it
  meta('inflight_requests', 'counter'), // a counter no suffix gives away
  meta('queue_depth_total', 'gauge'), // a gauge named like a counter
  meta('rpc_duration_seconds', 'summary'),
  meta('request_duration_seconds', 'histogram'),
  meta('request_duration_seconds_bucket', 'histogram'), // remote write 2.0 names the series
  meta('batch_size_sum', 'summary'),
  meta('free_slots', 'gaugehistogram'),
  meta('build', 'info'),
]

// [series name, expected kind, why]
const CASES: [string, SeriesKind, string][] = [
  ['http_requests_total', 'counter', 'typed counter, text-format family'],
  ['jobs_total', 'counter', 'typed counter, OpenMetrics family'],
  ['jobs', 'counter', 'the OpenMetrics family itself'],
  ['inflight_requests', 'counter', 'typed counter without a suffix'],
  ['queue_depth_total', 'gauge', 'typed gauge wins over the _total suffix'],
  ['rpc_duration_seconds', 'gauge', 'summary quantiles'],
  ['rpc_duration_seconds_sum', 'counter', 'summary sum'],
  ['rpc_duration_seconds_count', 'counter', 'summary count'],
  ['request_duration_seconds_bucket', 'counter', 'histogram bucket, typed both ways'],
  ['request_duration_seconds_sum', 'counter', 'histogram sum'],
  ['batch_size_sum', 'counter', 'a summary sum typed under its own name'],
  ['free_slots_bucket', 'gauge', 'gauge histogram buckets are gauges'],
  ['free_slots_gsum', 'gauge', 'gauge histogram sum'],
  ['build_info_total', 'counter', 'no family types it: the name decides'],
  ['build', 'gauge', 'info type has no opinion: the name decides'],
  ['node_load1', 'gauge', 'no metadata, no suffix'],
  ['errors_count', 'counter', 'no metadata, counter suffix'],
]

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'mh-metric-kind-'))
  store = await openStore({ dataDir: dir, database: 'default' })
  await migrate(store.readWrite, publicSchema({ rawRetentionMs: 7 * 86_400_000, rollup: { maxHoursPerRefresh: 48 } }))
  metadata = new ClickHouseMetadataStore({ client: store.readWrite, insertRaw: store.insertRaw })
  // A stale reading first: the later write must win.
  await metadata.writeMetadata([meta('queue_depth_total', 'counter')], Date.now() - HOUR)
  await metadata.writeMetadata(METADATA, Date.now())
})

afterAll(async () => {
  await store.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('series kind from metadata', () => {
  it('reads the latest type of each family', async () => {
    const types = await metadata.familyTypes()
    expect(types.get('queue_depth_total')).toBe('gauge')
    expect(types.size).toBe(METADATA.length)
    expect([...(await metadata.familyTypes(['jobs', 'absent']))]).toEqual([['jobs', 'counter']])
  })

  it('gives each series the kind its metadata or name says, in TypeScript and in SQL alike', async () => {
    const types = await metadata.familyTypes()
    const rs = await store.readWrite.query({
      query: `SELECT name, ${seriesKindSql('name')} AS kind FROM (SELECT arrayJoin({names:Array(String)}) AS name)`,
      query_params: { names: CASES.map((c) => c[0]) },
      format: 'JSONEachRow',
    })
    const sql = new Map((await rs.json<{ name: string; kind: SeriesKind }>()).map((r) => [r.name, r.kind]))
    for (const [name, want, why] of CASES) {
      expect(seriesKind(name, types), `TypeScript: ${name} (${why})`).toBe(want)
      expect(sql.get(name), `SQL: ${name} (${why})`).toBe(want)
    }
  })

  it('stores the typed kind in the 1m tier: a gauge named _total keeps its minimum, a suffixless counter its resets', async () => {
    const t0 = Math.floor(Date.now() / HOUR) * HOUR - 2 * HOUR
    const rows: string[] = []
    for (const [name, id] of [
      ['queue_depth_total', 1],
      ['inflight_requests', 2],
    ] as const) {
      // 5, 3, 4: a drop, which is a reset for a counter and a minimum for a gauge
      ;[5, 3, 4].forEach((v, i) => rows.push(`${name}\t${id}\t${t0 + i * 15_000}\t${v}\t0`))
    }
    await store.insertRaw({
      table: 'samples',
      columns: ['metric_name', 'series_id', 'insert_timestamp_ms', 'insert_value', 'insert_nan_bits'],
      settings: {},
      format: 'TabSeparated',
      body: Buffer.from(rows.join('\n') + '\n'),
    })
    await refreshRollupsNow(store.readWrite, 3)
    const rs = await store.readWrite.query({
      query: `SELECT metric_name, toString(kind) AS kind, resets, min_value FROM samples_1m FINAL WHERE metric_name IN ('queue_depth_total', 'inflight_requests') ORDER BY metric_name`,
      format: 'JSONEachRow',
    })
    const got = await rs.json<{ metric_name: string; kind: string; resets: number; min_value: number | string }>()
    expect(got.map((r) => [r.metric_name, r.kind, r.resets])).toEqual([
      ['inflight_requests', 'counter', 1],
      ['queue_depth_total', 'gauge', 0],
    ])
    expect(Number(got[1].min_value)).toBe(3)
  }, 60_000)
})
