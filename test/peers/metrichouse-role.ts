/**
 * Any `metrichouse <role>` (adapter, ingester, store; the built dist/cli/main.js) as a
 * peer on a free 127.0.0.1 port: start, SIGTERM, kill -9 and restart with the same
 * arguments, /metrics. Needs `npm run build` first.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fetchExposition, type ExposedSample } from './exposition.js'
import { freePort } from './free-port.js'
import { CLI_MAIN, REPO_ROOT } from './metrichouse.js'
import { spawnPeer, waitForHttp, type ExitInfo, type PeerProcess } from './process.js'

export interface RoleOptions {
  role: 'adapter' | 'ingester' | 'store' | 'query'
  /** Flags after the role; --listen is added. */
  args: string[]
  /** Directory for the log file. */
  logDir: string
  name?: string
  env?: NodeJS.ProcessEnv
  authorization?: string
  maxLifetimeMs?: number
  startTimeoutMs?: number
  port?: number
  /** Node flags before the script (e.g. --cpu-prof, which NODE_OPTIONS refuses). */
  nodeArgs?: string[]
}

export class MetrichouseRole {
  readonly url: string
  private current: PeerProcess
  private starts = 1

  private constructor(
    private readonly options: RoleOptions,
    readonly port: number,
    first: PeerProcess,
  ) {
    this.url = `http://127.0.0.1:${port}`
    this.current = first
  }

  static async start(options: RoleOptions): Promise<MetrichouseRole> {
    if (!existsSync(CLI_MAIN)) throw new Error(`${CLI_MAIN} does not exist: run \`npm run build\` before these tests`)
    const port = options.port ?? (await freePort())
    const role = new MetrichouseRole(options, port, MetrichouseRole.spawn(options, port, 1))
    try {
      await role.waitReady()
    } catch (err) {
      if (role.running) await role.kill9()
      throw err
    }
    return role
  }

  private static spawn(options: RoleOptions, port: number, start: number): PeerProcess {
    const name = options.name ?? options.role
    return spawnPeer({
      name: `metrichouse ${name} #${start}`,
      command: process.execPath,
      args: [...(options.nodeArgs ?? []), CLI_MAIN, options.role, '--listen', `127.0.0.1:${port}`, ...options.args],
      logFile: join(options.logDir, `${name}.log`),
      maxLifetimeMs: options.maxLifetimeMs ?? 300_000,
      cwd: REPO_ROOT,
      env: options.env ?? { ...process.env, METRICHOUSE_LOG_LEVEL: 'info' },
    })
  }

  get writeUrl(): string {
    return `${this.url}/api/v1/write`
  }

  get running(): boolean {
    return this.current.running
  }

  get process(): PeerProcess {
    return this.current
  }

  private async waitReady(): Promise<void> {
    await waitForHttp(`${this.url}/-/ready`, this.options.startTimeoutMs ?? 60_000, { peer: this.current })
  }

  async stop(graceMs = 30_000): Promise<ExitInfo> {
    return this.current.stop(graceMs)
  }

  async kill9(): Promise<ExitInfo> {
    return this.current.kill9()
  }

  async restart(): Promise<void> {
    if (this.current.running) throw new Error(`${this.current.name} is still running`)
    this.starts++
    this.current = MetrichouseRole.spawn(this.options, this.port, this.starts)
    await this.waitReady()
  }

  async metrics(): Promise<ExposedSample[]> {
    return fetchExposition(`${this.url}/metrics`, this.options.authorization ? { authorization: this.options.authorization } : {})
  }

  /** Sum of a metric's samples (all label sets), 0 when absent. */
  async metricSum(name: string, labels: Record<string, string> = {}): Promise<number> {
    let sum = 0
    for (const s of await this.metrics()) {
      if (s.name !== name) continue
      if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) sum += s.value
    }
    return sum
  }

  logTail(lines = 40): string {
    return this.current.logTail(lines)
  }

  async dispose(): Promise<void> {
    if (this.current.running) await this.current.stop(15_000)
  }
}
