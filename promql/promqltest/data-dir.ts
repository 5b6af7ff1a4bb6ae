/**
 * Where Prometheus's promqltest files live. They are Prometheus's text (Apache-2.0), not part
 * of this repository: PROMQLTEST_DIR wins, then two folders where a checkout on the project's
 * machines finds them, so a clean checkout elsewhere on the same machine (CI) still does.
 */
import { existsSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

export function promqlTestDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PROMQLTEST_DIR) return env.PROMQLTEST_DIR
  const candidates = [resolve(repoRoot, '../shared/promqltest'), '/work/shared/promqltest']
  return candidates.find((dir) => existsSync(dir)) ?? candidates[0]!
}
