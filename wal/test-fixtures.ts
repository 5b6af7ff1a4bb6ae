/**
 * Shared by the wal/ tests and the crash-test child: temp directories, payloads whose
 * content proves their identity, and a logger and metrics that record what they saw.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Logger } from '../observability/logger.js'
import type { WalMetrics } from './metrics.js'
import type { WalPosition } from './position.js'
import type { WalRecord, WriteAheadLog } from './write-ahead-log.js'

export async function makeTempDir(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'metrichouse-wal-'))
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) }
}

/** `size` bytes (at least 8) that start with `n` and whose every byte depends on `n`. */
export function makePayload(n: number, size: number): Uint8Array {
  const buf = Buffer.allocUnsafe(Math.max(8, size))
  buf.writeUInt32LE(n, 0)
  buf.writeUInt32LE(buf.length, 4)
  for (let i = 8; i < buf.length; i++) buf[i] = (n * 31 + i) & 0xff
  return buf
}

/** The `n` a payload of makePayload was made from, or undefined when its bytes do not match. */
export function payloadNumber(data: Uint8Array): number | undefined {
  if (data.byteLength < 8) return undefined
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  const n = buf.readUInt32LE(0)
  if (buf.readUInt32LE(4) !== buf.length) return undefined
  for (let i = 8; i < buf.length; i++) if (buf[i] !== ((n * 31 + i) & 0xff)) return undefined
  return n
}

/** Every record from `from` to the durable end, read in small batches. */
export async function readAll(wal: WriteAheadLog, from: WalPosition = wal.start()): Promise<WalRecord[]> {
  const out: WalRecord[] = []
  let pos = from
  for (;;) {
    const { records, next } = await wal.read(pos, { maxRecords: 7, maxBytes: 1 << 20 })
    out.push(...records)
    if (records.length === 0 && next.segment === pos.segment && next.offset === pos.offset) return out
    pos = next
  }
}

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error'
  msg: string
  fields?: object
}

export function recordingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = []
  return {
    lines,
    debug: (msg, fields) => void lines.push({ level: 'debug', msg, fields }),
    info: (msg, fields) => void lines.push({ level: 'info', msg, fields }),
    warn: (msg, fields) => void lines.push({ level: 'warn', msg, fields }),
    error: (msg, fields) => void lines.push({ level: 'error', msg, fields }),
  }
}

export function countingMetrics(): WalMetrics & { fsyncs: number; appends: number; writes: number; corrupt: number; reopens: number } {
  const m = {
    reopens: 0,
    fsyncs: 0,
    appends: 0,
    writes: 0,
    corrupt: 0,
    observeFsync: () => void m.fsyncs++,
    observeAppends: (records: number) => {
      m.appends += records
      m.writes++
    },
    incCorruptRecords: () => void m.corrupt++,
    incReopens: () => void m.reopens++,
    setSize: () => {},
  }
  return m
}
