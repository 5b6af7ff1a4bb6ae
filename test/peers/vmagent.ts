/**
 * Debian's vmagent (VictoriaMetrics 1.79) as a peer: scrapes targets from a Prometheus-style
 * scrape config and remote-writes (Prometheus remote-write 1.0) to a URL, buffering on disk
 * in `-remoteWrite.tmpDataPath` while the receiver is down.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { freePort } from './free-port.js'
import { fetchExposition, sumOf, type ExposedSample } from './exposition.js'
import { requireBinary, spawnPeer, waitForHttp, type PeerProcess } from './process.js'
import type { ScrapeJob } from './prometheus.js'
import { makeTempDir, type TempDir } from './temp-dir.js'

export interface VmagentOptions {
  scrapeJobs: ScrapeJob[]
  remoteWriteUrl: string
  /** Default 1000 ms. */
  scrapeIntervalMs?: number
  /** Extra command-line flags, e.g. the ones documented in examples/vmagent.md. */
  extraArgs?: string[]
  maxLifetimeMs?: number
  startTimeoutMs?: number
}

export interface VmagentStatus {
  /** vmagent_remotewrite_pending_data_bytes: bytes waiting in the on-disk/in-memory queue. */
  pendingBytes: number
  /** vmagent_remotewrite_pending_inmemory_blocks */
  pendingBlocks: number
  /** vm_promscrape_scraped_samples_sum: samples vmagent read from targets. */
  scrapedSamples: number
  /** vmagent_remotewrite_errors_total: failed send attempts (each is retried). */
  sendErrors: number
}

export interface Vmagent {
  port: number
  url: string
  dir: TempDir
  process: PeerProcess
  metrics(): Promise<ExposedSample[]>
  status(): Promise<VmagentStatus>
  stop(): Promise<void>
}

/** The scrape config vmagent reads (`-promscrape.config`), as JSON. */
export function vmagentScrapeConfig(jobs: ScrapeJob[], scrapeIntervalMs = 1000): Record<string, unknown> {
  return {
    global: { scrape_interval: `${scrapeIntervalMs}ms`, scrape_timeout: `${Math.floor(scrapeIntervalMs * 0.9)}ms` },
    scrape_configs: jobs.map((job) => ({ job_name: job.job, static_configs: [{ targets: job.targets }] })),
  }
}

export async function startVmagent(options: VmagentOptions): Promise<Vmagent> {
  const binary = requireBinary('vmagent', 'victoria-metrics')
  const dir = await makeTempDir('vmagent')
  const configFile = join(dir.path, 'scrape.yml')
  await writeFile(configFile, `${JSON.stringify(vmagentScrapeConfig(options.scrapeJobs, options.scrapeIntervalMs), null, 2)}\n`)
  const port = await freePort()
  const args = [
    `-promscrape.config=${configFile}`,
    `-remoteWrite.url=${options.remoteWriteUrl}`,
    `-remoteWrite.tmpDataPath=${join(dir.path, 'remotewrite-data')}`,
    `-httpListenAddr=127.0.0.1:${port}`,
    // Send what was scraped within 100 ms instead of the default second.
    '-remoteWrite.flushInterval=100ms',
    ...(options.extraArgs ?? []),
  ]
  const peer = spawnPeer({
    name: 'vmagent',
    command: binary,
    args,
    logFile: join(dir.path, 'vmagent.log'),
    maxLifetimeMs: options.maxLifetimeMs ?? 300_000,
    cwd: dir.path,
  })
  const url = `http://127.0.0.1:${port}`
  try {
    await waitForHttp(`${url}/health`, options.startTimeoutMs ?? 20_000, { peer })
  } catch (err) {
    await peer.kill9()
    await dir.remove()
    throw err
  }
  const metrics = () => fetchExposition(`${url}/metrics`)
  return {
    port,
    url,
    dir,
    process: peer,
    metrics,
    async status() {
      const all = await metrics()
      return {
        pendingBytes: sumOf(all, 'vmagent_remotewrite_pending_data_bytes') ?? 0,
        pendingBlocks: sumOf(all, 'vmagent_remotewrite_pending_inmemory_blocks') ?? 0,
        scrapedSamples: sumOf(all, 'vm_promscrape_scraped_samples_sum') ?? 0,
        sendErrors: sumOf(all, 'vmagent_remotewrite_errors_total') ?? 0,
      }
    },
    async stop() {
      await peer.stop(10_000)
      await dir.remove()
    },
  }
}
