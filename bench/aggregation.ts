/**
 * Stream aggregation (docs/aggregation.md), embedded store, in process:
 *   A. ingester CPU: decode + land scrapes of a pools x 100 servers x 8 metrics layout, with and
 *      without a realistic rule set (counters: increase and rate_sum without instance; gauges:
 *      avg and max without instance; matched inputs dropped, vmagent's default); samples per
 *      CPU second (process CPU: JavaScript and the embedded ClickHouse alike);
 *   B. a `sum without (instance)` dashboard over 1000 pools x 100 servers (one gauge, 30 s
 *      scrapes), raw against its pre-aggregated series: stored rows and bytes, query time;
 *   C. Kafka partition balance when each aggregation group keeps to one partition.
 * Run alone: BENCH_ONLY=aggregation npm run bench, or node --import tsx bench/aggregation.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Registry } from 'prom-client'
import { BatchAggregation } from '../aggregation/batch-aggregation.js'
import { AggregationMetrics } from '../aggregation/metrics.js'
import { AggregationPartitionKey } from '../aggregation/partition-key.js'
import { parseAggregationRules } from '../aggregation/rules.js'
import { ClickHouseAggregationStateStore } from '../aggregation/state-store.js'
import { BatchLander } from '../ingester/batch-lander.js'
import { RecordDecoder } from '../ingester/record-decoder.js'
import { SeriesRegistry } from '../ingester/series-registry.js'
import { partitionOf } from '../kafka/partitioner.js'
import { silentLogger } from '../observability/logger.js'
import { createEngine } from '../promql/engine.js'
import { encodeWriteRequestV1, type SeriesToEncode } from '../proto/encode-v1.js'
import { Fingerprinter } from '../proto/fingerprint.js'
import { createSnappyCodec } from '../proto/snappy.js'
import type { Label } from '../proto/types.js'
import { ClickHouseQuerier } from '../query/clickhouse-querier.js'
import { publicSchema } from '../rollup/public-schema.js'
import { openStore, type StoreClients } from '../store/connection.js'
import type { SeriesSamples } from '../store/rowbinary-encoder.js'
import { ClickHouseSampleStore } from '../store/sample-store.js'
import { migrate } from '../store/schema.js'
import { prng } from '../test/prng.js'

export interface AggregationBenchResult {
  ingest: { series: number; samples: number; raw: { samplesPerCpuSecond: number; rowsStored: number }; aggregated: { samplesPerCpuSecond: number; rowsStored: number; stateBytes: number } }
  dashboard: {
    series: number
    scrapes: number
    raw: { rows: number; bytes: number; p50Ms: number }
    aggregated: { rows: number; bytes: number; p50Ms: number }
    sameAnswer: boolean
  }
  partitions: { partitions: number; groups: number; maxOverMean: number; maxOverMeanBySeries: number }
}

const INGEST_RULES = `
- match: '{__name__=~"bench_requests_total|bench_errors_total|bench_bytes_total|bench_cpu_seconds_total"}'
  interval: 1m
  without: [instance]
  outputs: [increase, rate_sum]
- match: '{__name__=~"bench_load|bench_memory_bytes|bench_queue_depth|bench_disk_free_bytes"}'
  interval: 1m
  without: [instance]
  outputs: [avg, max]
`
const COUNTERS = ['bench_requests_total', 'bench_errors_total', 'bench_bytes_total', 'bench_cpu_seconds_total']
const GAUGES = ['bench_load', 'bench_memory_bytes', 'bench_queue_depth', 'bench_disk_free_bytes']

function labels(name: string, pool: number, server: number): Label[] {
  return [
    { name: '__name__', value: name },
    { name: 'instance', value: `pool${pool}-srv${server}:9100` },
    { name: 'job', value: 'node' },
    { name: 'pool', value: `pool${pool}` },
  ]
}

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since)
  return (d.user + d.system) / 1e6
}

async function bytesOf(store: StoreClients, table: string, where: string): Promise<{ rows: number; bytes: number }> {
  await store.readWrite.command({ query: `DROP TABLE IF EXISTS ${table}` })
  await store.readWrite.command({ query: `CREATE TABLE ${table} AS samples` })
  await store.readWrite.command({ query: `INSERT INTO ${table} SELECT metric_name, series_id, timestamp, value FROM samples WHERE ${where}` })
  await store.readWrite.command({ query: `OPTIMIZE TABLE ${table} FINAL` })
  const rs = await store.readWrite.query({ query: `SELECT sum(rows) AS rows, sum(data_compressed_bytes) AS bytes FROM system.parts WHERE active AND table = {t:String} AND database = currentDatabase()`, query_params: { t: table }, format: 'JSONEachRow' })
  const [row] = await rs.json<{ rows: string; bytes: string }>()
  return { rows: Number(row.rows), bytes: Number(row.bytes) }
}

export async function benchAggregation(opts: { pools?: number; scrapes?: number; log?: (line: string) => void } = {}): Promise<AggregationBenchResult> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`))
  const pools = opts.pools ?? 20
  const scrapes = opts.scrapes ?? 12
  const dir = await mkdtemp(join(tmpdir(), 'metrichouse-bench-aggregation-'))
  const store = await openStore({ dataDir: dir, database: 'default' })
  const fingerprinter = await Fingerprinter.create()
  const snappy = await createSnappyCodec()
  const fingerprint = (l: readonly Label[]) => fingerprinter.fingerprint(l)
  try {
    await migrate(store.readWrite, publicSchema({ rawRetentionMs: 7 * 86_400_000, rollups: false }))
    const stateStore = new ClickHouseAggregationStateStore(store.readWrite, store.insertRaw)
    await stateStore.migrate()
    const sampleStore = new ClickHouseSampleStore(store.insertRaw)

    // A. Scrapes as the Kafka ingester gets them: one snappy WriteRequest per scrape.
    const rand = prng(7)
    const t0 = Math.floor((Date.now() - 2 * 3_600_000) / 60_000) * 60_000
    const counters = new Map<string, number>()
    const messages: Uint8Array[] = []
    for (let k = 0; k < scrapes; k++) {
      const series: SeriesToEncode[] = []
      for (let p = 0; p < pools; p++) {
        for (let s = 0; s < 100; s++) {
          for (const name of COUNTERS) {
            const key = `${name}/${p}/${s}`
            const v = (counters.get(key) ?? 0) + Math.floor(rand() * 100)
            counters.set(key, v)
            series.push({ labels: labels(name, p, s), samples: [{ timestampMs: t0 + k * 15_000 + 1000, value: v }] })
          }
          for (const name of GAUGES) series.push({ labels: labels(name, p, s), samples: [{ timestampMs: t0 + k * 15_000 + 1000, value: rand() * 1000 }] })
        }
      }
      messages.push(snappy.compress(encodeWriteRequestV1(series)))
    }
    const inputSamples = pools * 100 * 8 * scrapes
    const rules = parseAggregationRules(INGEST_RULES, 'bench')
    const ingest = async (variant: string, stage: BatchAggregation | undefined) => {
      const lander = new BatchLander(sampleStore, new SeriesRegistry(), stage)
      const decoder = new RecordDecoder(snappy, fingerprinter)
      const before = await store.readWrite.query({ query: 'SELECT count() AS n FROM samples', format: 'JSONEachRow' }).then((r) => r.json<{ n: string }>())
      const cpu = process.cpuUsage()
      for (let k = 0; k < messages.length; k++) {
        const batch = decoder.decode(messages[k])
        await lander.land(batch, `bench-${variant}:${k}`, { stream: `bench-${variant}`, from: String(k), to: String(k + 1) })
      }
      const seconds = cpuSeconds(cpu)
      const after = await store.readWrite.query({ query: 'SELECT count() AS n FROM samples', format: 'JSONEachRow' }).then((r) => r.json<{ n: string }>())
      return { samplesPerCpuSecond: inputSamples / seconds, rowsStored: Number(after[0].n) - Number(before[0].n) }
    }
    const registry = new Registry()
    const metrics = new AggregationMetrics(registry)
    const stage = new BatchAggregation({ rules, lagMs: 30_000, keepInput: false, dropInput: false, store: stateStore, fingerprint, metrics, logger: silentLogger })
    log(`aggregation: ${pools * 100 * 8} series x ${scrapes} scrapes = ${inputSamples} samples, decode + land, without and with rules`)
    const raw = await ingest('raw', undefined)
    const aggregated = await ingest('agg', stage)
    const stateBytes = (await registry.getSingleMetricAsString('metrichouse_aggregation_state_bytes')).match(/ (\d+)$/m)?.[1]
    log(`aggregation: raw ${Math.round(raw.samplesPerCpuSecond)} samples/CPU s, aggregated ${Math.round(aggregated.samplesPerCpuSecond)} samples/CPU s`)

    // B. 1000 pools x 100 servers, one gauge, 30 s scrapes, raw kept beside the aggregate.
    const dashPools = 1000
    const dashScrapes = 10
    const dashT0 = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000
    const dashRules = parseAggregationRules(`- { match: 'bench_pool_load', interval: 30s, without: [instance], outputs: [sum_samples] }`, 'bench')
    const dashStage = new BatchAggregation({ rules: dashRules, lagMs: 0, keepInput: true, dropInput: false, store: stateStore, fingerprint, metrics, logger: silentLogger })
    const dashLander = new BatchLander(sampleStore, new SeriesRegistry(), dashStage)
    const base: { id: bigint; labels: Label[] }[] = []
    for (let p = 0; p < dashPools; p++) for (let s = 0; s < 100; s++) {
      const l = labels('bench_pool_load', p, s)
      base.push({ id: fingerprint(l), labels: l })
    }
    // One more scrape than shown: its samples close the last shown interval.
    for (let k = 1; k <= dashScrapes + 1; k++) {
      const batch: SeriesSamples[] = base.map((b) => ({ ref: { id: b.id, metricName: 'bench_pool_load', labels: b.labels }, samples: [{ timestampMs: dashT0 + k * 30_000 - 5000, value: Math.floor(rand() * 100) }] }))
      await dashLander.land(batch, `bench-dash:${k}`, { stream: 'bench-dash', from: String(k), to: String(k + 1) })
    }
    const rawVolume = await bytesOf(store, 'bench_volume_raw', `metric_name = 'bench_pool_load' AND timestamp <= fromUnixTimestamp64Milli(${dashT0 + dashScrapes * 30_000})`)
    const aggVolume = await bytesOf(store, 'bench_volume_agg', `metric_name = 'bench_pool_load:30s_without_instance_sum_samples'`)
    const engine = createEngine()
    const querier = new ClickHouseQuerier(store.readOnly, {})
    const time = async (query: string, n: number) => {
      const runs: number[] = []
      let answer = ''
      for (let i = 0; i < n; i++) {
        const started = performance.now()
        const r = await engine.rangeQuery(querier, query, dashT0 + 30_000, dashT0 + dashScrapes * 30_000, 30_000)
        runs.push(performance.now() - started)
        answer = JSON.stringify(r.value, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<number>) : v))
      }
      runs.sort((a, b) => a - b)
      return { p50Ms: runs[Math.floor(runs.length / 2)], answer }
    }
    // Few runs of the raw query: each reads 100k series (about 30 s on the shared box).
    const rawQuery = await time('sum without (instance) (bench_pool_load)', 3)
    const aggQuery = await time('sum without (instance) (bench_pool_load:30s_without_instance_sum_samples)', 7)
    log(`aggregation: dashboard raw ${rawVolume.rows} rows ${rawVolume.bytes} B p50 ${rawQuery.p50Ms.toFixed(0)} ms; aggregated ${aggVolume.rows} rows ${aggVolume.bytes} B p50 ${aggQuery.p50Ms.toFixed(0)} ms`)

    // C. Partition balance: the full layout's 100 metrics share the key shape, so one metric shows it.
    const partitions = 64
    const keyer = new AggregationPartitionKey(dashRules, fingerprint)
    const perPartition = new Array<number>(partitions).fill(0)
    const perPartitionBySeries = new Array<number>(partitions).fill(0)
    for (const b of base) {
      perPartition[partitionOf(keyer.keyOf(b), partitions)]++
      perPartitionBySeries[partitionOf(b.id, partitions)]++
    }
    const mean = base.length / partitions
    return {
      ingest: { series: pools * 100 * 8, samples: inputSamples, raw, aggregated: { ...aggregated, stateBytes: Number(stateBytes ?? 0) } },
      dashboard: {
        series: base.length,
        scrapes: dashScrapes,
        raw: { ...rawVolume, p50Ms: rawQuery.p50Ms },
        aggregated: { ...aggVolume, p50Ms: aggQuery.p50Ms },
        sameAnswer: rawQuery.answer === aggQuery.answer,
      },
      partitions: { partitions, groups: dashPools, maxOverMean: Math.max(...perPartition) / mean, maxOverMeanBySeries: Math.max(...perPartitionBySeries) / mean },
    }
  } finally {
    await store.close()
    await rm(dir, { recursive: true, force: true })
  }
}

export function formatAggregationBench(r: AggregationBenchResult): string {
  const n = (x: number) => Math.round(x).toLocaleString('en-US')
  return [
    `Ingester (decode + land), ${n(r.ingest.series)} series x ${n(r.ingest.samples / r.ingest.series)} scrapes:`,
    '| | samples per CPU second | rows stored | state saved per batch |',
    '|---|---|---|---|',
    `| no rules | ${n(r.ingest.raw.samplesPerCpuSecond)} | ${n(r.ingest.raw.rowsStored)} | - |`,
    `| 2 rules (8 metrics, without instance) | ${n(r.ingest.aggregated.samplesPerCpuSecond)} | ${n(r.ingest.aggregated.rowsStored)} | ${n(r.ingest.aggregated.stateBytes)} B |`,
    '',
    `Dashboard \`sum without (instance)\`, ${n(r.dashboard.series)} series (1000 pools x 100 servers), ${r.dashboard.scrapes} scrapes at 30 s:`,
    '| | rows | compressed bytes | query p50 ms |',
    '|---|---|---|---|',
    `| raw | ${n(r.dashboard.raw.rows)} | ${n(r.dashboard.raw.bytes)} | ${r.dashboard.raw.p50Ms.toFixed(0)} |`,
    `| pre-aggregated | ${n(r.dashboard.aggregated.rows)} | ${n(r.dashboard.aggregated.bytes)} | ${r.dashboard.aggregated.p50Ms.toFixed(0)} |`,
    `Same answer: ${r.dashboard.sameAnswer}.`,
    '',
    `Kafka partitions (${r.partitions.partitions}), ${n(r.partitions.groups)} groups: largest partition / mean = ${r.partitions.maxOverMean.toFixed(2)} keyed by group, ${r.partitions.maxOverMeanBySeries.toFixed(2)} keyed by series.`,
  ].join('\n')
}

if (resolve(fileURLToPath(import.meta.url)) === resolve(process.argv[1] ?? '')) {
  const r = await benchAggregation({ log: (line) => console.log(line) })
  console.log(formatAggregationBench(r))
}
