/**
 * The scale-out query service as deployed: `metrichouse store` owns a ClickHouse (embedded,
 * served over ClickHouse's HTTP interface), two `metrichouse query` replicas read it through
 * --clickhouse-url and share their results cache in the real Redis at 127.0.0.1:6379.
 * Also `metrichouse promql-test` as a user runs it: per-file counts, the final line and the
 * exit status. All from the built dist/cli/main.js.
 */
import { execFile } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SeriesLoader } from '../../query/series-loader.js'
import { openStore, type StoreClients } from '../../store/connection.js'
import { ClickHouseSampleStore } from '../../store/sample-store.js'
import { makeFleet, SCRAPE_MS } from '../fleet.js'
import { metricValues } from '../integration/server.js'
import { freePorts } from '../peers/free-port.js'
import { CLI_MAIN, REPO_ROOT } from '../peers/metrichouse.js'
import { spawnPeer, waitForHttp, type PeerProcess } from '../peers/process.js'
import { makeTempDir, type TempDir } from '../peers/temp-dir.js'

const run = promisify(execFile)
let tmp: TempDir
const peers: PeerProcess[] = []
let client: StoreClients
let storeUrl: string
let queryUrls: string[]
const NOW = Date.now()
const START = Math.floor((NOW - 3 * 3_600_000) / SCRAPE_MS) * SCRAPE_MS
const SAMPLES = 4 * 60 * 2

function start(name: string, args: string[], port: number): PeerProcess {
  const peer = spawnPeer({
    name,
    command: process.execPath,
    args: [CLI_MAIN, ...args, '--listen', `127.0.0.1:${port}`],
    logFile: join(tmp.path, `${name}.log`),
    maxLifetimeMs: 170_000,
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH },
  })
  peers.push(peer)
  return peer
}

beforeAll(async () => {
  tmp = await makeTempDir('query-role')
  const [storePort, q1, q2] = await freePorts(3)
  const storePeer = start('store', ['store', '--data-dir', join(tmp.path, 'data'), '--store-allow-unauthenticated=true'], storePort)
  storeUrl = `http://127.0.0.1:${storePort}/clickhouse`
  await waitForHttp(`http://127.0.0.1:${storePort}/-/ready`, 60_000, { peer: storePeer })
  // Data written the way an ingester writes it, over the store's HTTP interface.
  client = await openStore({ url: storeUrl, dataDir: tmp.path, database: 'default' })
  const fleet = makeFleet({ pools: 3, hostsPerPool: 2, start: START, samplesPerSeries: SAMPLES })
  const loader = await SeriesLoader.create(new ClickHouseSampleStore(client.insertRaw))
  await loader.load(
    fleet.map((s) => ({
      labels: Object.fromEntries(s.labels.map((l) => [l.name, l.value])),
      timestamps: s.samples.map((x) => x.timestampMs),
      values: s.samples.map((x) => x.value),
    })),
  )
  const redisPrefix = `db${1 + (process.pid % 14)}`
  queryUrls = []
  for (const [i, port] of [q1, q2].entries()) {
    const peer = start(`query${i + 1}`, ['query', '--clickhouse-url', storeUrl, '--query-cache-redis-url', `redis://127.0.0.1:6379/${redisPrefix.slice(2)}`], port)
    queryUrls.push(`http://127.0.0.1:${port}`)
    await waitForHttp(`http://127.0.0.1:${port}/-/ready`, 60_000, { peer })
  }
}, 150_000)

afterAll(async () => {
  await client?.close()
  for (const p of peers.reverse()) await p.stop(10_000).catch(() => undefined)
  await tmp?.remove()
})

async function cacheHits(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text()
  return [...metricValues(text, 'metrichouse_query_cache_hits_total').values()].reduce((a, b) => a + b, 0)
}

describe('metrichouse query against a ClickHouse server', () => {
  it('answers PromQL from the data in ClickHouse', async () => {
    const response = await fetch(`${queryUrls[0]}/api/v1/query?${new URLSearchParams({ query: 'count by (role) (node_memory_MemTotal_bytes)', time: String((START + 3_600_000) / 1000) })}`)
    const body = (await response.json()) as { status: string; data: { result: { metric: { role: string }; value: [number, string] }[] } }
    expect(body.status).toBe('success')
    expect(Object.fromEntries(body.data.result.map((r) => [r.metric.role, r.value[1]]))).toEqual({ web: '2', db: '2', queue: '2' })
  })

  it('shares the results cache between replicas through Redis', async () => {
    // A query no other test run asks: its key is new to Redis.
    const query = `sum(rate(node_cpu_seconds_total{mode="user"}[5m])) + ${NOW}`
    const params = new URLSearchParams({ query, start: String((START + 600_000) / 1000), end: String((START + 7_200_000) / 1000), step: '60' })
    const first = await (await fetch(`${queryUrls[0]}/api/v1/query_range?${params}`)).text()
    const before = await cacheHits(queryUrls[1])
    const second = await (await fetch(`${queryUrls[1]}/api/v1/query_range?${params}`)).text()
    expect(second, first.slice(0, 300)).toBe(first)
    expect(JSON.parse(second).data.result[0]?.values.length, second.slice(0, 400)).toBe(111)
    expect(await cacheHits(queryUrls[1])).toBeGreaterThan(before)
  })

  it('refuses to start without --clickhouse-url', async () => {
    const r = await run(process.execPath, [CLI_MAIN, 'query', '--listen', '127.0.0.1:0'], { env: { PATH: process.env.PATH }, timeout: 30_000 }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    )
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('clickhouse.url')
  })
})

describe('metrichouse promql-test', () => {
  async function promqlTest(files: string[]) {
    return run(process.execPath, [CLI_MAIN, 'promql-test', ...files], { env: { PATH: process.env.PATH }, timeout: 120_000 }).then(
      (r) => ({ code: 0, stdout: r.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
    )
  }

  it('prints counts per file and a last line of totals; exit 0 when nothing failed, 1 when an eval failed', async () => {
    const good = join(tmp.path, 'good.test')
    const bad = join(tmp.path, 'bad.test')
    await writeFile(good, 'load 1m\n  up{job="a"} 1 2 stale 4\n\neval instant at 1m up\n  up{job="a"} 2\n\neval instant at 2m up\n\neval range from 0 to 3m step 1m up\n  up{job="a"} 1 2 _ 4\n')
    await writeFile(bad, 'load 1m\n  up{job="a"} 1 2 3\n\neval instant at 2m up\n  up{job="a"} 4\n\neval instant at 2m {{\n')
    const ok = await promqlTest([good])
    expect(ok.code).toBe(0)
    expect(ok.stdout.trim().split('\n').at(-1)).toBe('3 passed, 0 failed, 0 unsupported')
    const failed = await promqlTest([good, bad])
    expect(failed.code).toBe(1)
    expect(failed.stdout).toContain(`${good}: 3 passed, 0 failed, 0 unsupported`)
    expect(failed.stdout).toContain(`${bad}:4: failed: up`)
    expect(failed.stdout.trim().split('\n').at(-1)).toMatch(/^3 passed, 2 failed, 0 unsupported$/)
  })

  it('exits 2 without files or with a file it cannot read', async () => {
    expect((await promqlTest([])).code).toBe(2)
    expect((await promqlTest([join(tmp.path, 'missing.test')])).code).toBe(2)
  })
})
