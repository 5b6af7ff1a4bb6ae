/**
 * `metrichouse serve` (the built dist/cli/main.js) as a peer: start, SIGTERM, kill -9 and
 * restart on the same data directory and port, and ad-hoc SQL through its /clickhouse/
 * endpoint. Needs `npm run build` first.
 */
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from './free-port.js'
import { fetchExposition, type ExposedSample } from './exposition.js'
import { spawnPeer, waitForHttp, type ExitInfo, type PeerProcess } from './process.js'
import { makeTempDir, type TempDir } from './temp-dir.js'

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const CLI_MAIN = join(REPO_ROOT, 'dist', 'cli', 'main.js')



export interface MetrichouseOptions {
  /** Config file passed as --config. */
  configFile?: string
  extraArgs?: string[]
  env?: NodeJS.ProcessEnv
  /** Authorization header for /clickhouse/ and /metrics when serve requires credentials. */
  authorization?: string
  /** Bound on each process's life. Default 5 minutes. */
  maxLifetimeMs?: number
  /** Readiness wait on each start. Default 60 s (chDB opens its data directory first). */
  startTimeoutMs?: number
}

export class Metrichouse {
  readonly port: number
  readonly url: string
  readonly writeUrl: string
  readonly dataDir: string
  private current: PeerProcess
  private starts = 1

  private constructor(
    private readonly root: TempDir,
    private readonly options: MetrichouseOptions,
    port: number,
    first: PeerProcess,
  ) {
    this.port = port
    this.url = `http://127.0.0.1:${port}`
    this.writeUrl = `${this.url}/api/v1/write`
    this.dataDir = join(root.path, 'data')
    this.current = first
  }

  /** Starts `metrichouse serve` on a free port with a fresh data directory and waits for /-/ready. */
  static async start(options: MetrichouseOptions = {}): Promise<Metrichouse> {
    if (!existsSync(CLI_MAIN)) {
      throw new Error(`${CLI_MAIN} does not exist: run \`npm run build\` before the end-to-end tests`)
    }
    const root = await makeTempDir('serve')
    await mkdir(join(root.path, 'data'))
    const port = await freePort()
    const first = Metrichouse.spawn(root, options, port, 1)
    const server = new Metrichouse(root, options, port, first)
    try {
      await server.waitReady()
    } catch (err) {
      await server.dispose()
      throw err
    }
    return server
  }

  private static spawn(root: TempDir, options: MetrichouseOptions, port: number, start: number): PeerProcess {
    const args = [CLI_MAIN, 'serve', '--listen', `127.0.0.1:${port}`, '--data-dir', join(root.path, 'data')]
    if (options.configFile) args.push('--config', options.configFile)
    args.push(...(options.extraArgs ?? []))
    return spawnPeer({
      name: `metrichouse serve #${start}`,
      command: process.execPath,
      args,
      logFile: join(root.path, 'metrichouse.log'),
      maxLifetimeMs: options.maxLifetimeMs ?? 300_000,
      cwd: REPO_ROOT,
      env: options.env ?? process.env,
    })
  }

  get process(): PeerProcess {
    return this.current
  }

  get running(): boolean {
    return this.current.running
  }

  private async waitReady(): Promise<void> {
    await waitForHttp(`${this.url}/-/ready`, this.options.startTimeoutMs ?? 60_000, { peer: this.current })
  }

  /** Graceful shutdown (SIGTERM, SIGKILL after `graceMs`). */
  async stop(graceMs = 30_000): Promise<ExitInfo> {
    return this.current.stop(graceMs)
  }

  /** kill -9: nothing it acknowledged may be lost. */
  async kill9(): Promise<ExitInfo> {
    return this.current.kill9()
  }

  /** Starts serve again on the same data directory and port; the previous process must be gone. */
  async restart(): Promise<void> {
    if (this.current.running) throw new Error(`${this.current.name} is still running; stop or kill it first`)
    this.starts++
    this.current = Metrichouse.spawn(this.root, this.options, this.port, this.starts)
    await this.waitReady()
  }

  /** Runs SQL through /clickhouse/ and returns the TabSeparated answer without the final newline. */
  async query(sql: string): Promise<string> {
    // In the body, as ClickHouse's HTTP interface takes it: a checked list of thousands of
    // sample ids does not fit in a URL (431 Request Header Fields Too Large).
    const response = await fetch(`${this.url}/clickhouse/`, {
      method: 'POST',
      body: sql,
      signal: AbortSignal.timeout(30_000),
      headers: this.authHeaders(),
    })
    const text = await response.text()
    if (response.status !== 200) throw new Error(`/clickhouse/ ${response.status} for ${sql}: ${text.slice(0, 500)}`)
    return text.replace(/\n$/, '')
  }

  /** A single number from `sql`. */
  async queryNumber(sql: string): Promise<number> {
    const text = await this.query(sql)
    const value = Number(text.trim())
    if (text.trim() === '' || Number.isNaN(value)) throw new Error(`/clickhouse/ for ${sql}: not a number: ${text.slice(0, 200)}`)
    return value
  }

  async metrics(): Promise<ExposedSample[]> {
    return fetchExposition(`${this.url}/metrics`, this.authHeaders())
  }

  private authHeaders(): Record<string, string> {
    return this.options.authorization ? { authorization: this.options.authorization } : {}
  }

  logTail(lines = 40): string {
    return this.current.logTail(lines)
  }

  /** Stops the process if it runs (SIGKILL when it does not stop in time) and removes its directory. */
  async dispose(): Promise<void> {
    if (this.current.running) await this.current.stop(15_000)
    await this.root.remove()
  }
}
