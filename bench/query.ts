/**
 * Query latency (bench/README.md, "query"):
 *
 * A. 1000 series x 1 h (test/fleet.ts at 15 s), remote-written to `metrichouse serve` and to
 *    Debian's Prometheus 2.42; the dashboard's queries (examples/grafana) as Grafana sends
 *    them (POST query_range, 1 h, step 15 s), p50/p99 on both, metrichouse with its results
 *    cache cold (each run's text differs by a PromQL comment, so no key repeats) and warm.
 * B. 1000 series x 30 d (10-minute samples) in an embedded store with the rollups computed:
 *    30-day range queries (step 1 h) through the HTTP API (results cache on, cold) from the
 *    tiers against the same queries from raw, and against Prometheus 2.42 holding the same
 *    30 days.
 * C. Each push-down of the ClickHouse Querier against the same query with it off.
 *
 * Run alone: node --import tsx bench/query.ts (after `npm run build`).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Registry } from 'prom-client'
import { queryServiceFromConfig } from '../cli/query-wiring.js'
import { loadConfig } from '../config/load.js'
import { startHttpServer, type RunningHttpServer } from '../http/server.js'
import { silentLogger } from '../observability/logger.js'
import type { PromQLEngine } from '../promql/api.js'
import { createEngine } from '../promql/engine.js'
import { createSnappyCodec } from '../proto/snappy.js'
import { ClickHouseQuerier, type ClickHouseQuerierOptions } from '../query/clickhouse-querier.js'
import { SeriesLoader } from '../query/series-loader.js'
import { refreshRollupsNow } from '../rollup/refresh.js'
import { openStore } from '../store/connection.js'
import { ClickHouseSampleStore } from '../store/sample-store.js'
import { publicSchema } from '../rollup/public-schema.js'
import { migrate } from '../store/schema.js'
import { fleetAsLoadSeries, fleetSampleCount, makeFleet, remoteWriteFleet, SCRAPE_MS } from '../test/fleet.js'
import { Metrichouse } from '../test/peers/metrichouse.js'
import { startPrometheus } from '../test/peers/prometheus.js'

export interface Latency {
  p50: number
  p99: number
  runs: number
}

export interface QueryBenchResult {
  series: number
  dashboard: { query: string; prometheus: Latency; cold: Latency; warm: Latency; ratioCold: number; ratioWarm: number }[]
  month: { query: string; rollup: Latency; raw: Latency; prometheus?: Latency; speedup: number }[]
  pushdown: { name: string; query: string; on: Latency; off: Latency; speedup: number }[]
  loadSeconds: { hour: number; month: number; rollupRefresh: number }
}

export interface QueryBenchOptions {
  runs?: number
  /** Hosts per pool; 30 pools. Default 6 (about 1000 series). */
  hostsPerPool?: number
  monthDays?: number
  /** Leave out part A (the 1-hour dashboards against Prometheus). */
  monthOnly?: boolean
  log?: (line: string) => void
}

const DASHBOARD = [
  '100 * (1 - avg by (host) (rate(node_cpu_seconds_total{mode="idle"}[1m])))',
  '100 * (1 - avg by (region) (rate(node_cpu_seconds_total{mode="idle", role="web"}[10m])))',
  'sum by (pool) (rate(http_requests_total[1m]))',
  '100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)',
  'max by (pool) (queue_depth)',
]

const MONTH = [
  'avg by (region) (max_over_time(node_memory_MemAvailable_bytes[1h]))',
  'sum by (pool) (rate(node_cpu_seconds_total{mode="user"}[1h]))',
  'max by (pool) (queue_depth)',
]

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

async function measure(runs: number, fn: (i: number) => Promise<void>): Promise<Latency> {
  await fn(-1) // warm-up: connections, JIT
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const t = performance.now()
    await fn(i)
    times.push(performance.now() - t)
  }
  times.sort((a, b) => a - b)
  return { p50: percentile(times, 50), p99: percentile(times, 99), runs }
}

async function rangeQuery(base: string, query: string, start: number, end: number, step: number): Promise<void> {
  const response = await fetch(`${base}/api/v1/query_range`, {
    method: 'POST',
    body: new URLSearchParams({ query, start: String(start / 1000), end: String(end / 1000), step: String(step / 1000) }),
  })
  const body = (await response.json()) as { status: string; error?: string; data?: { result: unknown[] } }
  if (body.status !== 'success' || (body.data?.result.length ?? 0) === 0) throw new Error(`${base}: ${query}: ${body.error ?? 'empty result'}`)
}

export async function benchQuery(opts: QueryBenchOptions = {}): Promise<QueryBenchResult> {
  const runs = opts.runs ?? 15
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`))
  const hostsPerPool = opts.hostsPerPool ?? 6
  const result: QueryBenchResult = { series: 0, dashboard: [], month: [], pushdown: [], loadSeconds: { hour: 0, month: 0, rollupRefresh: 0 } }

  const now = Date.now()
  if (!opts.monthOnly) await benchDashboard(runs, hostsPerPool, result, log)

  // B and C. 30 days in an embedded store, rollups computed.
  const days = opts.monthDays ?? 30
  const dir = await mkdtemp(join(tmpdir(), 'metrichouse-bench-query-'))
  const store = await openStore({ dataDir: dir, database: 'default' })
  try {
    const retention = { rawMs: (days + 2) * 86_400_000, oneMinuteMs: (days + 2) * 86_400_000, oneHourMs: 365 * 86_400_000 }
    // All hours in one refresh round: the bench's data arrives at once, not hour by hour.
    await migrate(store.readWrite, publicSchema({
      rawRetentionMs: retention.rawMs,
      oneMinuteRetentionMs: retention.oneMinuteMs,
      oneHourRetentionMs: retention.oneHourMs,
      rollup: { maxHoursPerRefresh: 24 * (days + 2) },
    }))
    // Samples at 9:07, 19:07, ... 59:07 past each hour, as scrapes fall: none on a bucket's
    // first millisecond, and each hour's last one within the 5-minute lookback of the next
    // hour (an instant selector at step 1 h finds it, from raw and from the 1h tier).
    const monthStart = Math.floor((now - days * 86_400_000) / 3_600_000) * 3_600_000 + 9 * 60_000 + 7_000
    const interval = 600_000
    const month = makeFleet({ pools: 30, hostsPerPool, start: monthStart, samplesPerSeries: Math.floor((now - monthStart) / interval), intervalMs: interval })
    result.series ||= month.length
    log(`query: ${month.length} series x ${days} d (10-minute samples) = ${fleetSampleCount(month)} samples into an embedded store`)
    const t1 = performance.now()
    const loader = await SeriesLoader.create(new ClickHouseSampleStore(store.insertRaw))
    await loader.load(fleetAsLoadSeries(month))
    result.loadSeconds.month = (performance.now() - t1) / 1000
    const t2 = performance.now()
    await refreshRollupsNow(store.readWrite, 1000)
    result.loadSeconds.rollupRefresh = (performance.now() - t2) / 1000
    log(`query: loaded in ${result.loadSeconds.month.toFixed(1)} s, rollups refreshed in ${result.loadSeconds.rollupRefresh.toFixed(1)} s`)

    // The same 30 days in Prometheus (out-of-order window so old samples are accepted).
    const monthProm = await startPrometheus({ remoteWriteReceiver: true, outOfOrderTimeWindow: `${days + 2}d`, maxLifetimeMs: 900_000 })
    const promMonth = new Map<string, Latency>()
    try {
      const t3 = performance.now()
      await remoteWriteFleet(month, [`${monthProm.url}/api/v1/write`], await createSnappyCodec(), { samplesPerRequest: 100_000 })
      log(`query: ${days} d sent to Prometheus in ${((performance.now() - t3) / 1000).toFixed(1)} s`)
      const pEnd = Math.floor(now / 3_600_000) * 3_600_000 - 3_600_000
      for (const query of MONTH) {
        promMonth.set(query, await measure(Math.max(3, Math.floor(runs / 3)), () => rangeQuery(monthProm.url, query, pEnd - (days - 1) * 86_400_000, pEnd, 3_600_000)))
      }
    } catch (err) {
      log(`query: Prometheus ${days} d part failed: ${(err as Error).message}`)
    } finally {
      await monthProm.stop()
    }

    // Through the HTTP API users hit, results cache on (each run's text differs by a comment,
    // so it is cold): the default configuration reads the tiers; rollup_min_range beyond the
    // month makes the same service read raw.
    const monthApi = async (minRange: string) => {
      const config = loadConfig({ flags: { 'data-dir': dir, 'retention-raw': `${days + 2}d`, 'retention-one-minute': `${days + 2}d`, 'query-rollup-min-range': minRange }, env: {} })
      const registry = new Registry()
      const service = queryServiceFromConfig(config, store.readOnly, registry, silentLogger)
      return startHttpServer({ listen: { host: '127.0.0.1', port: 0 }, auth: config.auth, logger: silentLogger, registry, routes: service.routes, isReady: () => true })
    }
    const [tieredApi, rawApi] = await Promise.all([monthApi('24h'), monthApi(`${days * 10}d`)])
    try {
      const end = Math.floor(now / 3_600_000) * 3_600_000 - 3_600_000
      const from = end - (days - 1) * 86_400_000
      const monthRuns = Math.max(3, Math.floor(runs / 3))
      for (const query of MONTH) {
        const cold = (api: RunningHttpServer) => (i: number) => rangeQuery(`http://127.0.0.1:${api.address.port}`, `${query} # ${i} ${Math.random()}`, from, end, 3_600_000)
        const rollup = await measure(monthRuns, cold(tieredApi))
        const fromRaw = await measure(monthRuns, cold(rawApi))
        result.month.push({ query, rollup, raw: fromRaw, prometheus: promMonth.get(query), speedup: fromRaw.p50 / rollup.p50 })
        log(`query: ${days} d ${query}: rollups p50 ${rollup.p50.toFixed(0)} ms, raw ${fromRaw.p50.toFixed(0)} ms, Prometheus ${promMonth.get(query)?.p50.toFixed(0) ?? '-'} ms`)
      }
    } finally {
      await Promise.all([tieredApi.close(), rawApi.close()])
    }

    const engine: PromQLEngine = createEngine()
    const querier = (o: ClickHouseQuerierOptions) => new ClickHouseQuerier(store.readOnly, o)
    const raw = querier({})
    const end = Math.floor(now / 3_600_000) * 3_600_000 - 3_600_000
    const cases: { name: string; query: string; range?: boolean; off: ClickHouseQuerierOptions }[] = [
      { name: 'matchers in SQL (regex + equality)', query: 'node_memory_MemAvailable_bytes{role="web", region=~"eu.*"}', off: { pushdown: { matchers: false } } },
      { name: 'newest sample only, instant selector', query: 'sum by (pool) (node_memory_MemAvailable_bytes)', off: { pushdown: { lastSample: false } } },
      { name: 'matchers in SQL, 6 h range query', query: 'sum(rate(node_cpu_seconds_total{mode="user", pool=~"pool1.*"}[15m]))', range: true, off: { pushdown: { matchers: false } } },
    ]
    for (const c of cases) {
      const run = (q: ClickHouseQuerier) => (c.range ? engine.rangeQuery(q, c.query, end - 6 * 3_600_000, end, 60_000) : engine.instantQuery(q, c.query, end))
      const on = await measure(runs, async () => void (await run(raw)))
      const off = await measure(runs, async () => void (await run(querier(c.off))))
      result.pushdown.push({ name: c.name, query: c.query, on, off, speedup: off.p50 / on.p50 })
      log(`query: push-down ${c.name}: on ${on.p50.toFixed(1)} ms, off ${off.p50.toFixed(1)} ms`)
    }
  } finally {
    await store.close()
    await rm(dir, { recursive: true, force: true })
  }
  return result
}

/** A. 1 hour, against Prometheus. */
async function benchDashboard(runs: number, hostsPerPool: number, result: QueryBenchResult, log: (line: string) => void): Promise<void> {
  const now = Date.now()
  const start = Math.floor((now - 3_600_000) / SCRAPE_MS) * SCRAPE_MS
  const fleet = makeFleet({ pools: 30, hostsPerPool, start, samplesPerSeries: 240 })
  result.series = fleet.length
  log(`query: ${fleet.length} series x 1 h = ${fleetSampleCount(fleet)} samples to Prometheus and metrichouse serve`)
  const [prometheus, metrichouse] = await Promise.all([
    startPrometheus({ remoteWriteReceiver: true, outOfOrderTimeWindow: '2h', maxLifetimeMs: 600_000 }),
    Metrichouse.start({ maxLifetimeMs: 600_000, extraArgs: ['--flush-interval', '100ms'] }),
  ])
  try {
    const t0 = performance.now()
    const sent = await remoteWriteFleet(fleet, [`${prometheus.url}/api/v1/write`, metrichouse.writeUrl], await createSnappyCodec(), { samplesPerRequest: 50_000 })
    while ((await metrichouse.queryNumber('SELECT count() FROM samples')) < sent) await new Promise((r) => setTimeout(r, 200))
    result.loadSeconds.hour = (performance.now() - t0) / 1000
    const end = Math.floor(Date.now() / SCRAPE_MS) * SCRAPE_MS
    const from = end - 3_600_000
    for (const query of DASHBOARD) {
      const prom = await measure(runs, () => rangeQuery(prometheus.url, query, from, end, SCRAPE_MS))
      const cold = await measure(runs, (i) => rangeQuery(metrichouse.url, `${query} # cold ${i} ${Math.random()}`, from, end, SCRAPE_MS))
      await rangeQuery(metrichouse.url, query, from, end, SCRAPE_MS)
      const warm = await measure(runs, () => rangeQuery(metrichouse.url, query, from, end, SCRAPE_MS))
      result.dashboard.push({ query, prometheus: prom, cold, warm, ratioCold: cold.p50 / prom.p50, ratioWarm: warm.p50 / prom.p50 })
      log(`query: ${query}: prometheus p50 ${prom.p50.toFixed(1)} ms, metrichouse cold ${cold.p50.toFixed(1)} ms, warm ${warm.p50.toFixed(1)} ms`)
    }
  } finally {
    await Promise.allSettled([prometheus.stop(), metrichouse.dispose()])
  }
}

export function formatQueryBench(r: QueryBenchResult): string {
  const ms = (l: Latency) => `${l.p50.toFixed(1)} / ${l.p99.toFixed(1)}`
  return [
    `Dashboard queries, ${r.series} series x 1 h, range 1 h step 15 s, p50 / p99 ms:`,
    '',
    '| query | Prometheus 2.42 | metrichouse, cache cold | metrichouse, cache warm | cold / Prometheus | warm / Prometheus |',
    '|---|---|---|---|---|---|',
    ...r.dashboard.map((d) => `| \`${d.query}\` | ${ms(d.prometheus)} | ${ms(d.cold)} | ${ms(d.warm)} | ${d.ratioCold.toFixed(2)} | ${d.ratioWarm.toFixed(2)} |`),
    '',
    `30-day range queries (step 1 h), ${r.series} series, p50 / p99 ms:`,
    '',
    '| query | from rollups | from raw | raw / rollups | Prometheus 2.42 | rollups / Prometheus |',
    '|---|---|---|---|---|---|',
    ...r.month.map((m) => `| \`${m.query}\` | ${ms(m.rollup)} | ${ms(m.raw)} | ${m.speedup.toFixed(1)}x | ${m.prometheus ? ms(m.prometheus) : '-'} | ${m.prometheus ? (m.rollup.p50 / m.prometheus.p50).toFixed(2) : '-'} |`),
    '',
    'Push-downs of the ClickHouse Querier, p50 / p99 ms:',
    '',
    '| push-down | query | on | off | off / on |',
    '|---|---|---|---|---|',
    ...r.pushdown.map((p) => `| ${p.name} | \`${p.query}\` | ${ms(p.on)} | ${ms(p.off)} | ${p.speedup.toFixed(2)}x |`),
    '',
    `Loading: 1 h set ${r.loadSeconds.hour.toFixed(1)} s (both receivers), 30-day set ${r.loadSeconds.month.toFixed(1)} s, rollup refresh ${r.loadSeconds.rollupRefresh.toFixed(1)} s.`,
  ].join('\n')
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = await benchQuery({ runs: process.env.BENCH_QUERY_RUNS ? Number(process.env.BENCH_QUERY_RUNS) : undefined, monthDays: process.env.BENCH_QUERY_DAYS ? Number(process.env.BENCH_QUERY_DAYS) : undefined, monthOnly: process.env.BENCH_QUERY_MONTH_ONLY === '1' })
  console.log(formatQueryBench(r))
}
