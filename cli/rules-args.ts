/** Argument parsing shared by the `metrichouse rules` subcommands (lint, test, compile). */
import { parseArgs } from 'node:util'

/** A bad command line: the subcommand prints it and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

export function parseToolArgs<T extends Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true })
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
}
