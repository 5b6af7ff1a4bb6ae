/**
 * Debian's Alertmanager 0.25 (`prometheus-alertmanager`) as a peer: a given configuration,
 * its own storage directory, clustering off, listening on 127.0.0.1 only.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { freePort } from './free-port.js'
import { requireBinary, runCommand, spawnPeer, waitForHttp, type PeerProcess } from './process.js'
import { makeTempDir, type TempDir } from './temp-dir.js'

export class Alertmanager {
  private constructor(
    readonly url: string,
    private readonly process: PeerProcess,
    private readonly dir: TempDir,
  ) {}

  static async start(configYaml: string, maxLifetimeMs = 180_000): Promise<Alertmanager> {
    const binary = requireBinary('prometheus-alertmanager', 'prometheus-alertmanager')
    const dir = await makeTempDir('alertmanager')
    const configFile = join(dir.path, 'alertmanager.yml')
    await writeFile(configFile, configYaml)
    const check = await amtoolCheckConfig(configFile)
    if (check.code !== 0) throw new Error(`amtool check-config refused the test configuration:\n${check.output}`)
    const port = await freePort()
    const process = spawnPeer({
      name: 'alertmanager',
      command: binary,
      args: [
        `--config.file=${configFile}`,
        `--storage.path=${join(dir.path, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        // No gossip: a single instance, and nothing listening beyond 127.0.0.1.
        '--cluster.listen-address=',
        '--log.level=debug',
      ],
      logFile: join(dir.path, 'alertmanager.log'),
      maxLifetimeMs,
    })
    const url = `http://127.0.0.1:${port}`
    await waitForHttp(`${url}/-/ready`, 30_000, { peer: process })
    return new Alertmanager(url, process, dir)
  }

  /** Alerts Alertmanager holds (GET /api/v2/alerts), with their status. */
  async alerts(): Promise<{ labels: Record<string, string>; status: { state: string; inhibitedBy: string[] } }[]> {
    const res = await fetch(`${this.url}/api/v2/alerts`)
    return (await res.json()) as { labels: Record<string, string>; status: { state: string; inhibitedBy: string[] } }[]
  }

  describe(): string {
    return this.process.describe()
  }

  async stop(): Promise<void> {
    await this.process.stop()
    await this.dir.remove()
  }
}

/** `amtool check-config FILE`: exit code and output. */
export async function amtoolCheckConfig(file: string): Promise<{ code: number | null; output: string }> {
  const amtool = requireBinary('amtool', 'prometheus-alertmanager')
  const r = await runCommand(amtool, ['check-config', file], 30_000)
  return { code: r.code, output: r.stdout + r.stderr }
}
