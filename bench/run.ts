/**
 * `npm run bench`: every benchmark of the write path in one run, printed as tables and
 * written as JSON to bench/results/latest.json (bench/README.md records the figures).
 *   1. decode: snappy + remote-write 1.0 decode + fingerprint, one core (bench/decode.ts)
 *   2. WAL: append throughput with fsync (wal/bench.ts)
 *   3. HTTP ingest: metrichouse serve vs victoria-metrics vs Prometheus (bench/http-ingest.ts)
 * Environment: BENCH_ONLY=decode,wal,http picks parts; BENCH_HTTP_MS, BENCH_HTTP_CLIENTS,
 * BENCH_HTTP_PAYLOADS, BENCH_HTTP_RECEIVERS tune the HTTP part; BENCH_DECODE_MS, BENCH_WAL_MS
 * the others. `npm run bench` builds first, because the HTTP part runs dist/cli/main.js.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { availableParallelism, cpus } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { benchWal, formatWalBench, type WalBenchResult } from '../wal/bench.js'
import { benchDecode, type DecodeBenchResult } from './decode.js'
import { benchHttpIngest, formatHttpIngest, type HttpIngestResult, type Receiver } from './http-ingest.js'

interface BenchResults {
  date: string
  node: string
  cpus: number
  cpuModel: string
  decode?: DecodeBenchResult[]
  wal?: WalBenchResult
  httpIngest?: HttpIngestResult
  errors: Record<string, string>
}

const env = process.env
const number = (name: string): number | undefined => (env[name] ? Number(env[name]) : undefined)
const parts = new Set((env.BENCH_ONLY ?? 'decode,wal,http').split(','))

const results: BenchResults = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: availableParallelism(),
  cpuModel: cpus()[0]?.model ?? 'unknown',
  errors: {},
}

/** Runs one part; a failing part is reported and recorded, and the others still run. */
async function part(name: string, run: () => Promise<void>): Promise<void> {
  if (!parts.has(name)) return
  console.log(`\n## ${name}\n`)
  try {
    await run()
  } catch (err) {
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err)
    results.errors[name] = message
    console.log(`${name} failed: ${message}`)
  }
}

await part('decode', async () => {
  results.decode = await benchDecode({ ms: number('BENCH_DECODE_MS') })
  console.log('| path | samples/s (one core) |\n|---|---|')
  for (const r of results.decode) console.log(`| ${r.name} | ${Math.round(r.samplesPerSec).toLocaleString('en-US')} |`)
})

await part('wal', async () => {
  results.wal = await benchWal({ durationMs: number('BENCH_WAL_MS') })
  console.log(formatWalBench(results.wal))
})

await part('http', async () => {
  results.httpIngest = await benchHttpIngest({
    durationMs: number('BENCH_HTTP_MS'),
    concurrency: number('BENCH_HTTP_CLIENTS'),
    payloads: number('BENCH_HTTP_PAYLOADS'),
    receivers: env.BENCH_HTTP_RECEIVERS ? (env.BENCH_HTTP_RECEIVERS.split(',') as Receiver[]) : undefined,
    log: (line) => console.log(line),
  })
  console.log(`\n${formatHttpIngest(results.httpIngest)}`)
})

const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'latest.json')
await mkdir(dirname(out), { recursive: true })
await writeFile(out, `${JSON.stringify(results, null, 2)}\n`)
console.log(`\nwrote ${out}`)
if (Object.keys(results.errors).length > 0) process.exitCode = 1
