/**
 * A scrape target on 127.0.0.1 that serves node_exporter-like text exposition: counters
 * that grow deterministically with each scrape, gauges, a classic histogram and
 * optionally the special values NaN, +Inf and -Inf. It counts the samples it served, which
 * is the oracle for senders that keep no database of their own (vmagent).
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface ScrapeTargetOptions {
  /** CPUs reported by node_cpu_seconds_total (x 8 modes). Default 2. */
  cpus?: number
  /** Extra gauge series `node_textfile_test_gauge{index="i"}` to make scrapes bigger. Default 0. */
  extraSeries?: number
  /** Add `node_special_value` cycling through NaN, +Inf, -Inf and 0. Default false. */
  specialValues?: boolean
  /** Host/port to listen on; default 127.0.0.1 and a free port. */
  port?: number
}

export interface ScrapeTarget {
  /** "127.0.0.1:PORT", the form scrape configs want. */
  address: string
  url: string
  /** Scrapes answered 200 and fully written. */
  servedScrapes(): number
  /** Samples in those answers (one per exposition line). */
  servedSamples(): number
  /** Series in every answer (the series set never changes). */
  seriesPerScrape: number
  /** Names of every metric the target serves (with _bucket/_sum/_count for the histogram). */
  metricNames: string[]
  /** Answer 503 from now on, then close the listener and every connection. */
  stop(): Promise<void>
}

const CPU_MODES = ['idle', 'iowait', 'irq', 'nice', 'softirq', 'steal', 'system', 'user']
const BUCKETS = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '+Inf']
const SPECIAL = ['NaN', '+Inf', '-Inf', '0']

/** The exposition body for the `n`th scrape (n >= 1): the same series every time, values a function of n. */
export function renderExposition(n: number, options: ScrapeTargetOptions = {}): { body: string; samples: number } {
  const cpus = options.cpus ?? 2
  const lines: string[] = []
  let samples = 0
  const sample = (line: string) => {
    lines.push(line)
    samples++
  }
  lines.push('# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.', '# TYPE node_cpu_seconds_total counter')
  for (let cpu = 0; cpu < cpus; cpu++) {
    CPU_MODES.forEach((mode, i) => sample(`node_cpu_seconds_total{cpu="${cpu}",mode="${mode}"} ${(n * (i + 1) * 0.25).toFixed(2)}`))
  }
  lines.push('# HELP node_memory_MemAvailable_bytes Memory information field MemAvailable_bytes.', '# TYPE node_memory_MemAvailable_bytes gauge')
  sample(`node_memory_MemAvailable_bytes ${8_000_000_000 - (n % 100) * 1_048_576}`)
  lines.push('# HELP node_load1 1m load average.', '# TYPE node_load1 gauge')
  sample(`node_load1 ${((n % 17) / 8).toFixed(3)}`)
  lines.push('# HELP node_network_receive_bytes_total Network device statistic receive_bytes.', '# TYPE node_network_receive_bytes_total counter')
  for (const device of ['eth0', 'lo']) sample(`node_network_receive_bytes_total{device="${device}"} ${n * 1500}`)
  lines.push('# HELP node_filesystem_avail_bytes Filesystem space available to non-root users in bytes.', '# TYPE node_filesystem_avail_bytes gauge')
  sample(`node_filesystem_avail_bytes{device="/dev/sda1",fstype="ext4",mountpoint="/"} ${50_000_000_000 - n * 4096}`)
  lines.push('# HELP node_scrape_handler_seconds Time spent answering scrapes (synthetic).', '# TYPE node_scrape_handler_seconds histogram')
  BUCKETS.forEach((le, i) => sample(`node_scrape_handler_seconds_bucket{le="${le}"} ${Math.floor((n * (i + 1)) / BUCKETS.length)}`))
  sample(`node_scrape_handler_seconds_sum ${(n * 0.0123).toFixed(4)}`)
  sample(`node_scrape_handler_seconds_count ${n}`)
  if (options.specialValues) {
    lines.push('# TYPE node_special_value gauge')
    sample(`node_special_value ${SPECIAL[n % SPECIAL.length]}`)
  }
  const extra = options.extraSeries ?? 0
  if (extra > 0) lines.push('# TYPE node_textfile_test_gauge gauge')
  for (let i = 0; i < extra; i++) sample(`node_textfile_test_gauge{index="${i}"} ${(n + i) % 1000}`)
  return { body: `${lines.join('\n')}\n`, samples }
}

export function targetMetricNames(options: ScrapeTargetOptions = {}): string[] {
  const names = [
    'node_cpu_seconds_total',
    'node_memory_MemAvailable_bytes',
    'node_load1',
    'node_network_receive_bytes_total',
    'node_filesystem_avail_bytes',
    'node_scrape_handler_seconds_bucket',
    'node_scrape_handler_seconds_sum',
    'node_scrape_handler_seconds_count',
  ]
  if (options.specialValues) names.push('node_special_value')
  if ((options.extraSeries ?? 0) > 0) names.push('node_textfile_test_gauge')
  return names
}

export async function startScrapeTarget(options: ScrapeTargetOptions = {}): Promise<ScrapeTarget> {
  let stopped = false
  let scrapes = 0
  let served = 0
  let samplesServed = 0
  const server: Server = createServer((req, res) => {
    if (stopped) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('stopped\n')
      return
    }
    if (req.url !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
      return
    }
    scrapes++
    const { body, samples } = renderExposition(scrapes, options)
    // Counted once the whole answer is handed to the kernel: that is a scrape the sender got.
    res.once('finish', () => {
      served++
      samplesServed += samples
    })
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host: '127.0.0.1', port: options.port ?? 0 }, () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    address: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}/metrics`,
    servedScrapes: () => served,
    servedSamples: () => samplesServed,
    seriesPerScrape: renderExposition(1, options).samples,
    metricNames: targetMetricNames(options),
    async stop() {
      if (stopped) return
      stopped = true
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      // Let an answer already being written finish before cutting keep-alive connections.
      await new Promise((resolve) => setTimeout(resolve, 50))
      server.closeAllConnections()
      await closed
    },
  }
}
