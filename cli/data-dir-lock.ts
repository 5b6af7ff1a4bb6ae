/**
 * One process per data directory: the embedded ClickHouse and the WAL are not safe to share.
 * The lock is a file holding the owner's pid, created exclusively; a lock whose pid is gone
 * (a crash, kill -9, a zombie not yet reaped) is taken over, so a restart never needs a
 * manual clean-up.
 */
import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs'
import { join } from 'node:path'
import { StartupError } from './startup-error.js'

const LOCK_FILE = 'metrichouse.lock'

/** Takes the lock on `dir` (created if missing) and returns its release. */
export function lockDataDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true })
  const file = join(dir, LOCK_FILE)
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx')
      writeSync(fd, `${process.pid}\n`)
      closeSync(fd)
      return () => rmSync(file, { force: true })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const owner = Number.parseInt(readFileSync(file, 'utf8'), 10)
    if (Number.isInteger(owner) && owner !== process.pid && alive(owner)) {
      throw new StartupError(`the data directory ${dir} is in use by another metrichouse (pid ${owner}); stop it first or choose another with --data-dir`)
    }
    // Left by a process that is gone (or by this pid before a container restart): take it over.
    rmSync(file, { force: true })
  }
  throw new StartupError(`could not lock the data directory ${dir}: another process keeps taking ${LOCK_FILE}`)
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
  return !zombie(pid)
}

/**
 * A process killed with -9 whose parent has not collected it yet (a zombie) still answers
 * kill(pid, 0) but holds nothing: no file, no engine. Measured in the crash tests: a serve
 * killed under a wrapper stays a zombie until init reaps it, and the restart must not wait.
 * Linux tells the state in /proc; elsewhere kill(0) is all there is.
 */
function zombie(pid: number): boolean {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT'
  }
  // "pid (comm) S ...": the state follows the last ')', as comm may hold anything.
  const state = stat.charAt(stat.lastIndexOf(')') + 2)
  return state === 'Z' || state === 'X'
}
