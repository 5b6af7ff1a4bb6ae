/**
 * A real single-node KRaft Kafka broker for a test file: `scripts/kafka/start.sh
 * --foreground` under spawnPeer (time-bounded, own process group, log file), on free
 * 127.0.0.1 ports with its data in a temp dir. Ready when the broker logged "Kafka Server
 * started" (about 5 s). stop() + start() on the same dir and ports is a broker restart.
 * The jars come from kafka/pom.xml (scripts/kafka/fetch.sh; .ci/run fetches them).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePorts } from './free-port.js'
import { REPO_ROOT } from './metrichouse.js'
import { sleep, spawnPeer, type ExitInfo, type PeerProcess } from './process.js'
import { makeTempDir, type TempDir } from './temp-dir.js'

export const KAFKA_START_SCRIPT = join(REPO_ROOT, 'scripts', 'kafka', 'start.sh')

export class KafkaBroker {
  readonly brokers: string
  private current?: PeerProcess
  private starts = 0

  private constructor(
    private readonly dir: TempDir,
    readonly port: number,
    private readonly controllerPort: number,
    private readonly maxLifetimeMs: number,
  ) {
    this.brokers = `127.0.0.1:${port}`
  }

  static async start(options: { maxLifetimeMs?: number; heap?: string } = {}): Promise<KafkaBroker> {
    const dir = await makeTempDir('kafka')
    const [port, controllerPort] = await freePorts(2)
    const broker = new KafkaBroker(dir, port, controllerPort, options.maxLifetimeMs ?? 300_000)
    try {
      await broker.startAgain()
    } catch (err) {
      await broker.dispose()
      throw err
    }
    return broker
  }

  get running(): boolean {
    return this.current?.running ?? false
  }

  /** (Re)starts the broker on the same ports and data; resolves once it is ready. */
  async startAgain(): Promise<void> {
    if (this.current?.running) throw new Error('the broker is still running')
    this.starts++
    const logFile = join(this.dir.path, `kafka-${this.starts}.log`)
    this.current = spawnPeer({
      name: `kafka #${this.starts}`,
      command: 'bash',
      args: [KAFKA_START_SCRIPT, '--foreground', '--port', String(this.port), '--controller-port', String(this.controllerPort), '--dir', this.dir.path, '--heap', '384m'],
      logFile,
      maxLifetimeMs: this.maxLifetimeMs,
      cwd: REPO_ROOT,
    })
    const peer = this.current
    const deadline = Date.now() + 90_000
    for (;;) {
      if (readFileSync(logFile, 'utf8').includes('Kafka Server started')) return
      if (!peer.running) throw new Error(`the broker exited before it was ready: ${peer.describe()}`)
      if (Date.now() > deadline) throw new Error(`kafka on ${this.brokers} not ready within 90 s: ${peer.describe()}`)
      await sleep(100)
    }
  }

  /** Pid of the JVM (for CPU figures), or undefined. */
  pid(): number | undefined {
    return this.current?.peerPid()
  }

  /** Graceful stop (SIGTERM: controlled shutdown). */
  async stop(): Promise<ExitInfo | undefined> {
    return this.current?.stop(30_000)
  }

  async kill9(): Promise<ExitInfo | undefined> {
    return this.current?.kill9()
  }

  logTail(lines = 40): string {
    return this.current?.logTail(lines) ?? '(not started)'
  }

  async dispose(): Promise<void> {
    if (this.current?.running) await this.current.stop(15_000)
    await this.dir.remove()
  }
}
