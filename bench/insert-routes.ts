/**
 * Insert routes from Node into the embedded engine (chDB 3.4.0), issue 15: CPU per row of
 * each way to get the same node_exporter-like samples into `samples`, encoding included,
 * and whether it is exact (a stale marker's NaN payload must come back bit for bit).
 *
 * Run alone: node --import tsx bench/insert-routes.ts   (BENCH_INSERT_ROWS, default 200000;
 * BENCH_INSERT_ROUNDS, default 5). CPU is the process's (chDB's threads included), so the
 * figures hold on a shared machine better than wall times do.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { publicSchema } from '../rollup/public-schema.js'
import { createChdbConnection } from 'chdb/connection'
import { embeddedEnginePath, openStore, type StoreClients } from '../store/connection.js'
import { encodeSamplesRowBinary, SAMPLE_INSERT_COLUMNS, samplesRowPrefix, type SeriesSamples } from '../store/rowbinary-encoder.js'
import { migrate } from '../store/schema.js'
import { Fingerprinter } from '../proto/fingerprint.js'
import { makeNodeExporterPayload } from './payloads.js'

const ROWS = Number(process.env.BENCH_INSERT_ROWS ?? 200_000)
const ROUNDS = Number(process.env.BENCH_INSERT_ROUNDS ?? 5)
const STALE_BITS = 0x7ff0000000000002n
const SERIES = 2000

interface RouteResult {
  route: string
  /** Rows per CPU second, encoding and insert. */
  rowsPerCpuSecond?: number
  encodeMsPerRound?: number
  insertMsPerRound?: number
  exact?: boolean
  error?: string
}

interface Route {
  name: string
  encode(series: SeriesSamples[]): Buffer
  insert(body: Buffer, token: string): Promise<void>
}

function cpuMs(): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

/** ROWS samples of SERIES node_exporter-like series; the first sample of series 0 a stale marker. */
async function batch(round: number): Promise<SeriesSamples[]> {
  const fp = await Fingerprinter.create()
  const payload = makeNodeExporterPayload(SERIES, Math.ceil(ROWS / SERIES), Date.now() - 3_600_000 + round)
  const series = payload.series.map((s) => ({
    ref: { id: fp.fingerprint(s.labels), metricName: s.labels[0]!.value, labels: s.labels },
    samples: s.samples,
  }))
  series[0]!.samples[0] = { timestampMs: series[0]!.samples[0]!.timestampMs, value: NaN, nanBits: STALE_BITS }
  return series
}

/** The previous route, kept here only to compare: TabSeparated text into the EPHEMERAL columns. */
function encodeTsv(series: readonly SeriesSamples[]): Buffer {
  const lines: string[] = []
  for (const s of series) {
    const prefix = `${s.ref.metricName}\t${s.ref.id}\t`
    for (const x of s.samples) {
      const nan = Number.isNaN(x.value)
      lines.push(`${prefix}${x.timestampMs}\t${nan ? 'nan' : x.value}\t${nan ? (x.nanBits ?? 0n).toString() : '0'}`)
    }
  }
  return Buffer.from(lines.join('\n') + '\n')
}

/** Native, columnar: metric_name String, series_id UInt64, timestamp DateTime64(3), value Float64. */
function encodeNative(series: readonly SeriesSamples[]): Buffer {
  let rows = 0
  for (const s of series) rows += s.samples.length
  const names: Buffer[] = []
  const ids = new BigUint64Array(rows)
  const ts = new BigInt64Array(rows)
  const values = new Float64Array(rows)
  const valueBits = new BigUint64Array(values.buffer)
  let i = 0
  for (const s of series) {
    const prefix = samplesRowPrefix(s.ref.metricName, s.ref.id)
    const name = Buffer.from(prefix.subarray(0, prefix.length - 8))
    for (const x of s.samples) {
      names.push(name)
      ids[i] = s.ref.id
      ts[i] = BigInt(x.timestampMs)
      if (Number.isNaN(x.value)) valueBits[i] = x.nanBits ?? 0x7ff8000000000001n
      else values[i] = x.value
      i++
    }
  }
  const str = (t: string) => Buffer.concat([Buffer.from([Buffer.byteLength(t)]), Buffer.from(t)])
  const varUInt = (n: number) => {
    const out: number[] = []
    while (n >= 0x80) {
      out.push((n & 0x7f) | 0x80)
      n >>>= 7
    }
    out.push(n)
    return Buffer.from(out)
  }
  return Buffer.concat([
    varUInt(4),
    varUInt(rows),
    str('metric_name'), str('String'), ...names,
    str('series_id'), str('UInt64'), Buffer.from(ids.buffer),
    str('timestamp'), str("DateTime64(3, 'UTC')"), Buffer.from(ts.buffer),
    str('value'), str('Float64'), Buffer.from(values.buffer),
  ])
}

interface Chdb {
  queryAsync(sql: string): Promise<unknown>
}

async function measure(route: Route, store: StoreClients): Promise<RouteResult> {
  await store.readWrite.command({ query: 'TRUNCATE TABLE samples' })
  let encodeMs = 0
  let insertMs = 0
  let rows = 0
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const series = await batch(round)
      const c0 = cpuMs()
      const body = route.encode(series)
      const c1 = cpuMs()
      await route.insert(body, `${route.name}-${round}`)
      insertMs += cpuMs() - c1
      encodeMs += c1 - c0
      for (const s of series) rows += s.samples.length
    }
  } catch (err) {
    return { route: route.name, error: (err as Error).message.split('\n')[0]!.slice(0, 160) }
  }
  const rs = await store.readWrite.query({ query: `SELECT count() AS n, countIf(reinterpretAsUInt64(value) = ${STALE_BITS}) AS stale FROM samples`, format: 'JSONEachRow' })
  const [{ n, stale }] = await rs.json<{ n: string; stale: string }>()
  return {
    route: route.name,
    rowsPerCpuSecond: Math.round(rows / ((encodeMs + insertMs) / 1000)),
    encodeMsPerRound: Math.round(encodeMs / ROUNDS),
    insertMsPerRound: Math.round(insertMs / ROUNDS),
    exact: Number(n) === rows && Number(stale) === ROUNDS,
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mh-insert-routes-'))
  const store = await openStore({ dataDir: dir, database: 'default' })
  try {
    await migrate(store.readWrite, publicSchema({ rawRetentionMs: 7 * 86_400_000, rollups: false }))
    const staged = path.join(dir, 'native.bin')
    const writer = (createChdbConnection({ path: embeddedEnginePath(dir) }) as unknown as { chdb: Chdb }).chdb
    const routes: Route[] = [
      {
        name: 'TabSeparated, chDB raw insert (the previous route)',
        encode: encodeTsv,
        insert: (body, token) => store.insertRaw({ table: 'samples', columns: ['metric_name', 'series_id', 'insert_timestamp_ms', 'insert_value', 'insert_nan_bits'], format: 'TabSeparated', body, settings: { insert_deduplication_token: token } }),
      },
      {
        name: 'RowBinaryWithNamesAndTypes through file() (the store, as built)',
        encode: (series) => encodeSamplesRowBinary(series).body,
        insert: (body, token) => store.insertRaw({ table: 'samples', columns: SAMPLE_INSERT_COLUMNS, format: 'RowBinaryWithNamesAndTypes', body, settings: { insert_deduplication_token: token } }),
      },
      {
        name: 'Native through file()',
        encode: encodeNative,
        insert: async (body, token) => {
          writeFileSync(staged, body)
          await writer.queryAsync(`INSERT INTO samples (metric_name, series_id, timestamp, value) SETTINGS insert_deduplication_token = '${token}' SELECT * FROM file('${staged}', 'Native')`)
        },
      },
    ]
    const results: RouteResult[] = []
    for (const route of routes) results.push(await measure(route, store))
    console.log(`insert-routes: ${ROWS} rows x ${ROUNDS} rounds, ${SERIES} series, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}\n`)
    console.log(`| route | rows per CPU s | CPU ms per ${ROWS} rows: encode | insert | exact |`)
    console.log('|---|---|---|---|---|')
    for (const r of results) {
      if (r.error) console.log(`| ${r.route} | - | - | - | refused: ${r.error} |`)
      else console.log(`| ${r.route} | ${r.rowsPerCpuSecond!.toLocaleString('en-US')} | ${r.encodeMsPerRound} | ${r.insertMsPerRound} | ${r.exact ? 'yes' : 'NO'} |`)
    }
  } finally {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
