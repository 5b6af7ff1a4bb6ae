/**
 * POST /api/v1/import/prometheus: a push of Prometheus text exposition or OpenMetrics text
 * (short-lived jobs, scripts), as VictoriaMetrics names the endpoint. The same limits,
 * validation, status codes and Sink as remote write: 204 only once the accepted samples are
 * durable. A malformed line refuses the whole body (400 naming the line) before anything is
 * stored; invalid series (bad names, too old, ...) are refused one by one as remote write does.
 *
 * Parameters: `extra_label=name=value` (repeatable) adds or replaces a label on every series.
 * Content-Encoding gzip is inflated within `limits.max_decompressed_bytes`.
 */
import { gunzip } from 'node:zlib'
import { promisify } from 'node:util'
import type { NextFunction, Request, Response } from 'express'
import type { ValidationLimits } from '../config/config.js'
import { BadRequestError, PayloadTooLargeError, TooManyRequestsError, UnsupportedMediaTypeError } from '../errors/http-errors.js'
import type { InFlightBudget } from '../http/in-flight-budget.js'
import { readBody } from '../http/read-body.js'
import type { Fingerprinter } from '../proto/fingerprint.js'
import { decodeExposition, type TextFormat } from '../proto/text-exposition.js'
import type { Label } from '../proto/types.js'
import type { MetadataSink } from './metadata-recorder.js'
import { countFailedRequest } from './request-outcome.js'
import type { ReceiverMetrics } from './metrics.js'
import { describeRejections } from './remote-write-handler.js'
import type { Sink } from './sink.js'
import { judgeAll, validateSeries } from './validate.js'

const gunzipAsync = promisify(gunzip)
// Bytes of decoded series (label and sample objects, strings) charged per byte of text: an
// estimate for the memory budget (a sample line of ~60 bytes becomes a few objects), not a bound.
const DECODED_BYTES_PER_TEXT_BYTE = 4
const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/

export interface TextImportHandlerOptions {
  sink: Sink
  fingerprinter: Fingerprinter
  metrics: ReceiverMetrics
  metadata?: MetadataSink
  limits: ValidationLimits & { maxRequestBodyBytes: number; maxDecompressedBytes: number; maxConcurrentWrites: number; bodyReadTimeoutMs: number }
  /** Server-wide bytes of requests in flight (shared with remote write); past it: 429. */
  budget?: InFlightBudget
  rawRetentionMs: number
  now?: () => number
}

/** The text format a Content-Type names; anything but OpenMetrics is read as Prometheus text, as Prometheus's scraper does. */
export function textFormatOf(contentType: string | undefined): TextFormat {
  const mediaType = (contentType ?? '').split(';')[0].trim().toLowerCase()
  return mediaType === 'application/openmetrics-text' ? 'openmetrics' : 'prometheus'
}

/** `extra_label` parameters: each `name=value`, the name a valid label name. */
export function extraLabels(params: URLSearchParams): Label[] {
  const out: Label[] = []
  for (const raw of params.getAll('extra_label')) {
    const eq = raw.indexOf('=')
    const name = eq < 0 ? raw : raw.slice(0, eq)
    if (eq < 0 || !LABEL_NAME_RE.test(name) || name === '__name__') {
      throw new BadRequestError(`invalid extra_label "${raw.slice(0, 60)}": expected name=value with a valid label name`)
    }
    out.push({ name, value: raw.slice(eq + 1) })
  }
  return out
}

function withExtraLabels(labels: Label[], extra: readonly Label[]): Label[] {
  if (extra.length === 0) return labels
  const names = new Set(extra.map((l) => l.name))
  return [...labels.filter((l) => !names.has(l.name)), ...extra]
}

async function inflate(body: Buffer, encoding: string, maxBytes: number): Promise<Buffer> {
  if (encoding === '' || encoding === 'identity') return body
  if (encoding !== 'gzip') throw new UnsupportedMediaTypeError(`unsupported Content-Encoding "${encoding.slice(0, 40)}": expected gzip or none`)
  try {
    return await gunzipAsync(body, { maxOutputLength: maxBytes })
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new PayloadTooLargeError(`gzip body inflates to more than the limit of ${maxBytes} bytes`)
    throw new BadRequestError(`malformed gzip body: ${(err as Error).message}`)
  }
}

type Stage = 'body' | 'concurrency' | 'inflate' | 'text' | 'sink' | 'validation'

function requestRejectReason(stage: Exclude<Stage, 'validation'>, status: number): string {
  if (stage === 'concurrency') return 'too_many_in_flight'
  if (status === 429) return 'memory_budget'
  if (status === 408) return 'body_timeout'
  if (status === 413) return stage === 'body' ? 'body_too_large' : 'decompressed_too_large'
  if (status === 415) return 'unsupported_media_type'
  if (stage === 'sink') return 'sink_unavailable'
  if (stage === 'inflate') return 'malformed_gzip'
  return stage === 'body' ? 'body_invalid' : 'malformed_text'
}

export function textImportHandler(opts: TextImportHandlerOptions) {
  const now = opts.now ?? Date.now
  let inFlight = 0
  return async (req: Request, res: Response, next: NextFunction) => {
    const format = textFormatOf(req.headers['content-type'])
    const protocol = format === 'openmetrics' ? 'openmetrics' : 'text'
    const started = performance.now()
    // Where the request got to: names the reason when it is refused as a whole.
    let stage: Stage = 'body'
    // As remote write: the body is read before a write slot is taken, its bytes charged to
    // the shared budget as they arrive.
    const lease = opts.budget?.lease()
    let holdsSlot = false
    try {
      const extra = extraLabels(new URL(req.originalUrl, 'http://localhost').searchParams)
      const body = await readBody(req, opts.limits.maxRequestBodyBytes, { timeoutMs: opts.limits.bodyReadTimeoutMs, lease })
      opts.metrics.receivedBytes.inc({ protocol }, body.length)
      stage = 'concurrency'
      if (inFlight >= opts.limits.maxConcurrentWrites) throw new TooManyRequestsError(`more than ${opts.limits.maxConcurrentWrites} import requests in flight`, 1)
      inFlight++
      holdsSlot = true
      stage = 'inflate'
      const raw = await inflate(body, String(req.headers['content-encoding'] ?? '').trim().toLowerCase(), opts.limits.maxDecompressedBytes)
      if (raw.length > opts.limits.maxDecompressedBytes) throw new PayloadTooLargeError(`body of ${raw.length} bytes, over the limit of ${opts.limits.maxDecompressedBytes}`)
      // The text, then its decoded series (several times the text): charged before they exist.
      if (lease && !lease.grow((raw === body ? 0 : raw.length) + raw.length * DECODED_BYTES_PER_TEXT_BYTE)) {
        throw new TooManyRequestsError(`server busy: in-flight request memory is at its limit of ${lease.budgetBytes} bytes`, 1)
      }
      stage = 'text'
      const text = new TextDecoder('utf-8', { fatal: true }).decode(raw)
      const nowMs = now()
      const decoded = decodeExposition(text, { format, defaultTimestampMs: nowMs })
      if (decoded.series.length > opts.limits.maxSeriesPerRequest) {
        throw new PayloadTooLargeError(`${decoded.series.length} series in one request, over the limit of ${opts.limits.maxSeriesPerRequest}`)
      }
      for (const s of decoded.series) s.labels = withExtraLabels(s.labels, extra)
      opts.metadata?.record(decoded.metadata)
      const judged = judgeAll(decoded.series, opts.limits, opts.fingerprinter)
      let received = 0
      for (const s of judged) received += s.samples.length
      opts.metrics.samplesReceived.inc({ protocol }, received)
      const result = validateSeries(judged, { limits: opts.limits, nowMs, minTimestampMs: nowMs - opts.rawRetentionMs })
      for (const r of result.rejections) opts.metrics.samplesRejected.inc({ reason: r.reason }, r.samples)
      if (result.accepted.length > 0) {
        stage = 'sink'
        await opts.sink.write({
          series: result.accepted,
          metadata: decoded.metadata,
          sampleCount: result.acceptedSamples,
          requestId: opts.fingerprinter.hashBytes(body),
        })
        opts.metrics.samplesAccepted.inc({ protocol }, result.acceptedSamples)
        opts.metrics.seriesAccepted.inc({ protocol }, result.accepted.length)
      }
      stage = 'validation'
      if (result.rejections.length > 0) throw new BadRequestError(describeRejections(result.rejections, judged.length, result.accepted.length))
      opts.metrics.requests.inc({ protocol, code: '204' })
      res.status(204).end()
    } catch (err) {
      let e = err
      if (err instanceof TypeError && (err as { code?: string }).code === 'ERR_ENCODING_INVALID_ENCODED_DATA') e = new BadRequestError('the body is not valid UTF-8')
      const reached = stage
      countFailedRequest(opts.metrics, protocol, e, reached === 'validation' ? undefined : (status) => requestRejectReason(reached, status))
      next(e)
    } finally {
      if (holdsSlot) inFlight--
      lease?.release()
      opts.metrics.duration.observe({ protocol }, (performance.now() - started) / 1000)
    }
  }
}
