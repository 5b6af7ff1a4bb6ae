/**
 * Debian's Prometheus 2.42 as a peer: scrapes given targets and remote-writes to a URL
 * (remote-write 1.0 only in this release), or receives remote write itself
 * (`--web.enable-remote-write-receiver`) for the benchmark. Config and TSDB live in a
 * temporary directory removed on stop.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { freePort } from './free-port.js'
import { fetchExposition, sumOf, type ExposedSample } from './exposition.js'
import { requireBinary, spawnPeer, waitForHttp, type PeerProcess } from './process.js'
import { makeTempDir, type TempDir } from './temp-dir.js'

export interface ScrapeJob {
  job: string
  /** host:port */
  targets: string[]
}

export interface PrometheusOptions {
  scrapeJobs?: ScrapeJob[]
  /** Default 1000 ms; the scrape timeout is 90% of it. */
  scrapeIntervalMs?: number
  /** remote_write target, with a queue tuned for tests (small batches, short deadline, fast retries). */
  remoteWriteUrl?: string
  /** Credentials for remote_write, as examples/prometheus.yml shows them. */
  remoteWriteAuth?: { bearerTokenFile: string } | { username: string; passwordFile: string }
  /** Accept remote write on /api/v1/write (benchmark mode). */
  remoteWriteReceiver?: boolean
  /** TSDB out_of_order_time_window, e.g. "2h", so concurrent writers are not rejected as out of order. */
  outOfOrderTimeWindow?: string
  /** A whole configuration file (e.g. one from examples/) instead of the one built from the options above. */
  configText?: string
  /** Hard bound on the process's life. Default 5 minutes. */
  maxLifetimeMs?: number
  /** Readiness wait. Default 30 s. */
  startTimeoutMs?: number
}

export interface InstantSample {
  metric: Record<string, string>
  value: number
}

export interface Prometheus {
  port: number
  url: string
  dir: TempDir
  process: PeerProcess
  /** Instant query; evaluation time in ms since the epoch (default now). */
  query(promql: string, timeMs?: number): Promise<InstantSample[]>
  metrics(): Promise<ExposedSample[]>
  /**
   * Samples stored per series of `job` for each metric in `metricNames`, by `seriesKey`:
   * `count_over_time(NAME{job="JOB"}[range])` at `timeMs`, one query per name because the
   * function drops the metric name (series of two names would collide in one vector).
   * Stale markers are not counted.
   */
  sampleCounts(job: string, metricNames: string[], timeMs: number, range?: string): Promise<Map<string, number>>
  /** Remote-write progress from Prometheus's own 2.42 self-metrics. */
  remoteWriteStatus(): Promise<RemoteWriteStatus>
  /** SIGTERM (SIGKILL after a grace period), then remove the temporary directory. */
  stop(): Promise<void>
}

export interface RemoteWriteStatus {
  /** prometheus_remote_storage_samples_pending */
  pending: number
  /** prometheus_remote_storage_samples_in_total: appended samples handed to remote storage. */
  samplesIn: number
  /** prometheus_remote_storage_samples_total: sent, counting each retry again. */
  samplesSent: number
  /** prometheus_remote_storage_samples_retried_total */
  samplesRetried: number
  /** prometheus_remote_storage_samples_failed_total (non-recoverable: lost for the receiver). */
  samplesFailed: number
  /** prometheus_remote_storage_samples_dropped_total */
  samplesDropped: number
  /** prometheus_remote_storage_highest_timestamp_in_seconds */
  highestInSeconds: number
  /** prometheus_remote_storage_queue_highest_sent_timestamp_seconds */
  highestSentSeconds: number
}

/** The Prometheus config for `options`, as JSON (which every YAML parser reads). */
export function prometheusConfig(options: PrometheusOptions): Record<string, unknown> {
  const intervalMs = options.scrapeIntervalMs ?? 1000
  const config: Record<string, unknown> = {
    global: {
      scrape_interval: `${intervalMs}ms`,
      scrape_timeout: `${Math.floor(intervalMs * 0.9)}ms`,
      evaluation_interval: '15s',
    },
    scrape_configs: (options.scrapeJobs ?? []).map((job) => ({
      job_name: job.job,
      static_configs: [{ targets: job.targets }],
    })),
  }
  if (options.remoteWriteUrl) {
    const auth = options.remoteWriteAuth
    const credentials =
      auth === undefined
        ? {}
        : 'bearerTokenFile' in auth
          ? { authorization: { type: 'Bearer', credentials_file: auth.bearerTokenFile } }
          : { basic_auth: { username: auth.username, password_file: auth.passwordFile } }
    config.remote_write = [
      {
        url: options.remoteWriteUrl,
        ...credentials,
        remote_timeout: '10s',
        queue_config: {
          capacity: 2500,
          min_shards: 1,
          max_shards: 4,
          max_samples_per_send: 500,
          // Short deadline so a test sees its samples within a second; fast retries so a
          // restarted receiver is reached quickly.
          batch_send_deadline: '200ms',
          min_backoff: '50ms',
          max_backoff: '1s',
          retry_on_http_429: true,
        },
        metadata_config: { send: true, send_interval: '10s' },
      },
    ]
  }
  if (options.outOfOrderTimeWindow) {
    config.storage = { tsdb: { out_of_order_time_window: options.outOfOrderTimeWindow } }
  }
  return config
}

export async function startPrometheus(options: PrometheusOptions = {}): Promise<Prometheus> {
  const binary = requireBinary('prometheus', 'prometheus')
  const dir = await makeTempDir('prometheus')
  const configFile = join(dir.path, 'prometheus.yml')
  await writeFile(configFile, options.configText ?? `${JSON.stringify(prometheusConfig(options), null, 2)}\n`)
  const port = await freePort()
  const args = [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${join(dir.path, 'tsdb')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--web.enable-lifecycle',
  ]
  if (options.remoteWriteReceiver) args.push('--web.enable-remote-write-receiver')
  const peer = spawnPeer({
    name: 'prometheus',
    command: binary,
    args,
    logFile: join(dir.path, 'prometheus.log'),
    maxLifetimeMs: options.maxLifetimeMs ?? 300_000,
    cwd: dir.path,
  })
  const url = `http://127.0.0.1:${port}`
  try {
    await waitForHttp(`${url}/-/ready`, options.startTimeoutMs ?? 30_000, { peer })
  } catch (err) {
    await peer.kill9()
    await dir.remove()
    throw err
  }

  const metrics = () => fetchExposition(`${url}/metrics`)
  const query = async (promql: string, timeMs = Date.now()): Promise<InstantSample[]> => {
    const params = new URLSearchParams({ query: promql, time: (timeMs / 1000).toFixed(3) })
    const response = await fetch(`${url}/api/v1/query?${params}`, { signal: AbortSignal.timeout(10_000) })
    const body = (await response.json()) as {
      status: string
      error?: string
      data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] }
    }
    if (body.status !== 'success' || !body.data) throw new Error(`prometheus query ${promql}: ${body.error ?? response.status}`)
    if (body.data.resultType !== 'vector') throw new Error(`prometheus query ${promql}: got ${body.data.resultType}, want vector`)
    return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }))
  }
  return {
    port,
    url,
    dir,
    process: peer,
    metrics,
    query,
    async sampleCounts(job, metricNames, timeMs, range = '15m') {
      const counts = new Map<string, number>()
      for (const name of metricNames) {
        for (const sample of await query(`count_over_time(${name}{job="${job}"}[${range}])`, timeMs)) {
          counts.set(seriesKey(name, sample.metric), sample.value)
        }
      }
      return counts
    },
    async remoteWriteStatus() {
      const all = await metrics()
      const get = (name: string) => sumOf(all, name) ?? 0
      return {
        pending: get('prometheus_remote_storage_samples_pending'),
        samplesIn: get('prometheus_remote_storage_samples_in_total'),
        samplesSent: get('prometheus_remote_storage_samples_total'),
        samplesRetried: get('prometheus_remote_storage_samples_retried_total'),
        samplesFailed: get('prometheus_remote_storage_samples_failed_total'),
        samplesDropped: get('prometheus_remote_storage_samples_dropped_total'),
        highestInSeconds: get('prometheus_remote_storage_highest_timestamp_in_seconds'),
        highestSentSeconds: get('prometheus_remote_storage_queue_highest_sent_timestamp_seconds'),
      }
    },
    async stop() {
      await peer.stop(10_000)
      await dir.remove()
    },
  }
}

/** `name{a=1,b=2}`: the metric name and the other labels sorted, the key both sides of a comparison use. */
export function seriesKey(name: string, labels: Record<string, string>): string {
  const pairs = Object.entries(labels)
    .filter(([key]) => key !== '__name__')
    .map(([key, value]) => `${key}=${value}`)
    .sort()
  return `${name}{${pairs.join(',')}}`
}

/** The sum of the counts in `counts`. */
export function totalCount(counts: Map<string, number>): number {
  let total = 0
  for (const count of counts.values()) total += count
  return total
}
