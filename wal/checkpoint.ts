/**
 * The flusher's durable progress through the WAL: `committed` (everything before it is in
 * ClickHouse) and, while a batch is being inserted, its exact range. Recording the range
 * before the insert is what makes the insert exactly-once (insert deduplication): after a crash the
 * flusher re-reads exactly [from, to) (WriteAheadLog.read with `until: to`) and re-sends it
 * with the same dedup token, which ClickHouse then drops if the first try had landed.
 *
 * One small JSON file, replaced atomically (tmp, fsync, rename, fsync dir), so a crash
 * leaves either the old or the new state.
 */
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { removeLeftoverTmp, writeFileAtomic } from './atomic-file.js'
import { comparePositions, formatPosition, isWalPosition, type WalPosition } from './position.js'

export interface FlushState {
  committed: WalPosition
  inFlight?: { from: WalPosition; to: WalPosition }
}

const FILE = 'flush-checkpoint.json'
const VERSION = 1

export class FlushCheckpoint {
  /** Serialises writes: each one starts after the previous one has landed. */
  private writing: Promise<void> = Promise.resolve()

  private constructor(
    private readonly path: string,
    private state: FlushState,
  ) {}

  /** Reads the checkpoint in `dir` (creating `dir`); a missing file means nothing committed yet. */
  static async open(dir: string): Promise<FlushCheckpoint> {
    await mkdir(dir, { recursive: true })
    await removeLeftoverTmp(dir, FILE)
    const path = join(dir, FILE)
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        return new FlushCheckpoint(path, { committed: { segment: 0, offset: 0 } })
      }
      throw err
    }
    return new FlushCheckpoint(path, parseState(path, text))
  }

  get(): FlushState {
    const { committed, inFlight } = this.state
    return inFlight
      ? { committed: { ...committed }, inFlight: { from: { ...inFlight.from }, to: { ...inFlight.to } } }
      : { committed: { ...committed } }
  }

  /** Records the batch [from, to) about to be inserted; resolves once that is durable. */
  setInFlight(from: WalPosition, to: WalPosition): Promise<void> {
    return this.write(() => {
      const { committed } = this.state
      if (comparePositions(from, committed) < 0 || comparePositions(to, from) < 0) {
        throw new RangeError(
          `flush checkpoint: in-flight range ${formatPosition(from)}..${formatPosition(to)} invalid after committed ${formatPosition(committed)}`,
        )
      }
      return { committed: { ...committed }, inFlight: { from: { ...from }, to: { ...to } } }
    })
  }

  /** Marks everything before `to` as inserted and clears the in-flight range. */
  commit(to: WalPosition): Promise<void> {
    return this.write(() => {
      if (comparePositions(to, this.state.committed) < 0) {
        throw new RangeError(
          `flush checkpoint: commit ${formatPosition(to)} goes back before ${formatPosition(this.state.committed)}`,
        )
      }
      return { committed: { ...to } }
    })
  }

  private write(next: () => FlushState): Promise<void> {
    const done = this.writing.then(async () => {
      const state = next()
      await writeFileAtomic(this.path, JSON.stringify({ version: VERSION, ...state }) + '\n')
      this.state = state
    })
    this.writing = done.catch(() => {})
    return done
  }
}

function parseState(path: string, text: string): FlushState {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    throw new Error(`${path}: not JSON (${text.slice(0, 40)})`, { cause: err })
  }
  const { version, committed, inFlight } = (raw ?? {}) as Record<string, unknown>
  if (version !== VERSION) throw new Error(`${path}: unknown version ${JSON.stringify(version)}`)
  if (!isWalPosition(committed)) throw new Error(`${path}: "committed" is not a position`)
  if (inFlight === undefined) return { committed }
  const { from, to } = (inFlight ?? {}) as Record<string, unknown>
  if (!isWalPosition(from) || !isWalPosition(to)) throw new Error(`${path}: "inFlight" is not a range of positions`)
  return { committed, inFlight: { from, to } }
}
