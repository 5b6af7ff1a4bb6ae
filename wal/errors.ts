import { ServiceUnavailableError } from '../errors/http-errors.js'
import { formatPosition, type WalPosition } from './position.js'

/** The log holds `maxBytes` already: the sender retries once the flusher has caught up. */
export class WalFullError extends ServiceUnavailableError {
  constructor(message: string, retryAfterSeconds = 5) {
    super(message, retryAfterSeconds)
  }
}

/**
 * The log cannot take appends: it is closed, or a write or fsync failed and it will not
 * risk acknowledging data it may not hold (after a failed fsync the page cache cannot be
 * trusted; reopening the log re-reads what is really on disk).
 */
export class WalUnavailableError extends ServiceUnavailableError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 5, options)
  }
}

/** A read asked for a position that is not in the log (removed, or never written). */
export class WalPositionError extends Error {
  constructor(
    message: string,
    readonly position: WalPosition,
  ) {
    super(`${message}: ${formatPosition(position)}`)
    this.name = 'WalPositionError'
  }
}
