/** The `metrichouse` command as a user runs it (the built dist/cli/main.js). */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { CLI_MAIN, Metrichouse } from '../peers/metrichouse.js'

const run = promisify(execFile)
const dir = mkdtempSync(path.join(tmpdir(), 'mh-cli-'))

afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI_MAIN, ...args], { env: { PATH: process.env.PATH, ...env }, timeout: 60_000 })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

describe('metrichouse CLI', () => {
  it('prints usage with every command and flag for --help', async () => {
    const r = await cli(['--help'])
    expect(r.code).toBe(0)
    for (const word of ['serve', 'migrate', '--listen', '--data-dir', '--config', '--wal-max-bytes', '(default :9201)']) expect(r.stdout).toContain(word)
  })

  it('exits 2 with usage for no command, an unknown command and an unknown flag', async () => {
    expect((await cli([])).code).toBe(2)
    const unknown = await cli(['frobnicate'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('unknown command "frobnicate"')
    const flag = await cli(['serve', '--bogus'])
    expect(flag.code).toBe(2)
    expect(flag.stderr).toContain("Unknown option '--bogus'")
  })

  it('names the bad key of a config file and exits 2', async () => {
    const file = path.join(dir, 'bad.yml')
    writeFileSync(file, 'wal:\n  max_bytes: plenty\n')
    const r = await cli(['serve', '--config', file])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('wal.max_bytes')
  })

  it('refuses to start with an empty credential, in one clear sentence, and exits 2', async () => {
    const empty = path.join(dir, 'empty-token')
    writeFileSync(empty, '\n')
    const cases: { args: string[]; message: string }[] = [
      { args: ['--auth-bearer-token-file', empty], message: `auth.bearer_token_file: ${empty} is empty: an empty credential would let anyone in` },
      { args: ['--auth-basic-username', 'u'], message: 'auth.basic_username is set but auth.basic_password (or auth.basic_password_file) is not' },
    ]
    for (const c of cases) {
      const r = await cli(['serve', '--listen', '127.0.0.1:0', '--data-dir', path.join(dir, 'never-created'), ...c.args])
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr: expect.stringContaining(c.message) })
    }
  })

  it('takes settings from METRICHOUSE_ variables', async () => {
    const r = await cli(['migrate', '--print'], { METRICHOUSE_RETENTION_RAW: '2d' })
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('toIntervalSecond(172800)')
  })

  it('prints the DDL with migrate --print', async () => {
    const r = await cli(['migrate', '--print'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/CREATE TABLE IF NOT EXISTS samples/)
    expect(r.stdout).toMatch(/CREATE TABLE IF NOT EXISTS series/)
  })

  it('migrates an embedded store idempotently, and applies a changed retention', async () => {
    const data = path.join(dir, 'data')
    expect((await cli(['migrate', '--data-dir', data])).code).toBe(0)
    expect((await cli(['migrate', '--data-dir', data])).code).toBe(0)
    const changed = await cli(['migrate', '--data-dir', data, '--retention-raw', '3d'])
    expect(changed.code, changed.stderr).toBe(0)
    // A separate process (this test's) may open the directory now that migrate has exited.
    const { Session } = await import('chdb')
    const session = new Session(path.join(data, 'clickhouse'))
    try {
      const ddl = session.query(`SELECT engine_full FROM system.tables WHERE name = 'samples'`, 'TSVRaw')
      expect(ddl).toContain('toIntervalSecond(259200)')
    } finally {
      session.close()
    }
  }, 120_000)

  it('refuses, in one sentence and exit 1, a second serve on the same data directory and a busy port', async () => {
    const first = await Metrichouse.start()
    try {
      const cases = [
        { args: ['serve', '--listen', '127.0.0.1:0', '--data-dir', first.dataDir], says: `the data directory ${first.dataDir} is in use by another metrichouse` },
        { args: ['serve', '--listen', `127.0.0.1:${first.port}`, '--data-dir', path.join(dir, 'other')], says: `cannot listen on 127.0.0.1:${first.port}: the address is in use` },
      ]
      for (const c of cases) {
        const r = await cli(c.args)
        expect(r.code, r.stderr).toBe(1)
        expect(r.stderr).toContain(c.says)
        expect(r.stderr.trim().split('\n')).toHaveLength(1)
      }
    } finally {
      await first.dispose()
    }
  }, 120_000)
})
