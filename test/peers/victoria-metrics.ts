/**
 * Debian's single-node VictoriaMetrics (1.79) as a benchmark peer: it accepts Prometheus
 * remote write on /api/v1/write. Storage lives in a temporary directory removed on stop.
 */
import { join } from 'node:path'
import { freePort } from './free-port.js'
import { requireBinary, spawnPeer, waitForHttp, type PeerProcess } from './process.js'
import { makeTempDir, type TempDir } from './temp-dir.js'

export interface VictoriaMetricsOptions {
  /** Retention; it must cover the benchmark's timestamps (VM drops older samples). Default "1y". */
  retentionPeriod?: string
  extraArgs?: string[]
  maxLifetimeMs?: number
  startTimeoutMs?: number
}

export interface VictoriaMetrics {
  port: number
  url: string
  writeUrl: string
  dir: TempDir
  process: PeerProcess
  /** Flushes recently ingested data so that queries see it (/internal/force_flush). */
  forceFlush(): Promise<void>
  /** Instant query through VM's Prometheus API; returns the first value of the vector or undefined. */
  queryScalar(promql: string): Promise<number | undefined>
  /** `count_over_time(NAME{job="JOB"}[range])` summed over series and names (stale markers not counted). */
  sampleCount(job: string, metricNames: string[], range?: string): Promise<number>
  stop(): Promise<void>
}

export async function startVictoriaMetrics(options: VictoriaMetricsOptions = {}): Promise<VictoriaMetrics> {
  const binary = requireBinary('victoria-metrics', 'victoria-metrics')
  const dir = await makeTempDir('victoria-metrics')
  const port = await freePort()
  const args = [
    `-httpListenAddr=127.0.0.1:${port}`,
    `-storageDataPath=${join(dir.path, 'data')}`,
    `-retentionPeriod=${options.retentionPeriod ?? '1y'}`,
    // Tests query what they just wrote: no 30 s latency offset, no cached answers.
    '-search.latencyOffset=0s',
    '-search.disableCache',
    ...(options.extraArgs ?? []),
  ]
  const peer = spawnPeer({
    name: 'victoria-metrics',
    command: binary,
    args,
    logFile: join(dir.path, 'victoria-metrics.log'),
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
  const queryScalar = async (promql: string): Promise<number | undefined> => {
    const params = new URLSearchParams({ query: promql })
    const response = await fetch(`${url}/api/v1/query?${params}`, { signal: AbortSignal.timeout(30_000) })
    const body = (await response.json()) as { data?: { result: { value: [number, string] }[] } }
    const first = body.data?.result[0]
    return first ? Number(first.value[1]) : undefined
  }
  return {
    port,
    url,
    writeUrl: `${url}/api/v1/write`,
    dir,
    process: peer,
    async forceFlush() {
      const response = await fetch(`${url}/internal/force_flush`, { signal: AbortSignal.timeout(10_000) })
      await response.arrayBuffer()
    },
    queryScalar,
    async sampleCount(job, metricNames, range = '15m') {
      let total = 0
      for (const name of metricNames) total += (await queryScalar(`sum(count_over_time(${name}{job="${job}"}[${range}]))`)) ?? 0
      return total
    },
    async stop() {
      await peer.stop(10_000)
      await dir.remove()
    },
  }
}
