/**
 * The short-lived-job flow of examples/pushgateway/, with the real programs: the README's curl
 * commands push a group to Debian's Pushgateway, Prometheus 2.42 loads the example's
 * prometheus.yml (ports and interval changed), scrapes the gateway with honor_labels and
 * remote-writes to `serve`. The job's series arrive with the job's own labels; deleting the
 * group ends them with a stale marker.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from '../integration/server.js'
import { freePort } from '../peers/free-port.js'
import { REPO_ROOT } from '../peers/metrichouse.js'
import { pollUntil, requireBinary, runCommand, spawnPeer, waitForHttp, type PeerProcess } from '../peers/process.js'
import { startPrometheus, type Prometheus } from '../peers/prometheus.js'
import { makeTempDir, type TempDir } from '../peers/temp-dir.js'

const EXAMPLE = join(REPO_ROOT, 'examples', 'pushgateway')
const STALE_MARKER_BITS = '9218868437227405314'

let server: TestServer
let gateway: PeerProcess
let gatewayPort: number
let gatewayDir: TempDir
let prometheus: Prometheus
let curlCommands: string[][]

/** The curl commands of the README's sh blocks, as argument lists, with the gateway's port. */
function readmeCurls(markdown: string, port: number): string[][] {
  const out: string[][] = []
  for (const block of markdown.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of block[1].split('\n')) {
      if (!line.startsWith('curl ') || !line.includes(':9091/')) continue
      out.push(
        line
          .replaceAll('127.0.0.1:9091', `127.0.0.1:${port}`)
          .replace('@examples/', `@${REPO_ROOT}/examples/`)
          .split(/\s+/)
          .slice(1),
      )
    }
  }
  return out
}

async function curl(args: string[]): Promise<void> {
  const result = await runCommand(requireBinary('curl', 'curl'), ['--silent', '--show-error', '--fail', ...args], 15_000)
  expect(result.code, `curl ${args.join(' ')}: ${result.stderr}`).toBe(0)
}

async function query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const response = await fetch(`${server.url}/api/v1/query?${new URLSearchParams({ query: promql })}`)
  const body = (await response.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } }
  return body.data.result
}

beforeAll(async () => {
  server = await startTestServer()
  gatewayPort = await freePort()
  gatewayDir = await makeTempDir('pushgateway')
  gateway = spawnPeer({
    name: 'pushgateway',
    command: requireBinary('prometheus-pushgateway', 'prometheus-pushgateway'),
    args: [`--web.listen-address=127.0.0.1:${gatewayPort}`],
    logFile: join(gatewayDir.path, 'pushgateway.log'),
    maxLifetimeMs: 180_000,
    cwd: gatewayDir.path,
  })
  await waitForHttp(`http://127.0.0.1:${gatewayPort}/-/ready`, 30_000, { peer: gateway })
  const config = (await readFile(join(EXAMPLE, 'prometheus.yml'), 'utf8'))
    .replaceAll('127.0.0.1:9091', `127.0.0.1:${gatewayPort}`)
    .replaceAll('http://127.0.0.1:9201/', `${server.url}/`)
    .replace('scrape_interval: 15s', 'scrape_interval: 1s')
  expect(config).toContain(`${server.url}/api/v1/write`)
  prometheus = await startPrometheus({ configText: config, maxLifetimeMs: 180_000 })
  curlCommands = readmeCurls(await readFile(join(EXAMPLE, 'README.md'), 'utf8'), gatewayPort)
}, 60_000)

afterAll(async () => {
  await prometheus?.stop()
  await gateway?.stop(10_000)
  await gatewayDir?.remove()
  await server?.stop()
})

describe('examples/pushgateway', () => {
  it('has a push and a delete command in its README', () => {
    expect(curlCommands.map((c) => (c.includes('DELETE') ? 'delete' : 'push'))).toEqual(['push', 'delete'])
  })

  it("stores the pushed group under the job's own labels", async () => {
    await curl(curlCommands[0])
    const series = await pollUntil('backup_duration_seconds in metrichouse', 60_000, async () => {
      const result = await query('backup_duration_seconds')
      return result.length > 0 ? result : undefined
    })
    expect(series).toHaveLength(1)
    expect(series[0].metric).toEqual({ __name__: 'backup_duration_seconds', job: 'backup', instance: 'db-7' })
    expect(series[0].value[1]).toBe('312.5')
    expect((await query('backup_files_total'))[0].value[1]).toBe('4711')
    expect((await query('push_time_seconds{job="backup"}')).length).toBe(1)
  }, 90_000)

  it('ends the series with a stale marker once the group is deleted', async () => {
    await curl(curlCommands[1])
    const stale = await pollUntil('a stale marker for backup_duration_seconds', 60_000, async () => {
      const n = await server.sqlNumber(`SELECT count() FROM samples WHERE metric_name = 'backup_duration_seconds' AND reinterpretAsUInt64(value) = ${STALE_MARKER_BITS}`)
      return n > 0 ? n : undefined
    })
    expect(stale).toBeGreaterThan(0)
    // Gone from instant queries at once, not after the 5-minute lookback.
    expect(await query('backup_duration_seconds')).toEqual([])
  }, 90_000)
})
