/**
 * Small files that must be either the old or the new content after a crash, never a mix:
 * write `<name>.tmp`, fsync it, rename over `<name>`, fsync the directory.
 */
import { open, rename, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'

export const TMP_SUFFIX = '.tmp'

export async function writeFileAtomic(path: string, content: string | Uint8Array): Promise<void> {
  const tmp = path + TMP_SUFFIX
  const file = await open(tmp, 'w')
  try {
    await file.writeFile(content)
    await file.sync()
  } finally {
    await file.close()
  }
  await rename(tmp, path)
  await syncDir(dirname(path))
}

/** Makes a directory's entries (created, renamed, removed files) durable. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** Removes a `<name>.tmp` a crash left behind; its content was never acknowledged. */
export async function removeLeftoverTmp(dir: string, name: string): Promise<boolean> {
  const tmp = join(dir, name + TMP_SUFFIX)
  try {
    await rm(tmp)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw err
  }
}
