/**
 * A role could not start for a reason the operator can fix (a busy port, a data directory in
 * use): `metrichouse` prints its message as one sentence, without a stack trace, and exits 1.
 */
export class StartupError extends Error {
  override name = 'StartupError'
}
