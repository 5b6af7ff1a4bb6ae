/**
 * Child process of crash.test.ts: appends numbered records as fast as it can from several
 * concurrent appenders and prints `<n> <segment> <offset>` for each acknowledged one,
 * until it is killed. Usage: node --import tsx wal/crash-writer.fixture.ts DIR FIRST CONCURRENCY
 */
import { makePayload } from './test-fixtures.js'
import { WriteAheadLog } from './write-ahead-log.js'

const [dir, firstArg, concurrencyArg] = process.argv.slice(2)
const wal = await WriteAheadLog.open({ dir, segmentBytes: 64 * 1024 })
let next = Number(firstArg)

async function appender(): Promise<void> {
  for (;;) {
    const n = next++
    const position = await wal.append(makePayload(n, 50 + ((n * 7919) % 6000)))
    // Pipes are written synchronously on Linux: once this returns, the parent can read it.
    process.stdout.write(`${n} ${position.segment} ${position.offset}\n`)
  }
}

await Promise.all(Array.from({ length: Number(concurrencyArg) }, appender))
