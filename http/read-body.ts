/**
 * Reads a request body into one buffer with a hard size limit. Not express.raw(): body-parser
 * rejects any Content-Encoding it cannot inflate itself, and remote write's is snappy.
 */
import type { IncomingMessage } from 'node:http'
import { BadRequestError, PayloadTooLargeError } from '../errors/http-errors.js'

export function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const declared = req.headers['content-length']
  if (declared !== undefined && Number(declared) > limitBytes) {
    // Drain nothing: the connection is closed after the 413 so the rest is never read.
    req.resume()
    return Promise.reject(new PayloadTooLargeError(`request body of ${declared} bytes is larger than the limit of ${limitBytes} bytes`))
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let failed = false
    req.on('data', (chunk: Buffer) => {
      if (failed) return
      size += chunk.length
      if (size > limitBytes) {
        failed = true
        req.resume()
        reject(new PayloadTooLargeError(`request body is larger than the limit of ${limitBytes} bytes`))
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => {
      if (!failed) resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size))
    })
    req.on('aborted', () => {
      if (!failed) {
        failed = true
        reject(new BadRequestError('request aborted by the client'))
      }
    })
    req.on('error', (err) => {
      if (!failed) {
        failed = true
        reject(new BadRequestError(`error reading the request body: ${err.message}`))
      }
    })
  })
}
