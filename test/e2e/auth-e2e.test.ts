/**
 * Authentication with the real senders: Prometheus 2.42 (authorization / basic_auth blocks as
 * in examples/prometheus.yml) and vmagent (-remoteWrite.bearerToken) write into a `serve`
 * that requires credentials; with the right ones samples arrive, with a wrong one Prometheus
 * gets 401, which it does not retry, and nothing is stored.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Metrichouse } from '../peers/metrichouse.js'
import { pollUntil } from '../peers/process.js'
import { startPrometheus, type PrometheusOptions } from '../peers/prometheus.js'
import { startScrapeTarget, type ScrapeTarget } from '../peers/scrape-target.js'
import { makeTempDir } from '../peers/temp-dir.js'
import { startVmagent } from '../peers/vmagent.js'
import { storedSampleCount } from './stored-samples.js'

const JOB = 'node'
const TOKEN = 'e2e-token-5f2c'
const PASSWORD = 'e2e-password-91ab'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined)
})

async function secrets(): Promise<{ tokenFile: string; passwordFile: string; wrongTokenFile: string }> {
  const dir = await makeTempDir('auth')
  cleanups.push(() => dir.remove())
  const tokenFile = join(dir.path, 'token')
  const passwordFile = join(dir.path, 'password')
  const wrongTokenFile = join(dir.path, 'wrong-token')
  await writeFile(tokenFile, `${TOKEN}\n`)
  await writeFile(passwordFile, `${PASSWORD}\n`)
  await writeFile(wrongTokenFile, 'not-the-token\n')
  return { tokenFile, passwordFile, wrongTokenFile }
}

const BEARER = `Bearer ${TOKEN}`
const BASIC = `Basic ${Buffer.from(`prometheus:${PASSWORD}`).toString('base64')}`

/** serve with `serverArgs`; `authorization` is what the test itself sends to /clickhouse/. */
async function startAll(serverArgs: string[], authorization: string): Promise<{ server: Metrichouse; target: ScrapeTarget }> {
  const server = await Metrichouse.start({ extraArgs: serverArgs, authorization, maxLifetimeMs: 90_000 })
  cleanups.push(() => server.dispose())
  const target = await startScrapeTarget({ cpus: 1 })
  cleanups.push(() => target.stop())
  return { server, target }
}

async function withPrometheus(server: Metrichouse, target: ScrapeTarget, auth: PrometheusOptions['remoteWriteAuth']) {
  const prometheus = await startPrometheus({
    scrapeJobs: [{ job: JOB, targets: [target.address] }],
    remoteWriteUrl: server.writeUrl,
    remoteWriteAuth: auth,
    maxLifetimeMs: 90_000,
  })
  cleanups.push(() => prometheus.stop())
  return prometheus
}

const arrived = (server: Metrichouse, target: ScrapeTarget) =>
  pollUntil('samples to arrive', 20_000, async () => ((await storedSampleCount(server, JOB, target.metricNames)) > 0 ? true : undefined))

describe('remote write with authentication, real senders', () => {
  it('Prometheus with a bearer token file is accepted', async () => {
    const { tokenFile } = await secrets()
    const { server, target } = await startAll(['--auth-bearer-token-file', tokenFile], BEARER)
    const prometheus = await withPrometheus(server, target, { bearerTokenFile: tokenFile })
    await arrived(server, target)
    expect((await prometheus.remoteWriteStatus()).samplesFailed).toBe(0)
  }, 60_000)

  it('Prometheus with basic auth is accepted', async () => {
    const { passwordFile } = await secrets()
    const { server, target } = await startAll(['--auth-basic-username', 'prometheus', '--auth-basic-password-file', passwordFile], BASIC)
    const prometheus = await withPrometheus(server, target, { username: 'prometheus', passwordFile })
    await arrived(server, target)
    expect((await prometheus.remoteWriteStatus()).samplesFailed).toBe(0)
  }, 60_000)

  it('Prometheus with a wrong token is refused: its samples fail (401 is not retried) and none are stored', async () => {
    const { tokenFile, wrongTokenFile } = await secrets()
    const { server, target } = await startAll(['--auth-bearer-token-file', tokenFile], BEARER)
    const prometheus = await withPrometheus(server, target, { bearerTokenFile: wrongTokenFile })
    await pollUntil('Prometheus to give up on samples', 20_000, async () =>
      (await prometheus.remoteWriteStatus()).samplesFailed > 0 ? true : undefined,
    )
    expect(await storedSampleCount(server, JOB, target.metricNames)).toBe(0)
  }, 60_000)

  it('vmagent with -remoteWrite.bearerToken is accepted', async () => {
    const { tokenFile } = await secrets()
    const { server, target } = await startAll(['--auth-bearer-token-file', tokenFile], BEARER)
    const vmagent = await startVmagent({
      scrapeJobs: [{ job: JOB, targets: [target.address] }],
      remoteWriteUrl: server.writeUrl,
      extraArgs: [`-remoteWrite.bearerToken=${TOKEN}`],
      maxLifetimeMs: 90_000,
    })
    cleanups.push(() => vmagent.stop())
    await arrived(server, target)
  }, 60_000)
})
