/**
 * Child process of recovery.test.ts, run under a small descriptor limit (`ulimit -n`): fills
 * the log, takes every free descriptor (as thousands of idle connections would), and prints
 * one line per step so the parent can check that the log neither skipped a record nor stayed
 * broken once descriptors came back. Usage: node --import tsx wal/fd-exhaustion.fixture.ts DIR
 */
import { closeSync, openSync } from 'node:fs'
import { makePayload, payloadNumber, readAll, recordingLogger, countingMetrics } from './test-fixtures.js'
import { WriteAheadLog } from './write-ahead-log.js'

const [dir] = process.argv.slice(2)
const metrics = countingMetrics()
const wal = await WriteAheadLog.open({ dir, segmentBytes: 4096, reopenDelayMs: 20, logger: recordingLogger(), metrics })
const say = (line: string): void => void process.stdout.write(line + '\n')

for (let i = 0; i < 10; i++) await wal.append(makePayload(i, 300))
// Ten 309-byte records do not fit in one 4096-byte segment: the log has two segments.

const held: number[] = []
for (;;) {
  try {
    held.push(openSync('/dev/null', 'r'))
  } catch {
    break
  }
}
say(`exhausted ${held.length}`)
const read = await wal.read(wal.start(), { maxRecords: 100, maxBytes: 1 << 20 }).then(
  (r) => `read ${r.records.length}`,
  (err: Error) => `read failed ${err.name}`,
)
say(read)
// A record too big for the rest of the active segment needs a new segment file: EMFILE.
const rolled = await wal.append(makePayload(10, 3000)).then(
  () => 'append ok',
  (err: Error) => `append failed ${err.name}`,
)
say(rolled)
for (const fd of held) closeSync(fd)
const deadline = Date.now() + 10_000
while (!wal.writable && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
say(`writable ${wal.writable}`)
await wal.append(makePayload(11, 300))
say(`records ${(await readAll(wal)).map((r) => payloadNumber(r.data)).join(',')}`)
say(`corrupt ${metrics.corrupt} reopens ${metrics.reopens}`)
await wal.close()
