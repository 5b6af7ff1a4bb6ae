/**
 * HTTP ingest benchmark: the same snappy remote-write 1.0 payloads (node_exporter-like,
 * 10 labels per series, 2000 samples per request) posted by N concurrent keep-alive
 * clients for a fixed time to
 *   (a) `metrichouse serve` (HTTP -> WAL -> ClickHouse),
 *   (b) Debian's victoria-metrics (single node),
 *   (c) Debian's Prometheus 2.42 with --web.enable-remote-write-receiver,
 * each started fresh on free ports with its data in a temporary directory. Measured per
 * receiver: accepted samples/s, its CPU seconds (/proc/PID/stat utime+stime) and peak RSS
 * (/proc/PID/status VmHWM); for metrichouse also end to end, until every accepted sample
 * is counted in ClickHouse. Run alone: node --import tsx bench/http-ingest.ts
 *
 * Every request carries distinct timestamps (request r is the base payload shifted by r
 * ms), so no receiver can deduplicate. The payloads are built before the clock starts: the
 * load generator shares the machine with the receiver and should spend its CPU on sending.
 */
import { readFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { availableParallelism } from 'node:os'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createSnappyCodec } from '../proto/snappy.js'
import { Metrichouse } from '../test/peers/metrichouse.js'
import type { PeerProcess } from '../test/peers/process.js'
import { startPrometheus } from '../test/peers/prometheus.js'
import { startVictoriaMetrics } from '../test/peers/victoria-metrics.js'
import { makeNodeExporterPayload } from './payloads.js'

export type Receiver = 'metrichouse' | 'victoria-metrics' | 'prometheus'

export interface HttpIngestOptions {
  /** Sending time per receiver. Default 10 s. */
  durationMs?: number
  /** Concurrent HTTP clients. Default 4. */
  concurrency?: number
  /** Series per request. Default 2000. */
  seriesPerRequest?: number
  /** Samples per series per request. Default 1 (so 2000 samples per request, as Prometheus sends). */
  samplesPerSeries?: number
  /**
   * Distinct payloads built up front. A run ends after `durationMs` or when they are all
   * sent, whichever comes first; rates are over the time actually spent. Default 6000
   * (12M samples, about 300 MB of compressed bodies).
   */
  payloads?: number
  receivers?: Receiver[]
  /** How long to wait for metrichouse to show every accepted sample in ClickHouse. Default 180 s. */
  endToEndTimeoutMs?: number
  log?: (line: string) => void
}

export interface ReceiverFigures {
  receiver: Receiver
  version: string
  requests: number
  acceptedSamples: number
  /** Answers other than 2xx, by status ("error" for a failed connection). */
  rejected: Record<string, number>
  /** 429/503 answers, each retried after a pause as a sender would. */
  retried: number
  elapsedSec: number
  /** Accepted samples per second of sending. */
  samplesPerSec: number
  /** metrichouse only: accepted samples / seconds until all of them were counted in ClickHouse. */
  endToEndSamplesPerSec?: number
  /** metrichouse only: samples counted in ClickHouse when the wait ended. */
  storedSamples?: number
  /** CPU seconds the receiver used while the clients sent (and, for metrichouse, until stored). */
  cpuSec: number
  /** cpuSec per second of that time: cores busy on average. */
  cpuCores: number
  /** Accepted samples per CPU second of the receiver. */
  samplesPerCpuSec: number
  /** VmHWM of the receiver at the end, MiB. */
  peakRssMiB: number
  /** CPU seconds of this load-generating process during the sending. */
  clientCpuSec: number
  /** True when the payloads ran out before durationMs. */
  payloadsExhausted: boolean
}

export interface HttpIngestResult {
  date: string
  node: string
  cpus: number
  options: Required<Omit<HttpIngestOptions, 'log' | 'receivers'>> & { receivers: Receiver[] }
  samplesPerRequest: number
  meanRequestBytes: number
  figures: ReceiverFigures[]
  ratios: { metrichouseOverVictoriaMetrics?: number; metrichouseOverPrometheus?: number }
}

const WRITE_HEADERS = {
  'content-type': 'application/x-protobuf',
  'content-encoding': 'snappy',
  'x-prometheus-remote-write-version': '0.1.0',
  'user-agent': 'metrichouse-bench/0.1',
}

export async function benchHttpIngest(opts: HttpIngestOptions = {}): Promise<HttpIngestResult> {
  const options = {
    durationMs: opts.durationMs ?? 10_000,
    concurrency: opts.concurrency ?? 4,
    seriesPerRequest: opts.seriesPerRequest ?? 2000,
    samplesPerSeries: opts.samplesPerSeries ?? 1,
    payloads: opts.payloads ?? 6000,
    endToEndTimeoutMs: opts.endToEndTimeoutMs ?? 180_000,
    receivers: opts.receivers ?? (['metrichouse', 'victoria-metrics', 'prometheus'] as Receiver[]),
  }
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`))
  // Half an hour back: inside every receiver's retention and accepted window, and the
  // shifts (one ms per request) never reach the present.
  const t0 = Date.now() - 30 * 60_000
  log(`http-ingest: building ${options.payloads} payloads of ${options.seriesPerRequest} x ${options.samplesPerSeries} samples`)
  const built = Date.now()
  const bodies = await buildBodies(options.seriesPerRequest, options.samplesPerSeries, t0, options.payloads)
  const samplesPerRequest = options.seriesPerRequest * options.samplesPerSeries
  const meanRequestBytes = bodies.reduce((sum, b) => sum + b.length, 0) / bodies.length
  log(`http-ingest: built in ${((Date.now() - built) / 1000).toFixed(1)} s, ${Math.round(meanRequestBytes)} bytes per request`)

  const figures: ReceiverFigures[] = []
  for (const receiver of options.receivers) {
    log(`http-ingest: ${receiver}: ${options.concurrency} clients for ${options.durationMs} ms`)
    const figure = await benchReceiver(receiver, bodies, samplesPerRequest, options, log)
    log(`http-ingest: ${receiver}: ${Math.round(figure.samplesPerSec)} samples/s`)
    figures.push(figure)
  }
  const rate = (r: Receiver) => figures.find((f) => f.receiver === r)?.samplesPerSec
  const mh = rate('metrichouse')
  const vm = rate('victoria-metrics')
  const prom = rate('prometheus')
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpus: availableParallelism(),
    options,
    samplesPerRequest,
    meanRequestBytes,
    figures,
    ratios: {
      metrichouseOverVictoriaMetrics: mh !== undefined && vm ? mh / vm : undefined,
      metrichouseOverPrometheus: mh !== undefined && prom ? mh / prom : undefined,
    },
  }
}

/**
 * `count` snappy bodies: the base payload with every timestamp shifted by r ms in body r.
 * The shift is written into the encoded protobuf in place (a varint of the same length),
 * which is a hundred times faster than encoding each request anew.
 */
export async function buildBodies(seriesCount: number, samplesPerSeries: number, t0: number, count: number): Promise<Uint8Array[]> {
  // Samples of one series lie 15 s (+ up to 20 ms jitter) apart in the generated payload,
  // so shifts below 14.9 s keep every (series, timestamp) distinct.
  if (samplesPerSeries > 1 && count >= 14_900) throw new Error(`http-ingest: at most 14899 payloads with ${samplesPerSeries} samples per series`)
  const base = makeNodeExporterPayload(seriesCount, samplesPerSeries, t0).protobuf
  const timestamps = findSampleTimestamps(base)
  if (timestamps.length !== seriesCount * samplesPerSeries) {
    throw new Error(`http-ingest: found ${timestamps.length} timestamps in the payload, want ${seriesCount * samplesPerSeries}`)
  }
  const codec = await createSnappyCodec()
  const bodies: Uint8Array[] = []
  const work = new Uint8Array(base)
  for (let r = 0; r < count; r++) {
    for (const ts of timestamps) writeVarintInPlace(work, ts.offset, ts.length, ts.value + r)
    bodies.push(codec.compress(work))
  }
  return bodies
}

interface TimestampField {
  offset: number
  length: number
  value: number
}

/**
 * Offsets of every Sample.timestamp varint in an encoded prometheus.WriteRequest:
 * WriteRequest.timeseries = 1 -> TimeSeries.samples = 2 -> Sample.timestamp = 2.
 */
export function findSampleTimestamps(buf: Uint8Array): TimestampField[] {
  const out: TimestampField[] = []
  walk(buf, 0, buf.length, (field, wire, start, end) => {
    if (field !== 1 || wire !== 2) return
    walk(buf, start, end, (f2, w2, s2, e2) => {
      if (f2 !== 2 || w2 !== 2) return
      walk(buf, s2, e2, (f3, w3, s3, e3) => {
        if (f3 === 2 && w3 === 0) out.push({ offset: s3, length: e3 - s3, value: Number(readVarint(buf, s3).value) })
      })
    })
  })
  return out
}

/** Calls `visit(field, wireType, start, end)` for each field in buf[from, to): the value's bytes. */
function walk(buf: Uint8Array, from: number, to: number, visit: (field: number, wire: number, start: number, end: number) => void): void {
  let pos = from
  while (pos < to) {
    const key = readVarint(buf, pos)
    pos = key.next
    const field = Number(key.value >> 3n)
    const wire = Number(key.value & 7n)
    let start = pos
    let end: number
    if (wire === 0) end = readVarint(buf, pos).next
    else if (wire === 1) end = pos + 8
    else if (wire === 5) end = pos + 4
    else if (wire === 2) {
      const length = readVarint(buf, pos)
      start = length.next
      end = start + Number(length.value)
    } else throw new Error(`http-ingest: wire type ${wire} at ${pos}`)
    visit(field, wire, start, end)
    pos = end
  }
}

function readVarint(buf: Uint8Array, pos: number): { value: bigint; next: number } {
  let value = 0n
  let shift = 0n
  for (;;) {
    const byte = buf[pos++]
    value |= BigInt(byte & 0x7f) << shift
    if ((byte & 0x80) === 0) return { value, next: pos }
    shift += 7n
  }
}

function writeVarintInPlace(buf: Uint8Array, offset: number, length: number, value: number): void {
  let v = value
  for (let i = 0; i < length; i++) {
    const last = i === length - 1
    buf[offset + i] = (v % 128) | (last ? 0 : 0x80)
    v = Math.floor(v / 128)
  }
  if (v !== 0) throw new Error(`http-ingest: timestamp ${value} no longer fits in ${length} varint bytes`)
}

interface StartedReceiver {
  writeUrl: string
  process: PeerProcess
  version: string
  stop(): Promise<void>
  /** metrichouse only: samples counted in ClickHouse. */
  storedSamples?: () => Promise<number>
}

async function startReceiver(receiver: Receiver): Promise<StartedReceiver> {
  if (receiver === 'metrichouse') {
    const server = await Metrichouse.start({ maxLifetimeMs: 15 * 60_000 })
    const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version
    return {
      writeUrl: server.writeUrl,
      process: server.process,
      version: `metrichouse ${version}`,
      stop: () => server.dispose(),
      storedSamples: () => server.queryNumber('SELECT count() FROM samples'),
    }
  }
  if (receiver === 'victoria-metrics') {
    const vm = await startVictoriaMetrics({ maxLifetimeMs: 15 * 60_000 })
    return { writeUrl: vm.writeUrl, process: vm.process, version: 'victoria-metrics (Debian 1.79)', stop: () => vm.stop() }
  }
  // Concurrent clients deliver a series' samples a few ms out of order; without an
  // out-of-order window Prometheus would reject those with 400.
  const prometheus = await startPrometheus({ remoteWriteReceiver: true, outOfOrderTimeWindow: '2h', maxLifetimeMs: 15 * 60_000 })
  return {
    writeUrl: `${prometheus.url}/api/v1/write`,
    process: prometheus.process,
    version: 'prometheus (Debian 2.42)',
    stop: () => prometheus.stop(),
  }
}

async function benchReceiver(
  receiver: Receiver,
  bodies: Uint8Array[],
  samplesPerRequest: number,
  options: { durationMs: number; concurrency: number; endToEndTimeoutMs: number },
  log: (line: string) => void,
): Promise<ReceiverFigures> {
  const started = await startReceiver(receiver)
  try {
    const pid = started.process.peerPid()
    if (pid === undefined) throw new Error(`${receiver}: no process under ${started.process.pid}`)
    const url = new URL(started.writeUrl)
    const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency })
    const cpuBefore = cpuSeconds(pid)
    const clientBefore = process.cpuUsage()
    const startedAt = performance.now()
    const deadline = startedAt + options.durationMs
    let next = 0
    let requests = 0
    let accepted = 0
    let retried = 0
    let lastAnswerAt = startedAt
    const rejected: Record<string, number> = {}

    const client = async () => {
      while (performance.now() < deadline && next < bodies.length) {
        const body = bodies[next++]
        for (;;) {
          const status = await post(agent, url, body)
          requests++
          lastAnswerAt = performance.now()
          if (status >= 200 && status < 300) {
            accepted += samplesPerRequest
            break
          }
          if ((status === 429 || status === 503) && performance.now() < deadline) {
            retried++
            await new Promise((r) => setTimeout(r, 100))
            continue
          }
          const key = status === 0 ? 'error' : String(status)
          rejected[key] = (rejected[key] ?? 0) + 1
          break
        }
      }
    }
    await Promise.all(Array.from({ length: options.concurrency }, client))
    agent.destroy()
    const elapsedSec = (lastAnswerAt - startedAt) / 1000
    const client_ = process.cpuUsage(clientBefore)
    const figure: ReceiverFigures = {
      receiver,
      version: started.version,
      requests,
      acceptedSamples: accepted,
      rejected,
      retried,
      elapsedSec,
      samplesPerSec: accepted / elapsedSec,
      cpuSec: 0,
      cpuCores: 0,
      samplesPerCpuSec: 0,
      peakRssMiB: 0,
      clientCpuSec: (client_.user + client_.system) / 1e6,
      payloadsExhausted: next >= bodies.length,
    }
    let busySec = elapsedSec
    if (started.storedSamples) {
      // End to end: until ClickHouse counts every accepted sample (the WAL flusher lags HTTP).
      const until = performance.now() + options.endToEndTimeoutMs
      let stored = 0
      while (performance.now() < until) {
        stored = await started.storedSamples().catch(() => stored)
        if (stored >= accepted) break
        await new Promise((r) => setTimeout(r, 200))
      }
      const doneSec = (performance.now() - startedAt) / 1000
      figure.storedSamples = stored
      if (stored >= accepted) {
        figure.endToEndSamplesPerSec = accepted / doneSec
        busySec = doneSec
      } else {
        log(`http-ingest: ${receiver}: only ${stored} of ${accepted} samples in ClickHouse after ${options.endToEndTimeoutMs} ms`)
      }
    }
    figure.cpuSec = cpuSeconds(pid) - cpuBefore
    figure.cpuCores = figure.cpuSec / busySec
    figure.samplesPerCpuSec = figure.cpuSec > 0 ? accepted / figure.cpuSec : 0
    figure.peakRssMiB = peakRssKiB(pid) / 1024
    return figure
  } finally {
    await started.stop()
  }
}

/** Posts one body; resolves to the status code, or 0 when the connection failed. */
function post(agent: Agent, url: URL, body: Uint8Array): Promise<number> {
  return new Promise((resolvePost) => {
    const req = request(
      { agent, host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { ...WRITE_HEADERS, 'content-length': body.length } },
      (res) => {
        res.resume()
        res.once('end', () => resolvePost(res.statusCode ?? 0))
        res.once('error', () => resolvePost(0))
      },
    )
    req.once('error', () => resolvePost(0))
    req.end(body)
  })
}

/** utime + stime of a process, in seconds (/proc/PID/stat fields 14 and 15, in clock ticks of 1/100 s). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // The command name (field 2) may contain spaces; fields after it start past the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // fields[0] is field 3 (state), so utime (14) is fields[11] and stime (15) fields[12].
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/** VmHWM (peak resident set size) of a process, KiB. */
export function peakRssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(status)
  return match ? Number(match[1]) : 0
}

/** The figures as a Markdown table, with the ratios under it. */
export function formatHttpIngest(result: HttpIngestResult): string {
  const fmt = (n: number | undefined, digits = 0) => (n === undefined ? '-' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }))
  const rows = result.figures.map((f) =>
    [
      f.receiver,
      fmt(f.samplesPerSec),
      fmt(f.endToEndSamplesPerSec),
      fmt(f.cpuSec, 1),
      fmt(f.cpuCores, 2),
      fmt(f.samplesPerCpuSec),
      fmt(f.peakRssMiB),
      fmt(f.acceptedSamples),
      Object.keys(f.rejected).length === 0 ? '0' : JSON.stringify(f.rejected),
      String(f.retried),
    ].join(' | '),
  )
  const ratio = (name: string, value: number | undefined) => `${name}: ${value === undefined ? '-' : `${value.toFixed(2)}x`}`
  const exhausted = result.figures.filter((f) => f.payloadsExhausted).map((f) => f.receiver)
  return [
    `${result.date.slice(0, 10)}, Node ${result.node}, ${result.cpus} CPUs, ${result.options.concurrency} clients, ` +
      `${result.samplesPerRequest} samples (${Math.round(result.meanRequestBytes / 1024)} KiB snappy) per request, ` +
      `${result.options.durationMs / 1000} s per receiver`,
    '',
    '| receiver | samples/s (HTTP 2xx) | samples/s end to end | CPU s | cores | samples per CPU s | peak RSS MiB | samples accepted | rejected | retried |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r} |`),
    '',
    `${ratio('metrichouse / victoria-metrics', result.ratios.metrichouseOverVictoriaMetrics)}, ` +
      `${ratio('metrichouse / prometheus', result.ratios.metrichouseOverPrometheus)} (HTTP samples/s)`,
    ...(exhausted.length > 0 ? [`payloads ran out before the time was up for: ${exhausted.join(', ')} (rates are over the time spent)`] : []),
  ].join('\n')
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const env = process.env
  const result = await benchHttpIngest({
    durationMs: env.BENCH_HTTP_MS ? Number(env.BENCH_HTTP_MS) : undefined,
    concurrency: env.BENCH_HTTP_CLIENTS ? Number(env.BENCH_HTTP_CLIENTS) : undefined,
    payloads: env.BENCH_HTTP_PAYLOADS ? Number(env.BENCH_HTTP_PAYLOADS) : undefined,
    receivers: env.BENCH_HTTP_RECEIVERS ? (env.BENCH_HTTP_RECEIVERS.split(',') as Receiver[]) : undefined,
  })
  console.log(formatHttpIngest(result))
}
