/**
 * The one place typed errors become HTTP status codes (plain-text bodies, as remote-write
 * senders log them verbatim).
 */
import type { NextFunction, Request, Response } from 'express'
import { MetrichouseError, PayloadTooLargeError, BadRequestError, ServiceUnavailableError, TooManyRequestsError } from '../errors/http-errors.js'
import type { Logger } from '../observability/logger.js'

/** Express/body-parser raise plain errors with a `type`; give them our types. */
function normalise(err: unknown): unknown {
  const e = err as { type?: string; status?: number; message?: string; limit?: number }
  if (e?.type === 'entity.too.large') return new PayloadTooLargeError(`request body is larger than the limit of ${e.limit} bytes`)
  if (e?.type === 'request.aborted') return new BadRequestError('request aborted by the client')
  if (e?.type === 'request.size.invalid') return new BadRequestError('request body shorter than its Content-Length')
  if (e?.type === 'stream.encoding.set' || e?.type === 'encoding.unsupported') return new BadRequestError(e.message ?? 'bad encoding')
  return err
}

export function errorMiddleware(logger: Logger) {
  return (rawErr: unknown, req: Request, res: Response, _next: NextFunction) => {
    const err = normalise(rawErr)
    if (res.headersSent) {
      res.destroy()
      return
    }
    if (err instanceof MetrichouseError) {
      if (err instanceof TooManyRequestsError || err instanceof ServiceUnavailableError) res.setHeader('Retry-After', String(err.retryAfterSeconds))
      // The rest of an oversized body is never read: do not reuse the connection.
      if (err instanceof PayloadTooLargeError) res.setHeader('Connection', 'close')
      if (err.status >= 500) logger.warn('request refused', { path: req.path, status: err.status, err: err.message })
      res.status(err.status).type('text/plain').send(err.message + '\n')
      return
    }
    logger.error('unexpected error', { path: req.path, err: (err as Error)?.stack ?? String(err) })
    res.status(500).type('text/plain').send('internal error\n')
  }
}
