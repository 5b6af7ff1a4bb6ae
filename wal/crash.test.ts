import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { makeTempDir, payloadNumber, readAll, recordingLogger } from './test-fixtures.js'
import { WriteAheadLog, type WalPosition } from './write-ahead-log.js'

let tmp: Awaited<ReturnType<typeof makeTempDir>>
beforeEach(async () => {
  tmp = await makeTempDir()
})
afterEach(async () => {
  await tmp.remove()
})

const repoRoot = fileURLToPath(new URL('..', import.meta.url))
const writer = fileURLToPath(new URL('./crash-writer.fixture.ts', import.meta.url))

/** Runs the writer until it has acknowledged `killAfter` records, then SIGKILLs it; returns every ack it printed. */
function runWriterAndKill(dir: string, first: number, concurrency: number, killAfter: number): Promise<Map<number, WalPosition>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, dir, String(first), String(concurrency)], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const acked = new Map<number, WalPosition>()
    let partial = ''
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.stdout.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) {
        const [n, segment, offset] = line.split(' ').map(Number)
        acked.set(n, { segment, offset })
      }
      if (acked.size >= killAfter && child.exitCode === null && !child.killed) child.kill('SIGKILL')
    })
    child.on('error', reject)
    child.on('close', (code, signal) => {
      if (signal === 'SIGKILL') resolve(acked)
      else reject(new Error(`writer exited with ${code} before it was killed: ${stderr.slice(0, 500)}`))
    })
  })
}

describe('WriteAheadLog after SIGKILL', () => {
  it('holds every acknowledged record intact at its position, round after round', { timeout: 60_000 }, async () => {
    const rounds = [
      { concurrency: 1, killAfter: 150 },
      { concurrency: 8, killAfter: 600 },
      { concurrency: 64, killAfter: 900 },
    ]
    const allAcked = new Map<number, WalPosition>()
    let first = 0
    for (const round of rounds) {
      const acked = await runWriterAndKill(tmp.dir, first, round.concurrency, round.killAfter)
      expect(acked.size).toBeGreaterThanOrEqual(round.killAfter)
      for (const [n, p] of acked) allAcked.set(n, p)

      const wal = await WriteAheadLog.open({ dir: tmp.dir, segmentBytes: 64 * 1024, logger: recordingLogger() })
      const records = await readAll(wal)
      const found = new Map(records.map((r) => [payloadNumber(r.data), r.position]))
      expect(found.has(undefined)).toBe(false) // every record read back is intact
      const missing = [...allAcked].filter(([n, p]) => {
        const at = found.get(n)
        return at === undefined || at.segment !== p.segment || at.offset !== p.offset
      })
      expect(missing).toEqual([])
      await wal.close()
      first = Math.max(...records.map((r) => payloadNumber(r.data) ?? 0)) + 1
    }
  })
})
