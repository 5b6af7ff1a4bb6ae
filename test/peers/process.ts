/**
 * Child processes for end-to-end tests and benchmarks: every peer (Prometheus, vmagent,
 * VictoriaMetrics, `metrichouse serve`) is started through `spawnPeer`, which
 *  - bounds its lifetime with coreutils `timeout --foreground -s KILL`, so a peer dies even
 *    when the test runner itself is killed and cannot clean up;
 *  - puts it in its own process group (detached), so `kill9()` takes down the wrapper and
 *    the peer together, like a machine losing power would;
 *  - appends stdout and stderr to a log file, whose tail goes into every error message.
 * `stop()` sends SIGTERM once (the wrapper forwards it to the peer) and SIGKILL after a
 * grace period.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, closeSync, constants, openSync, readFileSync } from 'node:fs'
import { delimiter, join } from 'node:path'

export interface ExitInfo {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface SpawnPeerOptions {
  /** Short name used in messages, e.g. "prometheus". */
  name: string
  command: string
  args: string[]
  /** stdout and stderr are appended here. */
  logFile: string
  /** Hard upper bound on the process's life; SIGKILL after it. */
  maxLifetimeMs: number
  cwd?: string
  env?: NodeJS.ProcessEnv
}

/** Processes still running, killed if the test process exits without stopping them. */
const live = new Set<PeerProcess>()
process.once('exit', () => {
  for (const peer of live) peer.signalGroup('SIGKILL')
})

export class PeerProcess {
  readonly name: string
  readonly logFile: string
  /** Pid of the `timeout` wrapper; the peer itself is `peerPid()`. */
  readonly pid: number
  readonly exited: Promise<ExitInfo>
  private exit: ExitInfo | undefined
  private readonly child: ChildProcess

  constructor(options: SpawnPeerOptions) {
    this.name = options.name
    this.logFile = options.logFile
    const log = openSync(options.logFile, 'a')
    const seconds = Math.max(1, Math.ceil(options.maxLifetimeMs / 1000))
    try {
      this.child = spawn(
        'timeout',
        ['--foreground', '-s', 'KILL', `${seconds}s`, options.command, ...options.args],
        { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', log, log], detached: true },
      )
    } finally {
      closeSync(log)
    }
    if (this.child.pid === undefined) throw new Error(`${this.name}: spawn of ${options.command} failed`)
    this.pid = this.child.pid
    live.add(this)
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal }
        live.delete(this)
        resolve(this.exit)
      })
    })
  }

  get running(): boolean {
    return this.exit === undefined
  }

  get exitInfo(): ExitInfo | undefined {
    return this.exit
  }

  /** Pid of the peer under the wrapper (for /proc statistics), or undefined once it is gone. */
  peerPid(): number | undefined {
    try {
      const children = readFileSync(`/proc/${this.pid}/task/${this.pid}/children`, 'utf8').trim()
      const first = children.split(/\s+/)[0]
      return first ? Number(first) : undefined
    } catch {
      return undefined
    }
  }

  /** SIGTERM, then SIGKILL to the whole group if it has not exited after `graceMs`. */
  async stop(graceMs = 15_000): Promise<ExitInfo> {
    if (!this.running) return this.exit as ExitInfo
    try {
      process.kill(this.pid, 'SIGTERM')
    } catch {
      // already gone
    }
    const timer = setTimeout(() => this.signalGroup('SIGKILL'), graceMs)
    try {
      return await this.exited
    } finally {
      clearTimeout(timer)
    }
  }

  /** kill -9 of the peer and its wrapper, as a crash would. */
  async kill9(): Promise<ExitInfo> {
    this.signalGroup('SIGKILL')
    return this.exited
  }

  signalGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal)
    } catch {
      // group already gone
    }
  }

  /** The last `lines` lines of the log, for error messages. */
  logTail(lines = 30): string {
    try {
      const text = readFileSync(this.logFile, 'utf8')
      return text.split('\n').slice(-lines - 1).join('\n')
    } catch {
      return '(no log)'
    }
  }

  describe(): string {
    const state = this.running ? 'running' : `exited ${JSON.stringify(this.exit)}`
    return `${this.name} (pid ${this.pid}, ${state}, log ${this.logFile}):\n${this.logTail()}`
  }
}

export function spawnPeer(options: SpawnPeerOptions): PeerProcess {
  return new PeerProcess(options)
}

/**
 * Resolves `name` on PATH or throws a message saying which package provides it. Tests never
 * skip for a missing peer: in CI (.ci/run installs them) and locally alike they fail.
 */
export function requireBinary(name: string, debianPackage: string): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue
    const candidate = join(dir, name)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // not here
    }
  }
  const where = process.env.CI === 'true' ? 'CI must install it (.ci/run does)' : 'install it or run .ci/run'
  throw new Error(`peer binary "${name}" not found on PATH: Debian package "${debianPackage}" is missing; ${where}`)
}

/**
 * Polls `url` until it answers `status` (default 200). Fails early when `peer` exits, and
 * after `timeoutMs` with the peer's log tail in the message.
 */
export async function waitForHttp(
  url: string,
  timeoutMs: number,
  options: { peer?: PeerProcess; status?: number } = {},
): Promise<void> {
  const wanted = options.status ?? 200
  const deadline = Date.now() + timeoutMs
  let last = 'no answer yet'
  while (Date.now() < deadline) {
    if (options.peer && !options.peer.running) {
      throw new Error(`waiting for ${url}: ${options.peer.describe()}`)
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) })
      await response.arrayBuffer()
      if (response.status === wanted) return
      last = `status ${response.status}`
    } catch (err) {
      last = err instanceof Error ? `${err.message}${err.cause ? ` (${String(err.cause)})` : ''}` : String(err)
    }
    await sleep(100)
  }
  const peer = options.peer ? `\n${options.peer.describe()}` : ''
  throw new Error(`${url} did not answer ${wanted} within ${timeoutMs} ms (last: ${last})${peer}`)
}

export interface CommandResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** Runs a short command to completion (e.g. `promtool check config`), killed after `timeoutMs`. */
export async function runCommand(command: string, args: string[], timeoutMs: number): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.once('error', reject)
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/**
 * Polls `probe` until it returns a value other than undefined, or throws after `timeoutMs`
 * with `describe()` (called then) in the message.
 */
export async function pollUntil<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
  describe: () => Promise<string> | string = () => '',
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  while (Date.now() < deadline) {
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch (err) {
      lastError = err
    }
    await sleep(intervalMs)
  }
  const detail = await describe()
  const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : ''
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}${detail ? `\n${detail}` : ''}`)
}
