/**
 * The smallest logger the WAL needs. It lives here because no `observability/` logger
 * exists yet; when one does, this file should re-export it instead.
 */
export interface Logger {
  info(msg: string, fields?: object): void
  warn(msg: string, fields?: object): void
  error(msg: string, fields?: object): void
}

/** Drops everything: for tests and benchmarks that assert through metrics instead. */
export const noopLogger: Logger = {
  info() {},
  warn() {},
  error() {},
}

/** One JSON line per message on stderr: the default when the caller passes no logger. */
export function stderrLogger(component: string): Logger {
  const write = (level: string, msg: string, fields?: object): void => {
    process.stderr.write(JSON.stringify({ ts: new Date().toISOString(), level, component, msg, ...fields }) + '\n')
  }
  return {
    info: (msg, fields) => write('info', msg, fields),
    warn: (msg, fields) => write('warn', msg, fields),
    error: (msg, fields) => write('error', msg, fields),
  }
}
