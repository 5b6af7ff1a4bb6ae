import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../config/load.js'
import { createJsonLogger } from '../observability/logger.js'
import { freePort } from '../test/peers/free-port.js'
import { lockDataDir } from './data-dir-lock.js'
import { role } from './role.js'
import { StartupError } from './startup-error.js'

const dir = mkdtempSync(join(tmpdir(), 'mh-role-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const logger = createJsonLogger('error')
const config = (listen = '127.0.0.1:0') => loadConfig({ flags: { listen, 'data-dir': dir }, env: {} })

async function status(url: string): Promise<number> {
  const res = await fetch(url)
  await res.arrayBuffer()
  return res.status
}

describe('role', () => {
  it('answers /-/healthy while starting, /-/ready and routes 503 until started, then serves the routes', async () => {
    let finishStart!: () => void
    const started = new Promise<void>((resolve) => (finishStart = resolve))
    const stopped: string[] = []
    const starter = role('test', async ({ onShutdown }) => {
      onShutdown(() => stopped.push('first'))
      onShutdown(() => stopped.push('second'))
      await started
      return { routes: [{ method: 'get', path: '/hello', handler: (_req, res) => void res.send('hi') }] }
    })
    const free = await freePort()
    const running = starter(config(`127.0.0.1:${free}`), logger)
    const base = `http://127.0.0.1:${free}`
    await expect.poll(() => status(`${base}/-/healthy`).catch(() => 0)).toBe(200)
    expect(await status(`${base}/-/ready`)).toBe(503)
    expect(await status(`${base}/hello`)).toBe(503)
    finishStart()
    const started_ = await running
    expect(await status(`${base}/-/ready`)).toBe(200)
    expect(await (await fetch(`${base}/hello`)).text()).toBe('hi')
    expect(await status(`${base}/nothing`)).toBe(404)
    await started_.shutdown()
    expect(stopped).toEqual(['second', 'first'])
    await expect(fetch(`${base}/-/healthy`)).rejects.toThrow()
  })

  it('closes what it opened and the port when the start fails', async () => {
    const stopped: string[] = []
    const free = await freePort()
    const starter = role('test', async ({ onShutdown }) => {
      onShutdown(() => stopped.push('opened'))
      throw new Error('broker unreachable')
    })
    await expect(starter(config(`127.0.0.1:${free}`), logger)).rejects.toThrow('broker unreachable')
    expect(stopped).toEqual(['opened'])
    await expect(fetch(`http://127.0.0.1:${free}/-/healthy`)).rejects.toThrow()
  })

  it('says in one sentence that the port is in use', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    try {
      const starter = role('test', async () => ({}))
      const err = await starter(config(`127.0.0.1:${port}`), logger).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(StartupError)
      expect((err as Error).message).toBe(`cannot listen on 127.0.0.1:${port}: the address is in use by another process (another metrichouse?); stop it or choose another address with --listen`)
    } finally {
      blocker.close()
    }
  })
})

describe('lockDataDir', () => {
  it('refuses a directory locked by a live process, takes over one left by a dead process, and releases', () => {
    const data = join(dir, 'locked')
    const release = lockDataDir(data)
    // The parent of this test process is alive: pretend it holds the lock.
    rmSync(join(data, 'metrichouse.lock'))
    const releaseParent = lockDataDirAs(data, process.ppid)
    expect(() => lockDataDir(data)).toThrow(`the data directory ${data} is in use by another metrichouse (pid ${process.ppid})`)
    releaseParent()
    lockDataDirAs(data, 2 ** 22 + 1) // above Linux's pid_max: no such process
    const again = lockDataDir(data)
    again()
    release()
  })

  it('takes over a lock whose process was killed and is a zombie not yet reaped', async () => {
    const data = join(dir, 'zombie')
    // The background `sleep 0` exits at once; its parent exec's into `sleep 5` and never
    // collects it, so for five seconds its pid is a zombie, as a kill -9'd serve under a wrapper is.
    const parent = spawn('bash', ['-c', 'sleep 0 & echo $!; exec sleep 5'], { stdio: ['ignore', 'pipe', 'ignore'] })
    try {
      const pid = Number((await once(parent.stdout!, 'data'))[0].toString().trim())
      let state = ''
      for (let i = 0; i < 50 && state !== 'Z'; i++) {
        await new Promise((r) => setTimeout(r, 20))
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
        state = stat.charAt(stat.lastIndexOf(')') + 2)
      }
      expect(state).toBe('Z')
      lockDataDir(data)()
      lockDataDirAs(data, pid)
      const release = lockDataDir(data)
      release()
    } finally {
      parent.kill('SIGKILL')
    }
  })
})

function lockDataDirAs(data: string, pid: number): () => void {
  const file = join(data, 'metrichouse.lock')
  writeFileSync(file, `${pid}\n`)
  return () => rmSync(file, { force: true })
}
