/**
 * Typed errors raised anywhere on the request path. Only the HTTP edge
 * (adapter/http-errors-middleware.ts) turns them into status codes, so library code
 * never speaks HTTP.
 */
export abstract class MetrichouseError extends Error {
  abstract readonly status: number
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
  }
}

/** Malformed or invalid input: the sender must not retry it. */
export class BadRequestError extends MetrichouseError {
  readonly status = 400
}

export class UnauthorizedError extends MetrichouseError {
  readonly status = 401
}

/** The client did not send its request in time. */
export class RequestTimeoutError extends MetrichouseError {
  readonly status = 408
}

export class PayloadTooLargeError extends MetrichouseError {
  readonly status = 413
}

export class UnsupportedMediaTypeError extends MetrichouseError {
  readonly status = 415
}

/** The sender should retry after `retryAfterSeconds`. */
export class TooManyRequestsError extends MetrichouseError {
  readonly status = 429
  constructor(message: string, readonly retryAfterSeconds: number) {
    super(message)
  }
}

/** The store or the log cannot take data now; the sender retries from its own WAL. */
export class ServiceUnavailableError extends MetrichouseError {
  readonly status = 503
  constructor(message: string, readonly retryAfterSeconds: number, options?: { cause?: unknown }) {
    super(message, options)
  }
}
