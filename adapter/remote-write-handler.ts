/**
 * POST /api/v1/write: remote-write 1.0 and 2.0 -> validate -> Sink. Answers 204 only after
 * the sink made the accepted series durable; the sender's retries cover everything else.
 */
import type { NextFunction, Request, Response } from 'express'
import type { ValidationLimits } from '../config/config.js'
import { BadRequestError, PayloadTooLargeError, TooManyRequestsError } from '../errors/http-errors.js'
import { readBody } from '../http/read-body.js'
import { decodeWriteRequestV1 } from '../proto/decode-v1.js'
import { decodeWriteRequestV2 } from '../proto/decode-v2.js'
import type { Fingerprinter } from '../proto/fingerprint.js'
import { snappyUncompressedLength, type SnappyCodec } from '../proto/snappy.js'
import type { DecodedWriteRequest } from '../proto/types.js'
import { remoteWriteVersion } from './content-type.js'
import type { ReceiverMetrics } from './metrics.js'
import type { Sink } from './sink.js'
import { validateSeries, type Rejection } from './validate.js'

export interface RemoteWriteHandlerOptions {
  sink: Sink
  snappy: SnappyCodec
  fingerprinter: Fingerprinter
  metrics: ReceiverMetrics
  limits: ValidationLimits & { maxRequestBodyBytes: number; maxDecompressedBytes: number; maxConcurrentWrites: number }
  rawRetentionMs: number
  now?: () => number
}

const REJECTS_NAMED = 3

function describeRejections(rejections: Rejection[], totalSeries: number): string {
  const seriesCount = new Set(rejections.map((r) => r.seriesIndex)).size
  const samples = rejections.reduce((n, r) => n + r.samples, 0)
  const named = rejections.slice(0, REJECTS_NAMED).map((r) => `series ${r.seriesIndex}: ${r.message}`)
  const more = rejections.length > REJECTS_NAMED ? `; and ${rejections.length - REJECTS_NAMED} more` : ''
  return `rejected ${samples} samples of ${seriesCount} of ${totalSeries} series (the rest were stored): ${named.join('; ')}${more}`
}

export function remoteWriteHandler(opts: RemoteWriteHandlerOptions) {
  const now = opts.now ?? Date.now
  let inFlight = 0
  return async (req: Request, res: Response, next: NextFunction) => {
    let protocol = 'unknown'
    const started = performance.now()
    if (inFlight >= opts.limits.maxConcurrentWrites) {
      req.resume()
      opts.metrics.requests.inc({ protocol, code: '429' })
      return next(new TooManyRequestsError(`more than ${opts.limits.maxConcurrentWrites} write requests in flight`, 1))
    }
    inFlight++
    try {
      const version = remoteWriteVersion(req.headers['content-type'], req.headers['content-encoding'])
      protocol = version
      const body = await readBody(req, opts.limits.maxRequestBodyBytes)
      opts.metrics.receivedBytes.inc({ protocol }, body.length)
      if (body.length === 0) throw new BadRequestError('empty request body')
      const claimed = snappyUncompressedLength(body)
      if (claimed > opts.limits.maxDecompressedBytes) {
        throw new PayloadTooLargeError(`snappy body claims ${claimed} bytes uncompressed, over the limit of ${opts.limits.maxDecompressedBytes}`)
      }
      const raw = opts.snappy.uncompress(body, opts.limits.maxDecompressedBytes)
      const request: DecodedWriteRequest = version === '1.0' ? decodeWriteRequestV1(raw) : decodeWriteRequestV2(raw)
      if (request.series.length > opts.limits.maxSeriesPerRequest) {
        throw new PayloadTooLargeError(`${request.series.length} series in one request, over the limit of ${opts.limits.maxSeriesPerRequest}`)
      }
      let received = 0
      let exemplars = 0
      for (const s of request.series) {
        received += s.samples.length
        exemplars += s.exemplarCount
      }
      opts.metrics.samplesReceived.inc({ protocol }, received)
      if (exemplars > 0) opts.metrics.exemplarsDropped.inc(exemplars)

      const nowMs = now()
      const result = validateSeries(request.series, {
        limits: opts.limits,
        nowMs,
        minTimestampMs: nowMs - opts.rawRetentionMs,
        fingerprinter: opts.fingerprinter,
      })
      for (const r of result.rejections) opts.metrics.samplesRejected.inc({ reason: r.reason }, r.samples)

      if (result.accepted.length > 0) {
        await opts.sink.write({
          series: result.accepted,
          metadata: request.metadata,
          sampleCount: result.acceptedSamples,
          originalRw1Snappy: version === '1.0' && result.unchanged ? body : undefined,
        })
        opts.metrics.samplesAccepted.inc({ protocol }, result.acceptedSamples)
        opts.metrics.seriesAccepted.inc({ protocol }, result.accepted.length)
      }
      if (version === '2.0') {
        res.setHeader('X-Prometheus-Remote-Write-Samples-Written', String(result.acceptedSamples))
        res.setHeader('X-Prometheus-Remote-Write-Histograms-Written', '0')
        res.setHeader('X-Prometheus-Remote-Write-Exemplars-Written', '0')
      }
      if (result.rejections.length > 0) throw new BadRequestError(describeRejections(result.rejections, request.series.length))
      opts.metrics.requests.inc({ protocol, code: '204' })
      res.status(204).end()
    } catch (err) {
      const status = (err as { status?: number }).status ?? 500
      opts.metrics.requests.inc({ protocol, code: String(status) })
      next(err)
    } finally {
      inFlight--
      opts.metrics.duration.observe({ protocol }, (performance.now() - started) / 1000)
    }
  }
}
