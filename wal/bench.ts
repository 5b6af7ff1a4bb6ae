/**
 * Append throughput of the WAL on this machine: appends/s and MB/s with fsync, for a few
 * record sizes and numbers of concurrent appenders (each appender awaits its append
 * before the next, as an HTTP request handler does). `npm run bench` calls benchWal();
 * `node --import tsx wal/bench.ts` prints the table that wal/README.md quotes.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { silentLogger } from '../observability/logger.js'
import { noopWalMetrics, type WalMetrics } from './metrics.js'
import { WriteAheadLog } from './write-ahead-log.js'

export interface WalBenchFigure {
  recordBytes: number
  concurrency: number
  appendsPerSec: number
  /** Payload megabytes (1e6 bytes) acknowledged per second. */
  mbPerSec: number
  fsyncsPerSec: number
  recordsPerFsync: number
  p50Ms: number
  p99Ms: number
}

export interface WalBenchResult {
  date: string
  node: string
  fsync: boolean
  durationMs: number
  figures: WalBenchFigure[]
}

export interface WalBenchOptions {
  durationMs?: number
  recordBytes?: number[]
  concurrency?: number[]
  fsync?: boolean
  /** Parent of the temporary log directories; default os.tmpdir(). */
  dir?: string
}

export async function benchWal(opts: WalBenchOptions = {}): Promise<WalBenchResult> {
  const durationMs = opts.durationMs ?? 2000
  const fsync = opts.fsync ?? true
  const figures: WalBenchFigure[] = []
  for (const recordBytes of opts.recordBytes ?? [10 * 1024, 300 * 1024]) {
    for (const concurrency of opts.concurrency ?? [1, 8, 64]) {
      figures.push(await benchOne(opts.dir ?? tmpdir(), recordBytes, concurrency, durationMs, fsync))
    }
  }
  return { date: new Date().toISOString(), node: process.version, fsync, durationMs, figures }
}

async function benchOne(
  parent: string,
  recordBytes: number,
  concurrency: number,
  durationMs: number,
  fsync: boolean,
): Promise<WalBenchFigure> {
  const dir = await mkdtemp(join(parent, 'metrichouse-wal-bench-'))
  let fsyncs = 0
  const metrics: WalMetrics = { ...noopWalMetrics, observeFsync: () => void fsyncs++ }
  const wal = await WriteAheadLog.open({ dir, fsync, logger: silentLogger, metrics, maxBytes: Number.MAX_SAFE_INTEGER })
  const payload = randomBytes(recordBytes)
  const latencies: number[] = []
  try {
    const started = performance.now()
    const deadline = started + durationMs
    const appender = async (): Promise<void> => {
      while (performance.now() < deadline) {
        const t0 = performance.now()
        await wal.append(payload)
        latencies.push(performance.now() - t0)
      }
    }
    await Promise.all(Array.from({ length: concurrency }, appender))
    const seconds = (performance.now() - started) / 1000
    latencies.sort((a, b) => a - b)
    const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]
    return {
      recordBytes,
      concurrency,
      appendsPerSec: latencies.length / seconds,
      mbPerSec: (latencies.length * recordBytes) / seconds / 1e6,
      fsyncsPerSec: fsyncs / seconds,
      recordsPerFsync: fsyncs > 0 ? latencies.length / fsyncs : 0,
      p50Ms: at(0.5),
      p99Ms: at(0.99),
    }
  } finally {
    await wal.close()
    await rm(dir, { recursive: true, force: true })
  }
}

/** A Markdown table of the figures. */
export function formatWalBench(result: WalBenchResult): string {
  const rows = result.figures.map((f) =>
    [
      `${f.recordBytes / 1024} KiB`,
      f.concurrency,
      Math.round(f.appendsPerSec),
      f.mbPerSec.toFixed(1),
      Math.round(f.fsyncsPerSec),
      f.recordsPerFsync.toFixed(1),
      f.p50Ms.toFixed(2),
      f.p99Ms.toFixed(2),
    ].join(' | '),
  )
  return [
    `${result.date.slice(0, 10)}, Node ${result.node}, fsync ${result.fsync ? 'on' : 'off'}, ${result.durationMs} ms per row`,
    '',
    '| record | appenders | appends/s | MB/s | fsyncs/s | records/fsync | p50 ms | p99 ms |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r} |`),
  ].join('\n')
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const fsync = process.env.WAL_BENCH_FSYNC !== '0'
  console.log(formatWalBench(await benchWal({ durationMs: Number(process.env.WAL_BENCH_MS ?? 3000), fsync })))
}
