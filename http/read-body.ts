/**
 * Reads a request body into one buffer with a hard size limit and a deadline. Not
 * express.raw(): body-parser rejects any Content-Encoding it cannot inflate itself, and
 * remote write's is snappy.
 *
 * The deadline is ours: Node's requestTimeout does not end a request whose handler has
 * started (checked on Node 20), and 70 writers sending a byte every 5 s held every write
 * slot for 50 s before it existed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { BadRequestError, PayloadTooLargeError, RequestTimeoutError, TooManyRequestsError } from '../errors/http-errors.js'
import type { BudgetLease } from './in-flight-budget.js'

/** A body must arrive within this unless the caller says otherwise. */
export const DEFAULT_BODY_READ_TIMEOUT_MS = 30_000

export interface ReadBodyOptions {
  timeoutMs?: number
  /** Body bytes are charged to this lease as they arrive; past the budget: 429. */
  lease?: BudgetLease
}

export function readBody(req: IncomingMessage, limitBytes: number, opts: ReadBodyOptions = {}): Promise<Buffer> {
  const declared = req.headers['content-length']
  if (declared !== undefined && Number(declared) > limitBytes) {
    // Drain nothing: the connection is closed after the 413 so the rest is never read.
    req.resume()
    return Promise.reject(new PayloadTooLargeError(`request body of ${declared} bytes is larger than the limit of ${limitBytes} bytes`))
  }
  const timeoutMs = opts.timeoutMs ?? DEFAULT_BODY_READ_TIMEOUT_MS
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let failed = false
    const fail = (err: Error): void => {
      failed = true
      clearTimeout(timer)
      reject(err)
    }
    const timer = setTimeout(() => {
      if (failed) return
      fail(new RequestTimeoutError(`request body not received within ${timeoutMs} ms (${size} bytes arrived)`))
      closeAfterAnswer(req)
    }, timeoutMs)
    timer.unref()
    req.on('data', (chunk: Buffer) => {
      if (failed) return
      size += chunk.length
      if (size > limitBytes) {
        req.resume()
        fail(new PayloadTooLargeError(`request body is larger than the limit of ${limitBytes} bytes`))
        return
      }
      if (opts.lease && !opts.lease.grow(chunk.length)) {
        fail(new TooManyRequestsError(`server busy: in-flight request memory is at its limit of ${opts.lease.budgetBytes} bytes`, 1))
        closeAfterAnswer(req)
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => {
      if (failed) return
      clearTimeout(timer)
      resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size))
    })
    req.on('aborted', () => {
      if (!failed) fail(new BadRequestError('request aborted by the client'))
    })
    req.on('error', (err) => {
      if (!failed) fail(new BadRequestError(`error reading the request body: ${err.message}`))
    })
  })
}

/**
 * Ends the connection once the error answer is sent, instead of reading the rest of a body
 * nobody wants (Node would otherwise keep draining it from a slow client).
 */
function closeAfterAnswer(req: IncomingMessage): void {
  const res = (req as IncomingMessage & { res?: ServerResponse }).res
  if (res === undefined || res.writableFinished) {
    req.socket.destroy()
    return
  }
  res.setHeader('Connection', 'close')
  res.once('finish', () => req.socket.destroy())
  res.once('close', () => req.socket.destroy())
}
