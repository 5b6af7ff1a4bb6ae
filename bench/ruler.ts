/**
 * Ruler capacity: 1000 alerting rules of the shapes public rule sets use (rate, histogram_quantile,
 * absent, sum by) over 10,000 series in an embedded ClickHouse, evaluated as the ruler does
 * (raw data, the real ClickHouse querier and PromQL engine), one cycle per 15 s interval.
 * Reports the time one cycle of all 50 groups takes when run back to back, and the CPU it
 * costs in cores at a 15 s interval (process CPU time, chDB included since it runs in-process).
 *
 * Runs in a child process (`node --import tsx bench/ruler.ts --child`): chDB allows one
 * session per process, and the query bench opens its own.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface RulerBenchResult {
  series: number
  rules: number
  groups: number
  samplesLoaded: number
  intervalSeconds: number
  cycles: { wallSeconds: number; cpuSeconds: number; storageReads: number; storageSeconds: number }[]
  /** Median cycle. */
  cycleSeconds: number
  /** CPU seconds per cycle / interval: cores used at that interval. */
  cores: number
  alertsFiring: number
}

const JOBS = 50
const INSTANCES = 10
const INTERVAL_MS = 15_000

export async function benchRuler(opts: { cycles?: number; log?: (line: string) => void } = {}): Promise<RulerBenchResult> {
  const self = fileURLToPath(import.meta.url)
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', self, '--child', String(opts.cycles ?? 5)], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d
      for (const line of d.split('\n')) if (line.startsWith('ruler:')) opts.log?.(line)
    })
    child.once('error', reject)
    child.once('close', (code) => {
      const json = out.split('\n').find((l) => l.startsWith('{'))
      if (code !== 0 || !json) reject(new Error(`ruler bench child exited ${code}: ${out.slice(-2000)}`))
      else resolve(JSON.parse(json) as RulerBenchResult)
    })
  })
}

export function formatRulerBench(r: RulerBenchResult): string {
  return [
    `${r.rules} alerting rules in ${r.groups} groups over ${r.series} series (${r.samplesLoaded.toLocaleString('en-US')} samples), interval ${r.intervalSeconds} s:`,
    '',
    '| cycle | wall s | CPU s | storage reads | in storage reads, s |',
    '|---|---|---|---|---|',
    ...r.cycles.map((c, i) => `| ${i + 1} | ${c.wallSeconds.toFixed(2)} | ${c.cpuSeconds.toFixed(2)} | ${c.storageReads} | ${c.storageSeconds.toFixed(2)} |`),
    '',
    `median cycle ${r.cycleSeconds.toFixed(2)} s of ${r.intervalSeconds} s; CPU ${r.cores.toFixed(2)} cores at that interval; ${r.alertsFiring} alerts firing`,
  ].join('\n')
}

/** 10,000 series: requests (1000), latency buckets (5000), up (500), queue depths (3500). */
function fleet(now: number, minutes: number) {
  const series: { labels: Record<string, string>; timestamps: number[]; values: number[] }[] = []
  const steps = (minutes * 60_000) / INTERVAL_MS
  const times = Array.from({ length: steps }, (_, i) => now - (steps - 1 - i) * INTERVAL_MS)
  const add = (labels: Record<string, string>, value: (i: number) => number) => series.push({ labels, timestamps: times, values: times.map((_, i) => value(i)) })
  for (let j = 0; j < JOBS; j++) {
    const job = `job-${j}`
    for (let n = 0; n < INSTANCES; n++) {
      const instance = `host-${n}:9100`
      for (const code of ['200', '500']) add({ __name__: 'http_requests_total', job, instance, code }, (i) => i * (code === '200' ? 100 : 1 + j % 7))
      let cumulative = 0
      for (const [k, le] of ['0.005', '0.01', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '+Inf'].entries()) {
        const share = 10 + k * 5
        cumulative += share
        const c = cumulative
        add({ __name__: 'http_request_duration_seconds_bucket', job, instance, le }, (i) => i * c)
      }
      add({ __name__: 'up', job, instance }, () => (n === 0 && j % 10 === 0 ? 0 : 1))
      for (let q = 0; q < 7; q++) add({ __name__: 'queue_depth', job, instance, queue: `q${q}` }, (i) => (q * 300 + i * 3 + n) % 5000)
    }
  }
  return series
}

function rulesYaml(): string {
  const groups: string[] = []
  for (let j = 0; j < JOBS; j++) {
    const job = `job-${j}`
    const rules: string[] = []
    for (let k = 0; k < 5; k++) {
      rules.push(`  - alert: HighErrorRate${k}\n    expr: sum by (job, instance) (rate(http_requests_total{job="${job}", code="500"}[5m])) / sum by (job, instance) (rate(http_requests_total{job="${job}"}[5m])) > ${0.01 * (k + 1)}\n    for: 5m\n    labels: {severity: warning}\n    annotations: {summary: '{{ $labels.instance }} errors at {{ $value | humanizePercentage }}'}`)
      rules.push(`  - alert: SlowRequests${k}\n    expr: histogram_quantile(0.${90 + k}, sum by (le) (rate(http_request_duration_seconds_bucket{job="${job}"}[5m]))) > ${0.5 + k * 0.5}\n    for: 10m\n    labels: {severity: warning}\n    annotations: {summary: 'p9${k} latency {{ $value | humanizeDuration }}'}`)
      rules.push(`  - alert: TargetMissing${k}\n    expr: absent(up{job="${job}", instance="host-${k}:9100"})\n    for: 5m\n    labels: {severity: critical}\n    annotations: {summary: 'host-${k} of ${job} is gone'}`)
      rules.push(`  - alert: QueueBacklog${k}\n    expr: sum by (job, queue) (queue_depth{job="${job}"}) > ${10_000 + k * 5_000}\n    for: 5m\n    labels: {severity: warning}\n    annotations: {summary: '{{ $labels.queue }} holds {{ $value | humanize }}'}`)
    }
    groups.push(`- name: ${job}\n  interval: 15s\n  rules:\n${rules.join('\n')}`)
  }
  return `groups:\n${groups.join('\n')}\n`
}

async function child(cycles: number): Promise<void> {
  const { Registry } = await import('prom-client')
  const { openStore } = await import('../store/connection.js')
  const { migrate } = await import('../store/schema.js')
  const { publicSchema } = await import('../rollup/public-schema.js')
  const { ClickHouseSampleStore } = await import('../store/sample-store.js')
  const { SeriesLoader } = await import('../query/series-loader.js')
  const { ClickHouseQuerier } = await import('../query/clickhouse-querier.js')
  const { createEngine } = await import('../promql/engine.js')
  const { RuleManager } = await import('../ruler/manager.js')
  const { RulerMetrics } = await import('../ruler/metrics.js')
  const { silentLogger } = await import('../observability/logger.js')

  const dir = await mkdtemp(join(tmpdir(), 'metrichouse-bench-ruler-'))
  const store = await openStore({ dataDir: join(dir, 'data'), database: 'default' })
  try {
    await migrate(store.readWrite, publicSchema({ rawRetentionMs: 7 * 86_400_000 }))
    const now = Math.floor(Date.now() / INTERVAL_MS) * INTERVAL_MS
    const series = fleet(now, 20)
    const loader = await SeriesLoader.create(new ClickHouseSampleStore(store.insertRaw))
    const samplesLoaded = await loader.load(series)
    console.log(`ruler: loaded ${series.length} series, ${samplesLoaded} samples`)
    const rulesFile = join(dir, 'rules.yml')
    await writeFile(rulesFile, rulesYaml())
    let written = 0
    const base = new ClickHouseQuerier(store.readOnly)
    const reads = { calls: 0, ms: 0 }
    const querier = {
      async select(...args: Parameters<typeof base.select>) {
        const t = performance.now()
        try {
          return await base.select(...args)
        } finally {
          reads.calls++
          reads.ms += performance.now() - t
        }
      },
    }
    const manager = new RuleManager({
      ruleFiles: [rulesFile],
      engine: createEngine(),
      querier,
      writer: { write: async (s) => void (written += s.length) },
      metrics: new RulerMetrics(new Registry()),
      logger: silentLogger,
    })
    const loaded = await manager.reload()
    if (!loaded.ok) throw new Error(loaded.error)
    const rules = manager.ruleGroups().reduce((n, g) => n + g.spec.rules.length, 0)
    const results: RulerBenchResult['cycles'] = []
    for (let c = 0; c < cycles; c++) {
      const ts = now - (cycles - 1 - c) * INTERVAL_MS
      const cpu = process.cpuUsage()
      reads.calls = 0
      reads.ms = 0
      const t0 = performance.now()
      await manager.evaluateAll(ts)
      const wall = (performance.now() - t0) / 1000
      const used = process.cpuUsage(cpu)
      results.push({ wallSeconds: wall, cpuSeconds: (used.user + used.system) / 1e6, storageReads: reads.calls, storageSeconds: reads.ms / 1000 })
      console.log(`ruler: cycle ${c + 1}: ${wall.toFixed(2)} s wall, ${((used.user + used.system) / 1e6).toFixed(2)} s CPU, ${reads.calls} storage reads taking ${(reads.ms / 1000).toFixed(2)} s`)
    }
    const failing = manager.ruleGroups().flatMap((g) => g.spec.rules).filter((r) => r.health === 'err')
    if (failing.length > 0) throw new Error(`${failing.length} rules failed, e.g. ${failing[0]!.name}: ${failing[0]!.lastError}`)
    const firing = manager.ruleGroups().flatMap((g) => g.spec.rules).flatMap((r) => (r.kind === 'alerting' ? r.alerts().filter((a) => a.state !== 'inactive') : [])).length
    // The first cycle warms caches (regex compilation, chDB marks): the median is the steady state.
    const sorted = results.map((r) => r.wallSeconds).sort((a, b) => a - b)
    const median = sorted[Math.floor(sorted.length / 2)]!
    const cpuSorted = results.map((r) => r.cpuSeconds).sort((a, b) => a - b)
    const result: RulerBenchResult = {
      series: series.length,
      rules,
      groups: manager.ruleGroups().length,
      samplesLoaded,
      intervalSeconds: INTERVAL_MS / 1000,
      cycles: results,
      cycleSeconds: median,
      cores: cpuSorted[Math.floor(cpuSorted.length / 2)]! / (INTERVAL_MS / 1000),
      alertsFiring: firing,
    }
    void written
    console.log(JSON.stringify(result))
  } finally {
    await store.close()
    await rm(dir, { recursive: true, force: true })
  }
}

if (process.argv[2] === '--child') {
  child(Number(process.argv[3] ?? 5)).then(
    () => process.exit(0),
    (err) => {
      console.error(err)
      process.exit(1)
    },
  )
}
