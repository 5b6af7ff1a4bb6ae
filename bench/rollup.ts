/**
 * Rollup benchmark (issue 3), each measurement in a child process of its own (chDB: one
 * engine per process):
 *   1. ingest: the same node_exporter-like samples inserted through the real store path
 *      into a schema without rollups and into one with them: samples/s and the ratio; then
 *      the refresh time of the rollups (the deferred part of their cost);
 *   2. size: bytes on disk per raw sample, per 1m row and per 1h row (after merges), and
 *      per column of the 1m tier;
 *   3. query: `increase` over 30 days for 1000 series, as SQL over raw samples and over
 *      samples_1m, time and ratio.
 * Run alone: node --import tsx bench/rollup.ts
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { refreshRollupsNow } from '../rollup/refresh.js'
import { openStore, type StoreClients } from '../store/connection.js'
import { ClickHouseSampleStore } from '../store/sample-store.js'
import { publicSchema } from '../rollup/public-schema.js'
import { migrate } from '../store/schema.js'
import type { SeriesSamples } from '../store/rowbinary-encoder.js'
import { prng } from '../test/prng.js'

const HOUR = 3_600_000
const DAY = 86_400_000
const THIS_FILE = fileURLToPath(import.meta.url)

export interface RollupBenchOptions {
  /** Series of the ingest/size part. Default 2000. */
  series?: number
  /** Hours of data of the ingest/size part, 15 s scrape. Default 6. */
  hours?: number
  /** Series and days of the query part. Default 1000 and 30. */
  querySeries?: number
  queryDays?: number
}

export interface IngestResult {
  samples: number
  insertSeconds: number
  samplesPerSec: number
  refreshSeconds?: number
}

export interface SizeResult {
  rawBytesPerSample: number
  oneMinuteBytesPerRow: number
  oneHourBytesPerRow: number
  rawSamples: number
  oneMinuteRows: number
  oneHourRows: number
  /** samples_1m bytes per row, per column. */
  oneMinuteColumns: Record<string, number>
}

export interface QueryResult {
  series: number
  days: number
  rawSamples: number
  oneMinuteRows: number
  rawSeconds: number
  oneMinuteSeconds: number
  ratio: number
  /** Largest relative difference between the raw and 1m answers (should be ~0). */
  maxRelativeDifference: number
}

export interface RollupBenchResult {
  plain: IngestResult
  withRollups: IngestResult
  /** plain samples/s over samples/s with rollups attached (insert only). */
  ingestRatio: number
  size: SizeResult
  query: QueryResult
}

type Kind = 'counter' | 'slow_gauge' | 'constant' | 'noisy_gauge'
const KINDS: { kind: Kind; name: string; share: number }[] = [
  { kind: 'counter', name: 'node_cpu_seconds_total', share: 0.5 },
  { kind: 'slow_gauge', name: 'node_memory_MemAvailable_bytes', share: 0.2 },
  { kind: 'constant', name: 'node_filesystem_size_bytes', share: 0.15 },
  { kind: 'noisy_gauge', name: 'node_load1', share: 0.15 },
]

/**
 * node_exporter-like series, 15 s scrape with a few ms of jitter, returned per scrape as
 * remote write delivers them (one sample per series):
 * - counters (50 %): cpu seconds in 1/100 s ticks (USER_HZ), a steady per-series rate
 *   with +-3 ticks of noise per scrape, a reset (reboot) now and then;
 * - slow gauges (20 %): memory bytes, changing by whole pages on 10 % of scrapes;
 * - constants (15 %): sizes and info-style values;
 * - noisy gauges (15 %): load averages, two decimals, random walk.
 */
function* scrapes(seriesCount: number, hours: number, t0: number): Generator<SeriesSamples[]> {
  const rand = prng(42)
  const kinds: Kind[] = []
  const names: string[] = []
  for (const k of KINDS) for (let i = 0; i < Math.round(seriesCount * k.share); i++) {
    kinds.push(k.kind)
    names.push(k.name)
  }
  const ticks = kinds.map(() => Math.floor(rand() * 1e8))
  const rates = kinds.map(() => Math.floor(rand() * 1500))
  const values = kinds.map((k) => (k === 'constant' ? Math.floor(rand() * 1e3) * 2 ** 30 : k === 'slow_gauge' ? Math.floor(rand() * 4e6) * 4096 : Math.floor(rand() * 400) / 100))
  const offsets = kinds.map(() => Math.floor(rand() * 15_000))
  const steps = (hours * HOUR) / 15_000
  for (let s = 0; s < steps; s++) {
    const batch: SeriesSamples[] = []
    for (let i = 0; i < kinds.length; i++) {
      const k = kinds[i]!
      let v = values[i]!
      if (k === 'counter') {
        ticks[i] = rand() < 0.0002 ? 0 : ticks[i]! + Math.max(0, rates[i]! + Math.floor(rand() * 7) - 3)
        v = ticks[i]! / 100
      } else if (k === 'slow_gauge') v = rand() < 0.1 ? v + Math.round((rand() - 0.5) * 2000) * 4096 : v
      else if (k === 'noisy_gauge') v = Math.max(0, Math.round(v * 100 + Math.floor(rand() * 11) - 5)) / 100
      values[i] = v
      batch.push({
        ref: { id: BigInt(i + 1),
        metricName: names[i]!,
        labels: [] },
        samples: [{ timestampMs: t0 + s * 15_000 + offsets[i]! + Math.floor(rand() * 5), value: v }],
      })
    }
    yield batch
  }
}

async function text(store: StoreClients, sql: string): Promise<string> {
  const rs = await store.readWrite.query({ query: sql, format: 'TabSeparated' })
  return (await rs.text()).trim()
}

async function bytesOf(store: StoreClients, table: string): Promise<{ bytes: number; rows: number }> {
  const [bytes, rows] = (await text(store, `SELECT sum(bytes_on_disk), sum(rows) FROM system.parts WHERE active AND database = currentDatabase() AND table = '${table}'`)).split('\t').map(Number)
  return { bytes: bytes ?? 0, rows: rows ?? 0 }
}

/** Child: ingest with or without rollups; with them, refresh and measure sizes. */
async function ingestWorker(dir: string, rollups: boolean, seriesCount: number, hours: number): Promise<{ ingest: IngestResult; size?: SizeResult }> {
  const store = await openStore({ dataDir: dir, database: 'default' })
  try {
    await migrate(store.readWrite, publicSchema({ rawRetentionMs: 7 * DAY, rollups, rollup: { maxHoursPerRefresh: hours + 2, refreshSeconds: 3600 } }))
    const sampleStore = new ClickHouseSampleStore(store.insertRaw)
    const t0 = Math.floor(Date.now() / HOUR) * HOUR - (hours + 1) * HOUR
    // A flush batch carries many scrapes (serve flushes up to 4 MiB of WAL at a time).
    const perInsert = Math.max(1, Math.floor(50_000 / seriesCount))
    let pending: SeriesSamples[] = []
    let samples = 0
    let batchNo = 0
    const started = performance.now()
    for (const scrape of scrapes(seriesCount, hours, t0)) {
      pending.push(...scrape)
      if (pending.length >= perInsert * seriesCount) {
        samples += await sampleStore.insertSamples(pending, `bench-${batchNo++}`)
        pending = []
      }
    }
    if (pending.length > 0) samples += await sampleStore.insertSamples(pending, `bench-${batchNo++}`)
    const insertSeconds = (performance.now() - started) / 1000
    const ingest: IngestResult = { samples, insertSeconds, samplesPerSec: samples / insertSeconds }
    if (!rollups) return { ingest }
    const refreshStarted = performance.now()
    await refreshRollupsNow(store.readWrite)
    ingest.refreshSeconds = (performance.now() - refreshStarted) / 1000
    for (const t of ['samples', 'samples_1m', 'samples_1h']) await store.readWrite.command({ query: `OPTIMIZE TABLE ${t} FINAL` })
    const raw = await bytesOf(store, 'samples')
    const m = await bytesOf(store, 'samples_1m')
    const h = await bytesOf(store, 'samples_1h')
    const columns: Record<string, number> = {}
    const perColumn = await text(store, `SELECT column, sum(column_data_compressed_bytes) FROM system.parts_columns WHERE active AND database = currentDatabase() AND table = 'samples_1m' GROUP BY column ORDER BY column`)
    for (const line of perColumn.split('\n')) {
      const [column, bytes] = line.split('\t')
      columns[column!] = Number(bytes) / m.rows
    }
    return {
      ingest,
      size: {
        rawBytesPerSample: raw.bytes / raw.rows,
        oneMinuteBytesPerRow: m.bytes / m.rows,
        oneHourBytesPerRow: h.bytes / h.rows,
        rawSamples: raw.rows,
        oneMinuteRows: m.rows,
        oneHourRows: h.rows,
        oneMinuteColumns: columns,
      },
    }
  } finally {
    await store.close()
  }
}

/** The increase per series over the whole range, as each tier answers it. */
function increaseSql(table: 'samples' | 'samples_1m', from: string, to: string): string {
  if (table === 'samples') {
    return `SELECT series_id, arraySum(arrayMap((a, b) -> if(b >= a, b - a, b), arrayPopBack(vs), arrayPopFront(vs))) AS increase
FROM (SELECT series_id, arrayMap(p -> p.2, arraySort(groupArray((timestamp, value)))) AS vs FROM samples
      WHERE metric_name = 'bench_requests_total' AND timestamp >= '${from}' AND timestamp < '${to}'
        AND reinterpretAsUInt64(value) != 9218868437227405314
      GROUP BY series_id)
ORDER BY series_id`
  }
  return `SELECT series_id, argMax(last_value, timestamp) - argMin(first_value, timestamp) + sum(reset_sum + boundary) AS increase
FROM (
    SELECT series_id, timestamp, first_value, last_value, reset_sum,
           if(first_value < lagInFrame(last_value, 1, first_value) OVER w, lagInFrame(last_value, 1, 0) OVER w, 0) AS boundary
    FROM ${table} FINAL
    WHERE metric_name = 'bench_requests_total' AND timestamp >= '${from}' AND timestamp < '${to}'
    WINDOW w AS (PARTITION BY series_id ORDER BY timestamp ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
)
GROUP BY series_id
ORDER BY series_id`
}

/**
 * Child: 30 days of counters generated inside ClickHouse at a 60 s scrape, and the 1m rows
 * the refresh writes for them (one sample per minute: first = last = that sample),
 * synthesized in SQL too: computing 30 days of rollups through the refresh takes minutes
 * here (the refresh is exercised by the ingest part and the tests). The raw and 1m answers
 * are compared, which checks the synthesized rows. At a 15 s scrape raw holds 4x the rows
 * and its query time grows with them; the 1m tier does not.
 */
async function queryWorker(dir: string, seriesCount: number, days: number): Promise<QueryResult> {
  const store = await openStore({ dataDir: dir, database: 'default' })
  try {
    await migrate(store.readWrite, publicSchema({ rawRetentionMs: (days + 2) * DAY, oneMinuteRetentionMs: (days + 2) * DAY, rollup: { refreshSeconds: 86_400 } }))
    const end = Math.floor(Date.now() / HOUR) * HOUR - 2 * HOUR
    const start = end - days * DAY
    const perSeries = (days * DAY) / 60_000
    // A counter per series with its own rate, reset every 10 days; a few ms of jitter.
    const generator = `SELECT 'bench_requests_total' AS metric_name, s + 1 AS series_id,
       fromUnixTimestamp64Milli(toInt64(${start} + k * 60000 + (s * 7919) % 15000 + (k * 31) % 5), 'UTC') AS t,
       ((k + s * 977) % 14400) * (0.25 + (s % 13) / 8) AS v
FROM (SELECT number % ${seriesCount} AS s, intDiv(number, ${seriesCount}) AS k FROM numbers(${seriesCount * perSeries}))`
    await store.readWrite.command({ query: `INSERT INTO samples (metric_name, series_id, timestamp, value) SELECT metric_name, series_id, t, v FROM (${generator})` })
    progress(`query: ${seriesCount * perSeries} raw samples generated`)
    await store.readWrite.command({
      query: `INSERT INTO samples_1m SELECT metric_name, series_id, toStartOfMinute(t), 'counter', 1, t, t, v, v, 0, 0, nan, nan, nan, now64(3, 'UTC') FROM (${generator})`,
    })
    progress('query: 1m rows generated')
    for (const t of ['samples', 'samples_1m']) await store.readWrite.command({ query: `OPTIMIZE TABLE ${t} FINAL` })
    progress('query: merged')
    const iso = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ')
    const timed = async (table: 'samples' | 'samples_1m') => {
      await text(store, increaseSql(table, iso(start), iso(end))) // warm the page cache once
      const runs: number[] = []
      let answer = ''
      for (let i = 0; i < 3; i++) {
        const t = performance.now()
        answer = await text(store, increaseSql(table, iso(start), iso(end)))
        runs.push((performance.now() - t) / 1000)
      }
      runs.sort((a, b) => a - b)
      return { seconds: runs[1]!, answer: answer.split('\n').map((l) => Number(l.split('\t')[1])) }
    }
    const raw = await timed('samples')
    const oneMinute = await timed('samples_1m')
    let maxRel = 0
    raw.answer.forEach((v, i) => (maxRel = Math.max(maxRel, Math.abs(v - oneMinute.answer[i]!) / Math.max(1, Math.abs(v)))))
    if (raw.answer.length !== seriesCount || oneMinute.answer.length !== seriesCount) throw new Error(`answers for ${raw.answer.length} / ${oneMinute.answer.length} series, want ${seriesCount}`)
    return {
      series: seriesCount,
      days,
      rawSamples: Number(await text(store, `SELECT count() FROM samples`)),
      oneMinuteRows: Number(await text(store, `SELECT count() FROM samples_1m`)),
      rawSeconds: raw.seconds,
      oneMinuteSeconds: oneMinute.seconds,
      ratio: raw.seconds / oneMinute.seconds,
      maxRelativeDifference: maxRel,
    }
  } finally {
    await store.close()
  }
}

const benchStarted = performance.now()
/** Child progress on stderr (the parent shows it), with seconds since the child started. */
function progress(line: string): void {
  process.stderr.write(`  [${((performance.now() - benchStarted) / 1000).toFixed(1)} s] ${line}\n`)
}

function runChild<T>(args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', THIS_FILE, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000)
    child.on('exit', (code) => {
      clearTimeout(timer)
      const last = out.trim().split('\n').pop() ?? ''
      if (code === 0 && last.startsWith('{')) resolve(JSON.parse(last) as T)
      else reject(new Error(`rollup bench child ${args[0]} exited with ${code}: ${out.slice(-500)}`))
    })
  })
}

export async function benchRollup(opts: RollupBenchOptions = {}, log: (line: string) => void = () => {}): Promise<RollupBenchResult> {
  const series = opts.series ?? 2000
  const hours = opts.hours ?? 6
  const dirs: string[] = []
  const dir = () => {
    const d = mkdtempSync(path.join(tmpdir(), 'mh-bench-rollup-'))
    dirs.push(d)
    return d
  }
  try {
    log(`ingest: ${series} series x ${hours} h at 15 s, without rollups`)
    const plain = await runChild<{ ingest: IngestResult }>(['ingest', dir(), 'plain', String(series), String(hours)])
    log(`ingest: the same with rollups attached`)
    const withRollups = await runChild<{ ingest: IngestResult; size: SizeResult }>(['ingest', dir(), 'rollups', String(series), String(hours)])
    const querySeries = opts.querySeries ?? 1000
    const queryDays = opts.queryDays ?? 30
    log(`query: increase over ${queryDays} days for ${querySeries} series`)
    const query = await runChild<QueryResult>(['query', dir(), String(querySeries), String(queryDays)])
    return {
      plain: plain.ingest,
      withRollups: withRollups.ingest,
      ingestRatio: plain.ingest.samplesPerSec / withRollups.ingest.samplesPerSec,
      size: withRollups.size,
      query,
    }
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  }
}

export function formatRollupBench(r: RollupBenchResult): string {
  const n = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d })
  const lines = [
    '| measure | value |',
    '|---|---|',
    `| insert without rollups | ${n(r.plain.samplesPerSec)} samples/s (${n(r.plain.samples)} samples) |`,
    `| insert with rollups attached | ${n(r.withRollups.samplesPerSec)} samples/s |`,
    `| ingest ratio (without / with) | ${n(r.ingestRatio, 2)} |`,
    `| rollup refresh of those hours (both tiers) | ${n(r.withRollups.refreshSeconds ?? 0, 2)} s (${n(r.withRollups.samples / (r.withRollups.refreshSeconds ?? 1))} raw samples/s) |`,
    `| raw bytes per sample | ${n(r.size.rawBytesPerSample, 2)} |`,
    `| 1m bytes per row | ${n(r.size.oneMinuteBytesPerRow, 2)} (${n(r.size.oneMinuteRows)} rows) |`,
    `| 1h bytes per row | ${n(r.size.oneHourBytesPerRow, 2)} (${n(r.size.oneHourRows)} rows) |`,
    `| increase over ${r.query.days} d, ${r.query.series} series, raw (${n(r.query.rawSamples)} samples) | ${n(r.query.rawSeconds, 3)} s |`,
    `| the same from 1m (${n(r.query.oneMinuteRows)} rows) | ${n(r.query.oneMinuteSeconds, 3)} s (ratio ${n(r.query.ratio, 1)}) |`,
    `| largest relative difference raw vs 1m | ${r.query.maxRelativeDifference.toExponential(1)} |`,
    '',
    `1m bytes per row by column: ${Object.entries(r.size.oneMinuteColumns).map(([c, b]) => `${c} ${n(b, 2)}`).join(', ')}`,
  ]
  return lines.join('\n')
}

async function childMain(args: string[]): Promise<void> {
  const [mode, dir] = args
  let result: unknown
  if (mode === 'ingest') result = await ingestWorker(dir!, args[2] === 'rollups', Number(args[3]), Number(args[4]))
  else if (mode === 'query') result = await queryWorker(dir!, Number(args[2]), Number(args[3]))
  else throw new Error(`unknown mode ${mode}`)
  process.stdout.write(`\n${JSON.stringify(result)}\n`)
}

if (process.argv[1] === THIS_FILE) {
  const args = process.argv.slice(2)
  if (args.length > 0) await childMain(args)
  else {
    const r = await benchRollup({}, (l) => console.log(l))
    console.log(formatRollupBench(r))
  }
}
