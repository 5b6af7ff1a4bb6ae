/** Runs `metrichouse rules ...` in this process with stdout and stderr captured (the CLI tests of lint and lint --url). */
import { vi } from 'vitest'
import { rules } from '../cli/rules.js'

export async function runRulesCli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true))
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true))
  try {
    return { code: await rules(argv), out, err }
  } finally {
    o.mockRestore()
    e.mockRestore()
  }
}
