/** The WAL logs through the project's structured logger. */
import { createJsonLogger, silentLogger, type Logger } from '../observability/logger.js'

export type { Logger }

/** Drops everything: for tests and benchmarks that assert through metrics instead. */
export const noopLogger: Logger = silentLogger

/** One JSON line per message on stderr: the default when the caller passes no logger. */
export function stderrLogger(component: string): Logger {
  return createJsonLogger('info', undefined, component)
}
