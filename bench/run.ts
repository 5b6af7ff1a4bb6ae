/**
 * `npm run bench`: every benchmark of the write path in one run, printed as tables and
 * written as JSON to bench/results/latest.json (bench/README.md records the figures).
 *   1. decode: snappy + remote-write 1.0 decode + fingerprint, one core (bench/decode.ts)
 *   2. WAL: append throughput with fsync (wal/bench.ts)
 *   3. HTTP ingest: metrichouse serve vs victoria-metrics vs Prometheus (bench/http-ingest.ts)
 *   4. kafka: adapter -> Kafka -> ingester -> ClickHouse, real broker (bench/kafka.ts)
 *   4b. rollup: insert with vs without rollups, bytes per sample and per rollup row, increase over 30 d raw vs 1m (bench/rollup.ts)
 *   5. query: PromQL API latency vs Prometheus, cache cold/warm, rollups vs raw, push-downs (bench/query.ts)
 *   6. ruler: 1000 alerting rules over 10k series every 15 s, cycle time and CPU (bench/ruler.ts)
 *   7. rules-test: `rules test` vs `promtool test rules` on kubernetes-mixin's unit tests (bench/rules-test.ts)
 *   8. aggregation: ingester CPU with and without stream-aggregation rules, a `sum without (instance)`
 *      dashboard over 1000 pools x 100 servers raw against pre-aggregated (bench/aggregation.ts)
 * Environment: BENCH_ONLY=decode,wal,http,kafka picks parts; BENCH_HTTP_MS, BENCH_HTTP_CLIENTS,
 * BENCH_HTTP_PAYLOADS, BENCH_HTTP_RECEIVERS tune the HTTP part; BENCH_DECODE_MS, BENCH_WAL_MS
 * the others. `npm run bench` builds first, because the HTTP part runs dist/cli/main.js.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { availableParallelism, cpus } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { benchWal, formatWalBench, type WalBenchResult } from '../wal/bench.js'
import { benchAggregation, formatAggregationBench, type AggregationBenchResult } from './aggregation.js'
import { benchDecode, type DecodeBenchResult } from './decode.js'
import { benchHttpIngest, formatHttpIngest, type HttpIngestResult, type Receiver } from './http-ingest.js'
import { benchKafka, formatKafkaBench, type KafkaBenchResult } from './kafka.js'
import { benchQuery, formatQueryBench, type QueryBenchResult } from './query.js'
import { benchRollup, formatRollupBench, type RollupBenchResult } from './rollup.js'
import { benchRuler, formatRulerBench, type RulerBenchResult } from './ruler.js'
import { benchRulesTest, formatRulesTestBench, type RulesTestBenchResult } from './rules-test.js'

interface BenchResults {
  date: string
  node: string
  cpus: number
  cpuModel: string
  decode?: DecodeBenchResult[]
  wal?: WalBenchResult
  httpIngest?: HttpIngestResult
  kafka?: KafkaBenchResult
  rollup?: RollupBenchResult
  query?: QueryBenchResult
  ruler?: RulerBenchResult
  rulesTest?: RulesTestBenchResult
  aggregation?: AggregationBenchResult
  errors: Record<string, string>
}

const env = process.env
const number = (name: string): number | undefined => (env[name] ? Number(env[name]) : undefined)
const parts = new Set((env.BENCH_ONLY ?? 'decode,wal,http,kafka,rollup,query,ruler,rules-test,aggregation').split(','))

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

await part('kafka', async () => {
  results.kafka = await benchKafka({
    durationMs: number('BENCH_KAFKA_MS'),
    concurrency: number('BENCH_KAFKA_CLIENTS'),
    payloads: number('BENCH_KAFKA_PAYLOADS'),
    log: (line) => console.log(line),
  })
  console.log(`\n${formatKafkaBench(results.kafka)}`)
})

await part('rollup', async () => {
  results.rollup = await benchRollup({}, (line) => console.log(line))
  console.log(`\n${formatRollupBench(results.rollup)}`)
})

await part('query', async () => {
  results.query = await benchQuery({ runs: number('BENCH_QUERY_RUNS'), monthDays: number('BENCH_QUERY_DAYS'), log: (line) => console.log(line) })
  console.log(`\n${formatQueryBench(results.query)}`)
})

await part('ruler', async () => {
  results.ruler = await benchRuler({ cycles: number('BENCH_RULER_CYCLES'), log: (line) => console.log(line) })
  console.log(`\n${formatRulerBench(results.ruler)}`)
})

await part('rules-test', async () => {
  results.rulesTest = await benchRulesTest({ runs: number('BENCH_RULES_TEST_RUNS'), log: (line) => console.log(line) })
  console.log(`\n${formatRulesTestBench(results.rulesTest)}`)
})

await part('aggregation', async () => {
  results.aggregation = await benchAggregation({ log: (line) => console.log(line) })
  console.log(`\n${formatAggregationBench(results.aggregation)}`)
})

const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'latest.json')
await mkdir(dirname(out), { recursive: true })
await writeFile(out, `${JSON.stringify(results, null, 2)}\n`)
console.log(`\nwrote ${out}`)
if (Object.keys(results.errors).length > 0) process.exitCode = 1
