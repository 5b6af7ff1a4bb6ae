/**
 * Kafka path benchmark: the same node_exporter-like payloads as bench/http-ingest.ts
 * (2000 samples per request, distinct timestamps per request) through real processes:
 * a KRaft broker, `metrichouse adapter`, `metrichouse ingester`, and `metrichouse store`
 * (the embedded ClickHouse behind its HTTP interface).
 *   1. adapter: C clients post for D ms with no ingester running; samples/s acknowledged
 *      (acks=all), and per CPU second of the adapter process = samples/s per core.
 *   2. ingester: started on the backlog; samples/s until ClickHouse counts all of them,
 *      CPU of the ingester and of the store, and a V8 CPU profile of the ingester
 *      (self time by function, top entries).
 *   3. latency: with both running, a light steady load (20k samples/s) plus a probe request every 100 ms;
 *      for each probe the time from its 2xx to the moment a query sees it: p50/p99.
 * Run alone: node --import tsx bench/kafka.ts (after npm run build).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { availableParallelism } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { encodeWriteRequestV1 } from '../proto/encode-v1.js'
import { createSnappyCodec } from '../proto/snappy.js'
import { KafkaStack } from '../test/peers/kafka-stack.js'
import type { MetrichouseRole } from '../test/peers/metrichouse-role.js'
import { buildBodies, cpuSeconds, peakRssKiB } from './http-ingest.js'

export interface KafkaBenchOptions {
  durationMs?: number
  concurrency?: number
  payloads?: number
  partitions?: number
  latencyMs?: number
  /** Partitions the ingester inserts at the same time. Default 3. */
  ingestConcurrency?: number
  log?: (line: string) => void
}

export interface ProfileEntry {
  function: string
  file: string
  selfPercent: number
}

export interface KafkaBenchResult {
  date: string
  node: string
  cpus: number
  options: Required<Omit<KafkaBenchOptions, 'log'>>
  samplesPerRequest: number
  meanRequestBytes: number
  adapter: { samplesPerSec: number; cpuSec: number; samplesPerCpuSec: number; brokerCpuSec: number; peakRssMiB: number; rejected: Record<string, number>; acceptedSamples: number; elapsedSec: number; kafkaBytesPerSample: number; samplesPerMessage: number }
  ingester: { samplesPerSec: number; elapsedSec: number; startupSec: number; cpuSec: number; samplesPerCpuSec: number; storeCpuSec: number; peakRssMiB: number; stored: number }
  latency: { probes: number; p50Ms: number; p99Ms: number; maxMs: number }
  profile: ProfileEntry[]
  /** The adapter's, over the whole run (mostly the adapter stage). */
  adapterProfile: ProfileEntry[]
}

const WRITE_HEADERS = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' }

function post(agent: Agent, url: URL, body: Uint8Array): Promise<number> {
  return new Promise((done) => {
    const req = request({ agent, host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { ...WRITE_HEADERS, 'content-length': body.length } }, (res) => {
      res.resume()
      res.once('end', () => done(res.statusCode ?? 0))
      res.once('error', () => done(0))
    })
    req.once('error', () => done(0))
    req.end(body)
  })
}

function pid(role: MetrichouseRole): number {
  const p = role.process.peerPid()
  if (p === undefined) throw new Error(`no process under ${role.process.name}`)
  return p
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
}

/** Self time per function of a V8 .cpuprofile, top `limit`, idle and GC apart. */
export function summariseProfile(file: string, limit = 15): ProfileEntry[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[]
    samples: number[]
    timeDeltas: number[]
  }
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map<string, number>()
  let total = 0
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i])
    if (!node) continue
    const dt = profile.timeDeltas[i] ?? 0
    if (node.callFrame.functionName === '(idle)') continue
    total += dt
    const root = resolve(fileURLToPath(new URL('..', import.meta.url)))
    const url = node.callFrame.url.replace('file://', '').replace(root + '/', '')
    const key = `${node.callFrame.functionName || '(anonymous)'}\t${url.replace(/^.*node_modules\//, 'node_modules/')}`
    self.set(key, (self.get(key) ?? 0) + dt)
  }
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([key, t]) => {
      const [fn, file_] = key.split('\t')
      return { function: fn, file: file_ || '(native)', selfPercent: (100 * t) / total }
    })
}

export async function benchKafka(opts: KafkaBenchOptions = {}): Promise<KafkaBenchResult> {
  const options = {
    durationMs: opts.durationMs ?? 10_000,
    concurrency: opts.concurrency ?? 8,
    payloads: opts.payloads ?? 3000,
    partitions: opts.partitions ?? 6,
    latencyMs: opts.latencyMs ?? 10_000,
    ingestConcurrency: opts.ingestConcurrency ?? 3,
  }
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`))
  const t0 = Date.now() - 30 * 60_000
  log(`kafka: building ${options.payloads} payloads`)
  const bodies = await buildBodies(2000, 1, t0, options.payloads)
  const samplesPerRequest = 2000
  const meanRequestBytes = bodies.reduce((n, b) => n + b.length, 0) / bodies.length
  const stack = await KafkaStack.start({ partitions: options.partitions, topic: 'bench' })
  try {
    const profileDir = join(stack.dir.path, 'profile')
    const adapter = await stack.addAdapter(['--limits-max-concurrent-writes', '256'], [`--cpu-prof`, `--cpu-prof-dir=${join(profileDir, 'adapter')}`])
    const adapterPid = pid(adapter)
    const brokerPid = stack.broker.pid()

    // 1. adapter alone
    log(`kafka: adapter, ${options.concurrency} clients for ${options.durationMs} ms`)
    const url = new URL(adapter.writeUrl)
    const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency })
    const cpu0 = cpuSeconds(adapterPid)
    const broker0 = brokerPid ? cpuSeconds(brokerPid) : 0
    const started = performance.now()
    const deadline = started + options.durationMs
    let next = 0
    let accepted = 0
    let lastAt = started
    const rejected: Record<string, number> = {}
    await Promise.all(
      Array.from({ length: options.concurrency }, async () => {
        while (performance.now() < deadline && next < bodies.length) {
          const body = bodies[next++]
          const status = await post(agent, url, body)
          lastAt = performance.now()
          if (status === 204) accepted += samplesPerRequest
          else rejected[String(status)] = (rejected[String(status)] ?? 0) + 1
        }
      }),
    )
    agent.destroy()
    const elapsedSec = (lastAt - started) / 1000
    const adapterCpu = cpuSeconds(adapterPid) - cpu0
    const adapterFigures = {
      samplesPerSec: accepted / elapsedSec,
      cpuSec: adapterCpu,
      samplesPerCpuSec: accepted / adapterCpu,
      brokerCpuSec: brokerPid ? cpuSeconds(brokerPid) - broker0 : NaN,
      peakRssMiB: peakRssKiB(adapterPid) / 1024,
      rejected,
      acceptedSamples: accepted,
      elapsedSec,
      kafkaBytesPerSample: 0,
      samplesPerMessage: 0,
    }
    const producedBytes = await adapter.metricSum('metrichouse_kafka_produced_bytes_total')
    const producedMessages = await adapter.metricSum('metrichouse_kafka_produced_messages_total')
    Object.assign(adapterFigures, { kafkaBytesPerSample: producedBytes / accepted, samplesPerMessage: accepted / producedMessages })
    log(`kafka: adapter ${Math.round(adapterFigures.samplesPerSec)} samples/s, ${Math.round(adapterFigures.samplesPerCpuSec)} per CPU s`)

    // 2. ingester on the backlog, profiled
    const storePid = pid(stack.store)
    const store0 = cpuSeconds(storePid)
    const ingestStarted = performance.now()
    const ingester = await stack.addIngester(['--kafka-batch-wait', '500ms', '--kafka-partitions-consumed-concurrently', String(options.ingestConcurrency)], ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, 'ingester')}`])
    const ingesterPid = pid(ingester)
    // The clock restarts once the ingester is ready (process start, schema check and group
    // join are not ingest time); what it stored meanwhile is subtracted.
    const readyAt = performance.now()
    const storedAtReady = await stack.queryNumber(`SELECT count() FROM samples WHERE metric_name LIKE 'node_%'`)
    const startupSec = (readyAt - ingestStarted) / 1000
    let stored = 0
    while (performance.now() - ingestStarted < 300_000) {
      stored = await stack.queryNumber(`SELECT count() FROM samples WHERE metric_name LIKE 'node_%'`).catch(() => stored)
      if (stored >= accepted) break
      await new Promise((r) => setTimeout(r, 200))
    }
    const ingestSec = (performance.now() - readyAt) / 1000
    const ingesterFigures = {
      samplesPerSec: (stored - storedAtReady) / ingestSec,
      elapsedSec: ingestSec,
      startupSec,
      cpuSec: cpuSeconds(ingesterPid),
      samplesPerCpuSec: stored / cpuSeconds(ingesterPid),
      storeCpuSec: cpuSeconds(storePid) - store0,
      peakRssMiB: peakRssKiB(ingesterPid) / 1024,
      stored,
    }
    log(`kafka: ingester ${Math.round(ingesterFigures.samplesPerSec)} samples/s (${stored} of ${accepted} in ${ingestSec.toFixed(1)} s)`)

    // 3. latency from 2xx to queryable
    log(`kafka: latency for ${options.latencyMs} ms`)
    const snappy = await createSnappyCodec()
    const acked = new Map<number, number>()
    const seen = new Map<number, number>()
    const latencyAgent = new Agent({ keepAlive: true, maxSockets: 4 })
    const stopAt = performance.now() + options.latencyMs
    // A light steady load (one 2000-sample request per 100 ms) beside the probes: latency
    // is measured on a path that is busy but keeps up, not on a growing backlog.
    const background = (async () => {
      let k = next
      while (performance.now() < stopAt && k < bodies.length) {
        await post(latencyAgent, url, bodies[k++])
        await new Promise((r) => setTimeout(r, 100))
      }
    })()
    const probes = (async () => {
      for (let i = 0; performance.now() < stopAt; i++) {
        const body = snappy.compress(encodeWriteRequestV1([{ labels: [{ name: '__name__', value: 'bench_latency_probe' }], samples: [{ timestampMs: Date.now(), value: i }] }]))
        if ((await post(latencyAgent, url, body)) === 204) acked.set(i, performance.now())
        await new Promise((r) => setTimeout(r, 100))
      }
    })()
    const poller = (async () => {
      while (performance.now() < stopAt + 5000) {
        const text = await stack.query(`SELECT toUInt32(value) FROM samples WHERE metric_name = 'bench_latency_probe'`).catch(() => '')
        const now = performance.now()
        for (const line of text.split('\n')) if (line !== '' && !seen.has(Number(line))) seen.set(Number(line), now)
        if (performance.now() > stopAt && seen.size >= acked.size) break
        await new Promise((r) => setTimeout(r, 25))
      }
    })()
    await Promise.all([background, probes, poller])
    latencyAgent.destroy()
    const latencies = [...acked].filter(([i]) => seen.has(i)).map(([i, at]) => Math.max(0, seen.get(i)! - at)).sort((a, b) => a - b)
    const latency = { probes: latencies.length, p50Ms: quantile(latencies, 0.5), p99Ms: quantile(latencies, 0.99), maxMs: latencies[latencies.length - 1] ?? NaN }
    log(`kafka: latency p50 ${latency.p50Ms.toFixed(0)} ms, p99 ${latency.p99Ms.toFixed(0)} ms over ${latency.probes} probes`)

    await Promise.all([ingester.stop(), adapter.stop()])
    const summary = (role: string) => {
      const dir = join(profileDir, role)
      const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))
      return files.length > 0 ? summariseProfile(join(dir, files[0])) : []
    }
    const profile = summary('ingester')
    const adapterProfile = summary('adapter')
    return {
      date: new Date().toISOString(),
      node: process.version,
      cpus: availableParallelism(),
      options,
      samplesPerRequest,
      meanRequestBytes,
      adapter: adapterFigures,
      ingester: ingesterFigures,
      latency,
      profile,
      adapterProfile,
    }
  } finally {
    await stack.dispose()
  }
}

export function formatKafkaBench(r: KafkaBenchResult): string {
  const n = (v: number, d = 0) => v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d })
  return [
    `${r.date.slice(0, 10)}, Node ${r.node}, ${r.cpus} CPUs, ${r.options.partitions} partitions, ${r.options.concurrency} clients, ${r.samplesPerRequest} samples (${Math.round(r.meanRequestBytes / 1024)} KiB snappy) per request`,
    '',
    '| stage | samples/s | CPU s | samples per CPU s (per core) | other |',
    '|---|---|---|---|---|',
    `| adapter -> Kafka (acks=all, 2xx) | ${n(r.adapter.samplesPerSec)} | ${n(r.adapter.cpuSec, 1)} | ${n(r.adapter.samplesPerCpuSec)} | broker ${n(r.adapter.brokerCpuSec, 1)} CPU s, ${n(r.adapter.kafkaBytesPerSample, 1)} bytes/sample in Kafka, ${n(r.adapter.samplesPerMessage)} samples/message, adapter RSS ${n(r.adapter.peakRssMiB)} MiB, refused ${JSON.stringify(r.adapter.rejected)} |`,
    `| ingester Kafka -> ClickHouse | ${n(r.ingester.samplesPerSec)} | ${n(r.ingester.cpuSec, 1)} | ${n(r.ingester.samplesPerCpuSec)} | store (ClickHouse) ${n(r.ingester.storeCpuSec, 1)} CPU s, ${n(r.ingester.stored)} stored, ${n(r.ingester.elapsedSec, 1)} s after a start of ${n(r.ingester.startupSec, 1)} s |`,
    '',
    `2xx -> queryable: p50 ${n(r.latency.p50Ms)} ms, p99 ${n(r.latency.p99Ms)} ms, max ${n(r.latency.maxMs)} ms (${r.latency.probes} probes)`,
    '',
    'ingester CPU profile, self time:',
    '',
    '| % | function | file |',
    '|---|---|---|',
    ...r.profile.map((p) => `| ${n(p.selfPercent, 1)} | ${p.function} | ${p.file} |`),
    '',
    'adapter CPU profile, self time:',
    '',
    '| % | function | file |',
    '|---|---|---|',
    ...r.adapterProfile.map((p) => `| ${n(p.selfPercent, 1)} | ${p.function} | ${p.file} |`),
  ].join('\n')
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const env = process.env
  const result = await benchKafka({
    durationMs: env.BENCH_KAFKA_MS ? Number(env.BENCH_KAFKA_MS) : undefined,
    concurrency: env.BENCH_KAFKA_CLIENTS ? Number(env.BENCH_KAFKA_CLIENTS) : undefined,
    payloads: env.BENCH_KAFKA_PAYLOADS ? Number(env.BENCH_KAFKA_PAYLOADS) : undefined,
    ingestConcurrency: env.BENCH_KAFKA_INGEST_CONCURRENCY ? Number(env.BENCH_KAFKA_INGEST_CONCURRENCY) : undefined,
    latencyMs: env.BENCH_KAFKA_LATENCY_MS ? Number(env.BENCH_KAFKA_LATENCY_MS) : undefined,
  })
  console.log(formatKafkaBench(result))
}
