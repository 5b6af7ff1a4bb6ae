import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { freePort, freePorts } from './free-port.js'
import { requireBinary, runCommand, spawnPeer, waitForHttp } from './process.js'
import { makeTempDir, type TempDir } from './temp-dir.js'

const dirs: TempDir[] = []
afterEach(async () => {
  for (const dir of dirs.splice(0)) await dir.remove()
})

async function tempDir(): Promise<string> {
  const dir = await makeTempDir('process-test')
  dirs.push(dir)
  return dir.path
}

const server = (port: number) =>
  `require('http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1', () => console.log('listening'));` +
  `process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(0) })`

describe('free ports', () => {
  it('gives distinct bindable ports', async () => {
    const ports = await freePorts(3)
    expect(new Set(ports).size).toBe(3)
    expect(await freePort()).toBeGreaterThan(0)
  })
})

describe('peer processes', () => {
  it('waits for HTTP, logs to a file and stops with SIGTERM', async () => {
    const port = await freePort()
    const logFile = join(await tempDir(), 'log')
    const peer = spawnPeer({ name: 'node', command: process.execPath, args: ['-e', server(port)], logFile, maxLifetimeMs: 20_000 })
    await waitForHttp(`http://127.0.0.1:${port}/`, 10_000, { peer })
    expect(peer.peerPid()).toBeGreaterThan(0)
    expect(await peer.stop()).toEqual({ code: 0, signal: null })
    expect(peer.logTail()).toContain('got SIGTERM')
  })

  it('kills with SIGKILL when SIGTERM is ignored', async () => {
    const logFile = join(await tempDir(), 'log')
    const script = "process.on('SIGTERM', () => console.log('ignored')); setInterval(() => {}, 1000); console.log('up')"
    const peer = spawnPeer({ name: 'stubborn', command: process.execPath, args: ['-e', script], logFile, maxLifetimeMs: 20_000 })
    await new Promise((resolve) => setTimeout(resolve, 300))
    const exit = await peer.stop(500)
    expect(exit.signal ?? exit.code).toBeTruthy()
    expect(peer.running).toBe(false)
  })

  it('kill9 ends the peer itself, not only the wrapper', async () => {
    const port = await freePort()
    const logFile = join(await tempDir(), 'log')
    const peer = spawnPeer({ name: 'node', command: process.execPath, args: ['-e', server(port)], logFile, maxLifetimeMs: 20_000 })
    await waitForHttp(`http://127.0.0.1:${port}/`, 10_000, { peer })
    const inner = peer.peerPid()
    expect(inner).toBeDefined()
    await peer.kill9()
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(existsSync(`/proc/${inner}`) && !isZombie(inner as number)).toBe(false)
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow()
  })

  it('ends a peer at its maximum lifetime', async () => {
    const logFile = join(await tempDir(), 'log')
    const peer = spawnPeer({ name: 'sleep', command: 'sleep', args: ['30'], logFile, maxLifetimeMs: 1_000 })
    const started = Date.now()
    await peer.exited
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('fails waitForHttp early with the log when the peer exits', async () => {
    const logFile = join(await tempDir(), 'log')
    const peer = spawnPeer({ name: 'crasher', command: process.execPath, args: ['-e', "console.error('boom'); process.exit(3)"], logFile, maxLifetimeMs: 10_000 })
    await expect(waitForHttp(`http://127.0.0.1:${await freePort()}/`, 10_000, { peer })).rejects.toThrow(/boom/)
  })

  it('names the Debian package of a missing binary', () => {
    expect(() => requireBinary('no-such-peer-binary', 'some-package')).toThrow(/Debian package "some-package"/)
    expect(requireBinary('node', 'nodejs')).toMatch(/node$/)
  })

  it('runs a command to completion with its output', async () => {
    const result = await runCommand(process.execPath, ['-e', "console.log('out'); console.error('err'); process.exit(2)"], 10_000)
    expect(result).toEqual({ code: 2, signal: null, stdout: 'out\n', stderr: 'err\n' })
  })
})

function isZombie(pid: number): boolean {
  try {
    // /proc/PID/stat field 3 is the state; Z means exited but not reaped.
    return /\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}
